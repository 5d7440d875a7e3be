import { isSecretKey as coreIsSecretKey, redactText } from '@mlflow-kit/core';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { isSecretKey, redactConfig, redactUrlCredentials } from './redact.js';
import { secret } from './secret.js';

// The rules themselves (key words, value shapes) are core's and tested in core's redact.test.ts; config
// re-exports them and adds schema marks, paths and its options, tested here.
describe('the rules config shares with core', () => {
  it("re-exports core's key rule, with config's string and RegExp patterns", () => {
    expect(isSecretKey).toBe(coreIsSecretKey);
    expect(isSecretKey('license', ['LICENSE'])).toBe(true);
    expect(isSecretKey('slackHook', [/hook$/i])).toBe(true);
  });

  it("redactUrlCredentials is core's value rule", () => {
    const text = 'postgres://user:p@ss@db/app?sig=abc ghp_ConfigShares0000000000000000000001';
    expect(redactUrlCredentials(text)).toBe(redactText(text));
    expect(redactUrlCredentials(text)).toBe('postgres://***@db/app?sig=*** ***');
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
