/** What a redacted value, or the redacted part of a value, is replaced with. */
export const REDACTED = '***';

/**
 * Options of {@link createRedactor}, and of the `redact` option of `startRun` and `logConfig`: they add to
 * the built-in rules, never remove from them (except {@link RedactOptions.allowKeys} for key names).
 */
export interface RedactOptions {
  /**
   * More key patterns that mark a value secret, on top of the built-in words. A string matches a key that
   * contains it, ignoring case; a RegExp is tested against the key (and, in configs, the dotted path).
   * @defaultValue `[]`
   */
  secretPatterns?: readonly (string | RegExp)[];
  /**
   * More value patterns: every match inside any string value, whatever its key, becomes `***`. Give them
   * the `g` flag or not; they are applied to the whole text.
   * @defaultValue `[]`
   */
  valuePatterns?: readonly RegExp[];
  /**
   * Keys that are never redacted by name, for false positives of the built-in words (`tokenizer_path` is
   * already allowed). A string matches the key, or its last dotted segment, exactly; a RegExp is tested
   * against the whole key. Credential-shaped values under such keys are still redacted.
   * @defaultValue `[]`
   */
  allowKeys?: readonly (string | RegExp)[];
}

const SECRET_WORDS = new Set([
  'pass',
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
  'sas',
]);
/** Words that are a secret only when they name a leaf (`auth: 'user:pw'`), not a section (`auth: { mode }`). */
export const LEAF_SECRET_WORDS: ReadonlySet<string> = new Set(['auth']);
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

/** Splits a key into lower-case words at `_`, `-`, `.`, spaces, digits-to-letters and camelCase humps. */
export function keyWords(key: string): string[] {
  return key
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((word) => word !== '');
}

function testRegExp(pattern: RegExp, text: string): boolean {
  pattern.lastIndex = 0;
  return pattern.test(text);
}

/**
 * Whether a key name looks like it holds a secret, by the built-in rule: one of its words (split at
 * `_ - . /`, spaces and camelCase) is pass, password, passwd, pwd, passphrase, secret(s), token,
 * credential(s), creds, apikey, authorization, bearer, cookie, dsn or sas, or a pair such as `api key`,
 * `private key`, `access key`, `secret key`. Vocabulary entries (`pad_token`, `eos_token`) and measures
 * (`token_id`, `max_tokens`, `tokenizer`) are not secrets. With `leaf: true` (the value is a string), `auth`
 * counts too when it is the last word (`auth`, `basic_auth`; not `auth_mode`).
 *
 * @example
 * ```ts
 * isSecretKey('openaiApiKey'); // true
 * isSecretKey('services.1.auth.pass'); // true
 * isSecretKey('use_cls_token'); // false: a vocabulary token
 * ```
 */
export function isSecretKey(
  key: string,
  patterns: readonly (string | RegExp)[] = [],
  { leaf = false }: { leaf?: boolean } = {},
): boolean {
  for (const pattern of patterns) {
    if (
      typeof pattern === 'string'
        ? key.toLowerCase().includes(pattern.toLowerCase())
        : testRegExp(pattern, key)
    )
      return true;
  }
  // Only the last segment of a dotted or slashed key names the value (`auth.mode` is not a secret).
  const parts = keyWords(key.split(/[./]/).at(-1) ?? key);
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
    if (leaf && LEAF_SECRET_WORDS.has(word) && next === undefined) return true;
    if (next === 'key' && KEY_QUALIFIERS.has(word)) return true;
  }
  return false;
}

/** Query parameters that carry signatures in signed URLs (Azure SAS `sig`, S3 `X-Amz-Signature`, GCS). */
const QUERY_SECRETS = new Set(['sig', 'signature', 'credential', 'security']);

function isSecretQueryName(name: string): boolean {
  return isSecretKey(name) || keyWords(name).some((word) => QUERY_SECRETS.has(word));
}

