import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { MlflowConfigError } from './errors.js';
import {
  createRedactor,
  isSecretKey,
  redactError,
  redactText,
  redactUrl,
  withAllowedKeys,
} from './redact.js';

/** Secret-shaped values and the part of each that must never survive. */
const VALUE_FORMS: [name: string, text: string, secret: string][] = [
  [
    'GitHub classic token',
    'ghp_aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3z5A',
    'ghp_aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3z5A',
  ],
  [
    'GitHub OAuth token',
    'gho_16C7e42F292c6912E7710c838347Ae178B4a',
    'gho_16C7e42F292c6912E7710c838347Ae178B4a',
  ],
  [
    'GitHub fine-grained token',
    'github_pat_11ABCDEFG0123456789_abcdefghijklmnop',
    'github_pat_11ABCDEFG0123456789_abcdefghijklmnop',
  ],
  [
    'OpenAI project key',
    'sk-proj-Ab12Cd34Ef56Gh78Ij90Kl12Mn34Op56',
    'sk-proj-Ab12Cd34Ef56Gh78Ij90Kl12Mn34Op56',
  ],
  ['OpenAI key', 'key is sk-Ab12Cd34Ef56Gh78Ij90Kl12Mn34Op56Qr78', 'sk-Ab12Cd34Ef56Gh78Ij90Kl12Mn34Op56Qr78'],
  ['Hugging Face token', 'hf_AbCdEfGhIjKlMnOpQrStUvWxYz012345', 'hf_AbCdEfGhIjKlMnOpQrStUvWxYz012345'],
  ['AWS access key id', 'AKIAIOSFODNN7EXAMPLE', 'AKIAIOSFODNN7EXAMPLE'],
  ['AWS session key id', 'ASIAY34FZKBOKMUTVV7A', 'ASIAY34FZKBOKMUTVV7A'],
  [
    'Slack bot token',
    'xoxb-123456789012-1234567890123-AbCdEfGhIjKl',
    'xoxb-123456789012-1234567890123-AbCdEfGhIjKl',
  ],
  ['Google API key', 'AIzaSyA1B2C3D4E5F6G7H8I9J0K1L2M3N4O5P6Q', 'AIzaSyA1B2C3D4E5F6G7H8I9J0K1L2M3N4O5P6Q'],
  ['Stripe live key', 'sk_live_51Hx9AbCdEfGhIjKlMnOp', 'sk_live_51Hx9AbCdEfGhIjKlMnOp'],
  ['GitLab token', 'glpat-AbCdEfGhIjKlMnOpQrSt', 'glpat-AbCdEfGhIjKlMnOpQrSt'],
  ['npm token', 'npm_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789', 'npm_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789'],
  [
    'JWT',
    'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U',
    'dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U',
  ],
  [
    'PEM private key',
    '-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAvPrivKeyBody\n-----END RSA PRIVATE KEY-----',
    'MIIEowIBAAKCAQEAvPrivKeyBody',
  ],
  ['URL user-info', 'postgres://admin:Hunter2Pw@db:5432/app', 'Hunter2Pw'],
  ['URL user-info with @ in the password', 'https://user:p@ssw0rd@host/x', 'ssw0rd'],
  ['URL user-info with / in the password', 'http://user:pa/ss99@127.0.0.1:5000', 'pa/ss99'],
  ['bare token as user-info', 'https://ghtok123abc@github.com/org/repo.git', 'ghtok123abc'],
  ['secret query parameter', 'https://api.example.com/v1?api_key=QueryKey123&page=2', 'QueryKey123'],
  [
    'S3 presigned URL',
    'https://b.s3.amazonaws.com/k?X-Amz-Credential=AKIDcred%2F2024&X-Amz-Signature=abcdef0123456789sig',
    'abcdef0123456789sig',
  ],
  [
    'Azure SAS URL',
    'https://acct.blob.core.windows.net/c/f?sv=2024&sig=AbC%2F1SasSig&se=2026',
    'AbC%2F1SasSig',
  ],
  ['Slack webhook', 'https://hooks.slack.com/services/T0001/B0002/WebhookSecret99', 'WebhookSecret99'],
  ['ADO.NET connection string', 'Server=db;User Id=sa;Password=Conn$tr1ng;Encrypt=true', 'Conn$tr1ng'],
  ['ODBC Pwd', 'Driver={SQL};Server=db;Uid=sa;Pwd={Br4ced;Pw};', 'Br4ced'],
  ['JDBC password', 'jdbc:mysql://db:3306/app?user=sa&password=JdbcPw42', 'JdbcPw42'],
  ['Bearer header', 'Authorization: Bearer opaque.Bearer.Value.123', 'opaque.Bearer.Value.123'],
  ['JSON pair', '{"db": {"password": "JsonPw!9"}}', 'JsonPw!9'],
  ['YAML pair', 'api_key: YamlKey77\nlr: 0.1', 'YamlKey77'],
];

