import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { isSecretKey, redactConfig, redactUrlCredentials } from './redact.js';
import { secret } from './secret.js';

describe('isSecretKey', () => {
  it.each([
    'password',
    'dbPassword',
    'DB_PASSWORD',
    'secret',
    'client_secret',
    'token',
    'hfToken',
    'access_token',
    'apiKey',
    'api_key',
    'OPENAI_API_KEY',
    'x-api-key',
    'privateKey',
    'private_key',
    'aws_access_key_id',
    'credentials',
    'gcpCredential',
    'passphrase',
    'sentry_dsn',
  ])('treats %s as a secret', (key) => {
    expect(isSecretKey(key)).toBe(true);
  });

  it.each([
    'use_cls_token',
    'pad_token',
    'eos_token',
    'num_memory_tokens',
    'max_tokens',
    'tokenizer',
    'token_id',
    'keyframes',
    'monkey',
    'secretary_count',
  ])('does not treat %s as a secret', (key) => {
    expect(isSecretKey(key)).toBe(false);
  });

  it('adds string and RegExp patterns', () => {
    expect(isSecretKey('license', ['LICENSE'])).toBe(true);
    expect(isSecretKey('slackHook', [/hook$/i])).toBe(true);
  });
});

describe('redactUrlCredentials', () => {
  it('replaces user info with ***', () => {
    expect(redactUrlCredentials('postgres://user:pass@db.example.com:5432/app')).toBe(
      'postgres://***@db.example.com:5432/app',
    );
    expect(redactUrlCredentials('https://ghp_abc123@github.com/org/repo.git')).toBe(
      'https://***@github.com/org/repo.git',
    );
  });

  it('redacts user info up to the last @ before the host, whatever it holds', () => {
    expect(redactUrlCredentials('postgres://user:p@ss@host/db')).toBe('postgres://***@host/db');
    expect(redactUrlCredentials('https://user:ab/cd@host/x')).toBe('https://***@host/x');
    expect(redactUrlCredentials('mongodb://admin:Pa#ss@h:27017')).toBe('mongodb://***@h:27017');
    expect(redactUrlCredentials('mongodb://admin:Pa?ss@h:27017/db?x=1')).toBe('mongodb://***@h:27017/db?x=1');
    expect(redactUrlCredentials('a=http://u:p@ss@h1/x b=https://v:q@h2')).toBe(
      'a=http://***@h1/x b=https://***@h2',
    );
    expect(redactUrlCredentials('https://example.com/path')).toBe('https://example.com/path');
  });

  it('redacts every URL in a text and secret query parameters', () => {
    expect(redactUrlCredentials('primary=redis://:pw@h1 replica=https://h2/x?api_key=abc&page=2')).toBe(
      'primary=redis://***@h1 replica=https://h2/x?api_key=***&page=2',
    );
  });

  it('redacts the signatures and tokens of signed URLs', () => {
    expect(redactUrlCredentials('https://acct.blob.core.windows.net/c/f?sv=2024&sig=AbC%2F1&se=2026')).toBe(
      'https://acct.blob.core.windows.net/c/f?sv=2024&sig=***&se=2026',
    );
    expect(
      redactUrlCredentials(
        'https://b.s3.amazonaws.com/k?X-Amz-Credential=AKIA%2F1&X-Amz-Security-Token=t1&X-Amz-Signature=abc',
      ),
    ).toBe('https://b.s3.amazonaws.com/k?X-Amz-Credential=***&X-Amz-Security-Token=***&X-Amz-Signature=***');
  });

  it('leaves URLs without credentials and plain text alone', () => {
    expect(redactUrlCredentials('https://example.com/a?b=c')).toBe('https://example.com/a?b=c');
    expect(redactUrlCredentials('user@example.com')).toBe('user@example.com');
  });
});

describe('redactConfig', () => {
  it('redacts schema-marked fields whatever their names, through optional, default and arrays', () => {
    const schema = z.object({
      hub: z.object({ id: secret(z.string()) }),
      mirrors: z.array(z.object({ login: z.string().meta({ secret: true }).optional() })),
      seed: secret(z.number()).default(7),
      extra: z.record(z.string(), secret(z.string())),
    });
    const config = schema.parse({ hub: { id: 'abc' }, mirrors: [{ login: 'me' }, {}], extra: { x: 'y' } });
    const result = redactConfig(config, { schema });
    expect(result.value).toEqual({
      hub: { id: '***' },
      mirrors: [{ login: '***' }, {}],
      seed: '***',
      extra: { x: '***' },
    });
    expect(result.redactedPaths).toEqual(['hub.id', 'mirrors.0.login', 'seed', 'extra.x']);
  });

  it('redacts string and object values under secret-looking keys, but keeps counts and flags', () => {
    expect(
      redactConfig({
        apiKey: 'sk-1',
        credentials: { user: 'u', pass: 'p' },
        use_cls_token: true,
        tokenBudget: 5,
        password: null,
      }).value,
    ).toEqual({ apiKey: '***', credentials: '***', use_cls_token: true, tokenBudget: 5, password: null });
  });

  it('lets allowKeys exempt a key from the name rules, but not from URL or schema redaction', () => {
    const schema = z.object({ sessionKey: z.string(), dsn: z.string(), token: secret(z.string()) });
    const value = { sessionKey: 'run-42', dsn: 'postgres://a:b@h/db', token: 't' };
    expect(redactConfig(value, { schema, allowKeys: ['sessionKey', 'dsn', 'token'] }).value).toEqual({
      sessionKey: 'run-42',
      dsn: 'postgres://***@h/db',
      token: '***',
    });
  });

  it('turns Maps, Sets and dates into plain JSON data', () => {
    expect(redactConfig({ m: new Map([['a', 1]]), s: new Set([1]), d: new Date(0) }).value).toEqual({
      m: { a: 1 },
      s: [1],
      d: '1970-01-01T00:00:00.000Z',
    });
  });

  it('can leave URLs alone', () => {
    expect(redactConfig({ url: 'http://a:b@h' }, { redactUrls: false }).value).toEqual({
      url: 'http://a:b@h',
    });
  });
});
