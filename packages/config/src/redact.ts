import { circularError, joinPath, shapeOf } from './internal/values.js';
import { SchemaView } from './secret.js';

/** What redacted values are replaced with, in params and artifacts. */
export const REDACTED = '***';

/** Options of {@link redactConfig}; `logConfig` and `flattenParams` take the same fields. */
export interface RedactOptions {
  /**
   * A zod schema whose fields marked `.meta({ secret: true })` (or with {@link secret}) are redacted,
   * whatever their names. Marks always win over {@link RedactOptions.allowKeys}.
   */
  schema?: unknown;
  /**
   * More key patterns that mark a value secret, on top of the built-in ones (password, secret, token,
   * api key, private key, credential, ...). A string matches a key name that contains it, ignoring case;
   * a RegExp is tested against the key name and against the dotted path (`db.replica.dsn`).
   * @defaultValue `[]`
   */
  secretPatterns?: readonly (string | RegExp)[];
  /**
   * Keys that are never redacted by name, for false positives of the built-in patterns. A string matches a
   * key name or a dotted path exactly; a RegExp is tested against the dotted path. Credentials inside URLs
   * are still removed, and schema marks still apply.
   * @defaultValue `[]`
   */
  allowKeys?: readonly (string | RegExp)[];
  /**
   * Remove credentials from URLs inside every string value: `postgres://user:pass@host/db` becomes
   * `postgres://***@host/db`, and secret-looking query parameters (`?token=...`) become `***`.
   * @defaultValue `true`
   */
  redactUrls?: boolean;
}

/** What {@link redactConfig} returns. */
export interface RedactResult {
  /** A plain JSON-like copy of the config with secrets replaced by `***`. */
  value: unknown;
  /** Dotted paths of the values that were redacted, in walking order (URL credentials included). */
  redactedPaths: string[];
}

const SECRET_WORDS = new Set([
  'password',
  'passwd',
  'pwd',
  'passphrase',
  'secret',
  'secrets',
  'token',
  'credential',
  'credentials',
  'creds',
  'apikey',
  'apikeys',
  'authorization',
  'bearer',
  'cookie',
  'privatekey',
  'accesskey',
  'sessionkey',
  'clientsecret',
  'dsn',
]);
const KEY_QUALIFIERS = new Set([
  'api',
  'private',
  'access',
  'signing',
  'encryption',
  'ssh',
  'session',
  'secret',
  'license',
]);
/** Words before `token` that name a vocabulary item, as in tokenizer configs (`pad_token`, `eos_token`). */
const VOCABULARY_TOKENS = new Set([
  'pad',
  'eos',
  'bos',
  'unk',
  'cls',
  'sep',
  'mask',
  'start',
  'end',
  'special',
  'begin',
  'stop',
  'image',
  'decoder',
]);
/** Words after `token` that make it a count, id or size (`token_id`, `token_dim`). */
const TOKEN_MEASURES = new Set([
  'id',
  'ids',
  'idx',
  'index',
  'count',
  'len',
  'length',
  'type',
  'dim',
  'size',
  'limit',
  'budget',
]);

function words(key: string): string[] {
  return key
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((word) => word !== '');
}

/**
 * Whether a key name looks like it holds a secret, by the built-in rule: it contains one of the words
 * password, passwd, pwd, passphrase, secret, token, credential(s), creds, apikey, authorization, bearer,
 * cookie, dsn, or a pair such as `api key`, `private key`, `access key` (in any of `snake_case`,
 * `camelCase`, `kebab-case` or `UPPER_CASE`). Vocabulary entries (`pad_token`, `eos_token`) and measures
 * (`token_id`, `max_tokens`, `tokenizer`) are not secrets.
 *
 * @example
 * ```ts
 * isSecretKey('openaiApiKey'); // true
 * isSecretKey('use_cls_token'); // false: a vocabulary token
 * isSecretKey('num_memory_tokens'); // false
 * ```
 */
export function isSecretKey(key: string, patterns: readonly (string | RegExp)[] = []): boolean {
  for (const pattern of patterns) {
    if (
      typeof pattern === 'string'
        ? key.toLowerCase().includes(pattern.toLowerCase())
        : testRegExp(pattern, key)
    )
      return true;
  }
  const parts = words(key);
  for (let index = 0; index < parts.length; index++) {
    const word = parts[index]!;
    const next = parts[index + 1];
    if (word === 'token') {
      const before = parts[index - 1];
      if (
        (before !== undefined && VOCABULARY_TOKENS.has(before)) ||
        (next !== undefined && TOKEN_MEASURES.has(next))
      )
        continue;
      return true;
    }
    if (SECRET_WORDS.has(word)) return true;
    if (next === 'key' && KEY_QUALIFIERS.has(word)) return true;
  }
  return false;
}

function testRegExp(pattern: RegExp, text: string): boolean {
  pattern.lastIndex = 0;
  return pattern.test(text);
}

/** Query parameters that carry signatures in signed URLs (Azure SAS `sig`, S3 `X-Amz-Signature`). */
const QUERY_SECRETS = new Set(['sig', 'signature']);

function isSecretQueryName(name: string): boolean {
  return isSecretKey(name) || words(name).some((word) => QUERY_SECRETS.has(word));
}