function decodeSafely(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/**
 * The user-info of a URL runs to the LAST `@` before the host (as the URL spec reads it, and Python's
 * `rpartition('@')`), so a password holding `@`, `/`, `?` or `#` is removed whole. It does not run into a
 * second URL (`://`), nor past whitespace or quotes.
 */
const URL_USERINFO =
  /\b([a-z][a-z0-9+.-]*:\/\/)((?:(?!:\/\/)[^\s'"<>])+)@(?=[^@\s'"/?#<>]*(?:[/?#\s'"<>]|$))/gi;
const QUERY_PARAM = /([?&;])([^=&#\s'"]+)=([^&#\s'"]*)/g;
/** `Password=...;` in ADO.NET/JDBC/ODBC connection strings and any `secret_key=value` pair in text. */
const KEY_VALUE = /(^|[\s;,({[])([A-Za-z][\w.-]*)(\s*=\s*)("[^"]*"|'[^']*'|\{[^}]*\}|[^\s;,&'")}\]]+)/g;
/** `"password": "..."` (JSON) and `password: ...` (YAML, logs). */
const KEY_COLON = /(["']?)([A-Za-z][\w.-]*)\1(\s*:\s*)("(?:[^"\\]|\\.)*"|'[^']*'|[^\s,;'"}\]]+)/g;
const PEM_PRIVATE_KEY =
  /-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY( BLOCK)?-----[\s\S]*?(?:-----END \1PRIVATE KEY\2-----|$)/g;
const JWT = /\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/g;
const AUTH_SCHEME = /\b(Bearer|Basic|Token)(\s+)[A-Za-z0-9._~+/=-]{8,}/g;
const WEBHOOK =
  /\b(hooks\.slack\.com\/(?:services|workflows|triggers)|discord(?:app)?\.com\/api\/webhooks)\/[^\s'"<>?#]+/gi;
/** Well-known token prefixes; each needs enough random characters after it not to catch ordinary words. */
const TOKEN_PREFIXES = new RegExp(
  [
    'gh[pousr]_[A-Za-z0-9]{20,}', // GitHub classic tokens
    'github_pat_[A-Za-z0-9_]{20,}', // GitHub fine-grained tokens
    'sk-(?:proj-|ant-(?:api\\d+-)?|svcacct-|admin-)?[A-Za-z0-9_-]{20,}', // OpenAI, Anthropic
    'hf_[A-Za-z0-9]{20,}', // Hugging Face
    '(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA)[0-9A-Z]{16}', // AWS access key ids
    'xox[abposr]-[A-Za-z0-9-]{10,}', // Slack
    'AIza[0-9A-Za-z_-]{35}', // Google API keys
    '[sr]k_(?:live|test)_[0-9A-Za-z]{16,}', // Stripe
    'whsec_[0-9A-Za-z]{16,}', // Stripe webhooks
    'glpat-[0-9A-Za-z_-]{20,}', // GitLab
    'npm_[A-Za-z0-9]{36}', // npm
    'pypi-[A-Za-z0-9_-]{50,}', // PyPI
    'dapi[0-9a-f]{32}', // Databricks
    'SG\\.[A-Za-z0-9_-]{16,}\\.[A-Za-z0-9_-]{16,}', // SendGrid
  ]
    .map((source) => `(?:${source})`)
    .join('|')
    // A prefix counts only at the start of a word: `task-...` holds no OpenAI key.
    .replace(/^/, '(?<![A-Za-z0-9])(?:')
    .concat(')'),
  'g',
);
/** The built-in value patterns whose every match is replaced whole. */
const WHOLE_MATCH_PATTERNS: readonly RegExp[] = [PEM_PRIVATE_KEY, JWT, TOKEN_PREFIXES];

function globalCopy(pattern: RegExp): RegExp {
  return pattern.global ? pattern : new RegExp(pattern.source, `${pattern.flags}g`);
}

function quoteLike(original: string): string {
  const first = original[0];
  if (first === '"' || first === "'") return `${first}${REDACTED}${first}`;
  if (first === '{') return `{${REDACTED}}`;
  return REDACTED;
}

/** Redacts secrets and credential-shaped values, with the built-in rules plus the options given. */
export interface Redactor {
  /** The options this redactor was made with. */
  readonly options: Readonly<RedactOptions>;
  /** Whether `key` names a secret (`leaf`: the value is a string, so `auth` counts too), minus `allowKeys`. */
  isSecretKey(key: string, leaf?: boolean): boolean;
  /** `text` with every credential-shaped part replaced by `***`; text without one comes back unchanged. */
  text(text: string): string;
  /** The value to store for `key`: `***` when the key names a secret (and the value is not empty), else {@link Redactor.text}. */
  value(key: string, value: string): string;
}

/**
 * Makes a {@link Redactor}: the built-in key words and value patterns (see core's README) plus the
 * patterns and allowed keys of `options`.
 *
 * @example
 * ```ts
 * const redactor = createRedactor({ secretPatterns: ['wandb'], allowKeys: ['auth_mode'] });
 * redactor.value('wandb_id', 'abc'); // '***'
 * redactor.text('postgres://u:pw@db/app'); // 'postgres://***@db/app'
 * ```
 */
export function createRedactor(options: RedactOptions = {}): Redactor {
  const patterns = options.secretPatterns ?? [];
  const allowKeys = options.allowKeys ?? [];
  const extra = (options.valuePatterns ?? []).map(globalCopy);
  const isAllowed = (key: string): boolean => {
    const name = key.split(/[./]/).at(-1);
    return allowKeys.some((entry) =>
      typeof entry === 'string' ? entry === key || entry === name : testRegExp(entry, key),
    );
  };
  const secretKey = (key: string, leaf = false): boolean =>
    !isAllowed(key) && isSecretKey(key, patterns, { leaf });
  const pairValue = (match: string, lead: string, name: string, sep: string, value: string): string =>
    value === REDACTED || value === `"${REDACTED}"` || !secretKey(name, true)
      ? match
      : `${lead}${name}${sep}${quoteLike(value)}`;
  const text = (input: string): string => {
    let result = input;
    if (result.includes('://')) {
      result = result.replace(URL_USERINFO, (match, scheme: string, userinfo: string) =>
        userinfo === REDACTED ? match : `${scheme}${REDACTED}@`,
      );
      result = result.replace(QUERY_PARAM, (match, lead: string, name: string, value: string) =>
        value !== '' && value !== REDACTED && isSecretQueryName(decodeSafely(name))
          ? `${lead}${name}=${REDACTED}`
          : match,
      );
    }
    result = result.replace(AUTH_SCHEME, `$1$2${REDACTED}`);
    if (result.includes('=')) result = result.replace(KEY_VALUE, pairValue);
    if (result.includes(':')) {
      result = result.replace(KEY_COLON, (match, quote: string, name: string, sep: string, value: string) =>
        value.startsWith('//') ? match : pairValue(match, `${quote}`, `${name}${quote}`, sep, value),
      );
    }
    result = result.replace(WEBHOOK, `$1/${REDACTED}`);
    for (const pattern of WHOLE_MATCH_PATTERNS) result = result.replace(pattern, REDACTED);
    for (const pattern of extra) result = result.replace(pattern, REDACTED);
    return result;
  };
  return {
    options,
    isSecretKey: secretKey,
    text,
    value: (key, value) => (value !== '' && secretKey(key, true) ? REDACTED : text(value)),
  };
}

/** The redactor with only the built-in rules. */
export const defaultRedactor: Redactor = createRedactor();

/**
 * Replaces every credential-shaped part of `text` by `***`, with the built-in rules: URL user-info (to the
 * last `@`), secret query parameters and signed-URL signatures, `Password=`/`Pwd=` and other
 * `secret_key=value` or `"token": "..."` pairs, `Bearer`/`Basic` credentials, JWTs, PEM private keys,
 * Slack/Discord webhook paths and well-known token prefixes (GitHub, OpenAI, Hugging Face, AWS, Slack,
 * Google, Stripe, GitLab, npm, PyPI, Databricks, SendGrid).
 *
 * @example
 * ```ts
 * redactText('Server=db;User Id=sa;Password=hunter2;'); // 'Server=db;User Id=sa;Password=***;'
 * ```
 */
export function redactText(text: string): string {
  return defaultRedactor.text(text);
}

/**
 * Removes the credentials of a URL so it can be shown: `https://user:p@ss@host` becomes
 * `https://***@host`, and secret query parameters get the value `***`.
 */
export function redactUrl(uri: string): string {
  return defaultRedactor.text(uri);
}

const SCRUBBED = Symbol.for('@mlflow-kit/core/scrubbed');

/**
 * Scrubs an error and its whole `cause` chain (and `AggregateError.errors`) in place: message, stack and
 * every own string property (Node's `TypeError: Invalid URL` keeps the URL in `input`) pass through
 * {@link redactText}. Returns the same error. Non-errors and frozen objects are left as they are.
 */
export function redactError<T>(error: T, redactor: Redactor = defaultRedactor): T {
  const seen = new Set<object>();
  let current: unknown = error;
  const pending: unknown[] = [];
  while (current !== undefined || pending.length > 0) {
    if (current === undefined) current = pending.pop();
    if (typeof current !== 'object' || current === null || seen.has(current) || seen.size > 32) {
      current = undefined;
      continue;
    }
    seen.add(current);
    const target = current as Record<PropertyKey, unknown>;
    if (target[SCRUBBED] !== true) {
      for (const name of new Set([...Object.getOwnPropertyNames(target), 'message', 'stack'])) {
        let value: unknown;
        try {
          value = target[name];
        } catch {
          continue;
        }
        if (typeof value !== 'string') continue;
        const clean = redactor.text(value);
        if (clean === value) continue;
        try {
          target[name] = clean;
        } catch {
          // A read-only property: replaced below.
        }
        if (target[name] !== clean) {
          try {
            Object.defineProperty(target, name, { value: clean, writable: true, configurable: true });
          } catch {
            // A frozen error keeps its text; there is nothing more we can do.
          }
        }
      }
      try {
        Object.defineProperty(target, SCRUBBED, { value: true, enumerable: false });
      } catch {
        // Frozen.
      }
    }
    const errors = target.errors;
    if (Array.isArray(errors)) pending.push(...errors.slice(0, 16));
    current = target.cause;
  }
  return error;
}

const ALLOWED_KEYS = Symbol.for('@mlflow-kit/core/allowed-keys');

/**
 * Marks a params object (or a dict to be written by `logDict`) with keys that an adapter's user allowed
 * (`logConfig(..., { allowKeys })`), so the run does not redact them by name again. Values shaped like
 * credentials are still redacted. Returns `value` itself.
 */
export function withAllowedKeys<T extends object>(value: T, keys: readonly (string | RegExp)[]): T {
  if (keys.length > 0)
    Object.defineProperty(value, ALLOWED_KEYS, { value: keys, enumerable: false, configurable: true });
  return value;
}

/** The redactor for `value`: `base`, plus the keys {@link withAllowedKeys} allowed on it. */
export function redactorFor(value: unknown, base: Redactor | false): Redactor | false {
  if (base === false || typeof value !== 'object' || value === null) return base;
  const keys = (value as { [ALLOWED_KEYS]?: readonly (string | RegExp)[] })[ALLOWED_KEYS];
  if (keys === undefined) return base;
  return createRedactor({ ...base.options, allowKeys: [...(base.options.allowKeys ?? []), ...keys] });
}