describe('redactText', () => {
  it.each(VALUE_FORMS)('removes a %s', (_name, text, secret) => {
    const clean = redactText(text);
    expect(clean).not.toContain(secret);
    expect(clean).toContain('***');
  });

  it('leaves ordinary text, numbers, paths and URLs alone', () => {
    for (const text of [
      'adam',
      '0.001',
      'https://example.com/a?b=c&page=2',
      'user@example.com',
      './data/train.csv',
      'task-0123456789abcdefghijklmn',
      'max_tokens=512',
      'C:\\data\\x.txt',
    ]) {
      expect(redactText(text)).toBe(text);
    }
  });

  it('keeps the host and path of a URL, removing only the credentials', () => {
    expect(redactUrl('https://user:p@ss@host:8443/prefix?page=1')).toBe(
      'https://***@host:8443/prefix?page=1',
    );
    expect(redactText('Server=db;Password=pw;Database=app')).toBe('Server=db;Password=***;Database=app');
  });

  it('removes user-info up to the last @ before the host whatever it holds, in every URL of a text', () => {
    expect(redactText('mongodb://admin:Pa#ss@h:27017')).toBe('mongodb://***@h:27017');
    expect(redactText('mongodb://admin:Pa?ss@h:27017/db?x=1')).toBe('mongodb://***@h:27017/db?x=1');
    expect(redactText('a=http://u:p@ss@h1/x b=https://v:q@h2')).toBe('a=http://***@h1/x b=https://***@h2');
    expect(redactText('primary=redis://:pw@h1 replica=https://h2/x?api_key=abc&page=2')).toBe(
      'primary=redis://***@h1 replica=https://h2/x?api_key=***&page=2',
    );
  });

  it('applies extra value patterns', () => {
    const redactor = createRedactor({ valuePatterns: [/corp-[0-9]{6}/] });
    expect(redactor.text('id corp-123456 here')).toBe('id *** here');
  });
});

describe('isSecretKey', () => {
  it.each([
    'password',
    'db_password',
    'pass',
    'services.1.auth.pass',
    'passwd',
    'secret',
    'clientSecret',
    'token',
    'hub_token',
    'api_key',
    'apiKey',
    'APIKEY',
    'private_key',
    'credentials',
    'aws-secret-access-key',
    'dbPassword',
    'DB_PASSWORD',
    'client_secret',
    'hfToken',
    'access_token',
    'OPENAI_API_KEY',
    'x-api-key',
    'privateKey',
    'aws_access_key_id',
    'gcpCredential',
    'passphrase',
    'sentry_dsn',
  ])('names %s a secret', (key) => {
    expect(isSecretKey(key)).toBe(true);
  });

  it.each([
    'lr',
    'pad_token',
    'token_id',
    'max_tokens',
    'tokenizer',
    'passes',
    'author',
    'auth_mode',
    'bypass',
    'use_cls_token',
    'eos_token',
    'num_memory_tokens',
    'keyframes',
    'monkey',
    'secretary_count',
  ])('does not name %s a secret', (key) => {
    expect(isSecretKey(key)).toBe(false);
  });

  it('counts auth only as a leaf and as the last word', () => {
    expect(isSecretKey('auth', [], { leaf: true })).toBe(true);
    expect(isSecretKey('basic_auth', [], { leaf: true })).toBe(true);
    expect(isSecretKey('auth')).toBe(false);
    expect(isSecretKey('auth_mode', [], { leaf: true })).toBe(false);
  });
});

describe('createRedactor', () => {
  it('adds key patterns and allows keys, still redacting credential-shaped values of allowed keys', () => {
    const redactor = createRedactor({ secretPatterns: ['wandb'], allowKeys: ['session_key'] });
    expect(redactor.value('wandb_id', 'abc')).toBe('***');
    expect(redactor.value('session_key', 'run-1')).toBe('run-1');
    expect(redactor.value('session_key', 'https://u:pw@h')).toBe('https://***@h');
  });

  it('lets an adapter carry allowed keys on the object it logs', () => {
    const params = withAllowedKeys({ sessionKey: 'run-1' }, ['sessionKey']);
    expect(Object.keys(params)).toEqual(['sessionKey']);
  });
});

describe('redactError', () => {
  it('scrubs the message, stack and own fields of every error of the cause chain', () => {
    let inner: unknown;
    try {
      new URL('http://user:UrlSecret1@127.0.0.1:99999');
    } catch (error) {
      inner = error;
    }
    const outer = new Error('failed for http://user:UrlSecret1@h', { cause: inner });
    redactError(outer);
    expect(inspect(outer, { depth: 10 })).not.toContain('UrlSecret1');
  });

  it('is applied to every mlflow-kit error when it is made', () => {
    const cause = Object.assign(new Error('token ghp_aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3z5A'), {
      input: 'Password=ZZtop',
    });
    const error = new MlflowConfigError('bad https://a:b1c2@h', { cause });
    const shown = inspect(error, { depth: 10 });
    for (const secret of ['b1c2', 'ghp_aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3z5A', 'ZZtop'])
      expect(shown).not.toContain(secret);
  });
});