/**
 * The user-info of a URL runs to the LAST `@` before the host (as the URL spec reads it, and Python's
 * `rpartition('@')`), so a password holding `@`, `/`, `?` or `#` is removed whole. It does not run into a
 * second URL (`://`), nor past whitespace or quotes.
 */
const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)((?:(?!:\/\/)[^\s'"])+)@(?=[^@\s'"/?#]*(?:[/?#\s'"]|$))/gi;
const QUERY_PARAM = /([?&;])([^=&#\s'"]+)=([^&#\s'"]*)/g;

/**
 * Removes credentials from every URL inside `text`: the user-info part (`user:pass@`, or a bare token
 * `ghp_xxx@`) becomes `***@`, and query parameters whose names look secret (`?api_key=...`,
 * `&token=...`, and the signatures of signed URLs: `sig`, `X-Amz-Signature`) get the value `***`. Text without URLs comes back unchanged.
 *
 * @example
 * ```ts
 * redactUrlCredentials('postgres://user:pass@db:5432/app'); // 'postgres://***@db:5432/app'
 * ```
 */
export function redactUrlCredentials(text: string): string {
  if (!text.includes('://')) return text;
  let result = text.replace(URL_USERINFO, (match, scheme: string, userinfo: string) =>
    userinfo === REDACTED ? match : `${scheme}${REDACTED}@`,
  );
  result = result.replace(QUERY_PARAM, (match, lead: string, name: string, value: string) =>
    value !== '' && value !== REDACTED && isSecretQueryName(decodeSafely(name))
      ? `${lead}${name}=${REDACTED}`
      : match,
  );
  return result;
}

function decodeSafely(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function allowed(name: string, path: string, allowKeys: readonly (string | RegExp)[]): boolean {
  return allowKeys.some((entry) =>
    typeof entry === 'string' ? entry === name || entry === path : testRegExp(entry, path),
  );
}

/**
 * Returns a copy of `config` with every secret replaced by `***`, as plain JSON-like data ready to be
 * written as an artifact (Maps become objects, Sets arrays, dates ISO strings, `undefined` fields are
 * dropped). A value is secret when its schema field is marked `secret`, when its key looks like a secret
 * ({@link isSecretKey}, plus `secretPatterns`, minus `allowKeys`) and the value is a string, an object or
 * an array (numbers, booleans and `null` under such keys are counts and flags, and stay), or when it is a
 * URL with credentials (only the credentials go). Circular references throw `MlflowValidationError`
 * naming the path.
 *
 * @example
 * ```ts
 * redactConfig({ db: { url: 'postgres://u:p@h/db', password: 'hunter2' } }).value;
 * // { db: { url: 'postgres://***@h/db', password: '***' } }
 * ```
 */
export function redactConfig(config: unknown, options: RedactOptions = {}): RedactResult {
  const patterns = options.secretPatterns ?? [];
  const allowKeys = options.allowKeys ?? [];
  const redactUrls = options.redactUrls ?? true;
  const redactedPaths: string[] = [];
  const ancestors = new Map<object, string>();

  const visit = (
    value: unknown,
    path: string,
    name: string | undefined,
    view: SchemaView | undefined,
  ): unknown => {
    const shape = shapeOf(value, path);
    if (shape.kind === 'skip') return undefined;
    const byKey =
      name !== undefined &&
      !allowed(name, path, allowKeys) &&
      (isSecretKey(name, patterns) ||
        patterns.some((pattern) => typeof pattern !== 'string' && testRegExp(pattern, path)));
    if (view?.isSecret === true && !(shape.kind === 'leaf' && shape.value === null)) {
      redactedPaths.push(path);
      return REDACTED;
    }
    if (shape.kind === 'leaf') {
      const leaf = shape.value;
      if (typeof leaf === 'string') {
        if (byKey && leaf !== '') {
          redactedPaths.push(path);
          return REDACTED;
        }
        if (!redactUrls) return leaf;
        const clean = redactUrlCredentials(leaf);
        if (clean !== leaf) redactedPaths.push(path);
        return clean;
      }
      if (leaf instanceof Date) return Number.isNaN(leaf.getTime()) ? 'Invalid Date' : leaf.toISOString();
      return leaf;
    }
    if (byKey) {
      redactedPaths.push(path);
      return REDACTED;
    }
    const seenAt = ancestors.get(shape.source);
    if (seenAt !== undefined) throw circularError(path, seenAt);
    ancestors.set(shape.source, path);
    try {
      if (shape.kind === 'list') {
        return shape.items.map((item, index) => {
          const inner = visit(item, joinPath(path, String(index)), undefined, view?.child(String(index)));
          return inner === undefined ? null : inner;
        });
      }
      const result: Record<string, unknown> = {};
      for (const [key, inner] of shape.entries) {
        const redacted = visit(inner, joinPath(path, key), key, view?.child(key));
        if (redacted !== undefined) result[key] = redacted;
      }
      return result;
    } finally {
      ancestors.delete(shape.source);
    }
  };

  const value = visit(config, '', undefined, SchemaView.of(options.schema));
  return { value, redactedPaths };
}
