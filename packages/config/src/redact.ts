import {
  isSecretKey as coreIsSecretKey,
  createRedactor,
  MAX_DEPTH,
  MlflowValidationError,
  REDACTED,
  redactText,
} from '@mlflow-kit/core';
import { circularError, joinPath, shapeOf } from './internal/values.js';
import { SchemaView } from './secret.js';

export { REDACTED };

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
   * More value patterns: every match inside any string value, whatever its key, becomes `***` (on top of
   * core's built-in credential shapes).
   * @defaultValue `[]`
   */
  valuePatterns?: readonly RegExp[];
  /**
   * Remove credential-shaped parts from every string value, whatever its key (core's value rules): URL
   * user-info (`postgres://user:pass@host/db` becomes `postgres://***@host/db`), secret query parameters,
   * `Password=` pairs, JWTs, PEM keys and well-known token prefixes.
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

/**
 * Whether a key name looks like it holds a secret: core's rule (`isSecretKey` of `@mlflow-kit/core`),
 * re-exported here. See core's README for the words.
 */
export const isSecretKey: typeof coreIsSecretKey = coreIsSecretKey;

/**
 * Removes credentials from every string: core's value rules (`redactText` of `@mlflow-kit/core`): URL
 * user-info, secret query parameters and signatures, `Password=` pairs, JWTs, PEM keys and well-known token
 * prefixes become `***`.
 *
 * @example
 * ```ts
 * redactUrlCredentials('postgres://user:pass@db:5432/app'); // 'postgres://***@db:5432/app'
 * ```
 */
export function redactUrlCredentials(text: string): string {
  return redactText(text);
}

function testRegExp(pattern: RegExp, text: string): boolean {
  pattern.lastIndex = 0;
  return pattern.test(text);
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
  const redactor = createRedactor(options.valuePatterns ? { valuePatterns: options.valuePatterns } : {});
  const redactedPaths: string[] = [];
  const ancestors = new Map<object, string>();

  const visit = (
    value: unknown,
    path: string,
    name: string | undefined,
    view: SchemaView | undefined,
    depth: number,
  ): unknown => {
    if (depth > MAX_DEPTH) {
      throw new MlflowValidationError(
        path,
        `The config nests deeper than ${MAX_DEPTH} levels at "${path}": a config is a tree of settings, flatten it or log that part yourself.`,
      );
    }
    const shape = shapeOf(value, path);
    if (shape.kind === 'skip') return undefined;
    const isLeaf = shape.kind === 'leaf';
    const byKey =
      name !== undefined &&
      !allowed(name, path, allowKeys) &&
      (coreIsSecretKey(name, patterns, { leaf: isLeaf }) ||
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
        const clean = redactor.text(leaf);
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
          const inner = visit(
            item,
            joinPath(path, String(index)),
            undefined,
            view?.child(String(index)),
            depth + 1,
          );
          return inner === undefined ? null : inner;
        });
      }
      const result: Record<string, unknown> = {};
      for (const [key, inner] of shape.entries) {
        const redacted = visit(inner, joinPath(path, key), key, view?.child(key), depth + 1);
        if (redacted !== undefined) result[key] = redacted;
      }
      return result;
    } finally {
      ancestors.delete(shape.source);
    }
  };

  const value = visit(config, '', undefined, SchemaView.of(options.schema), 0);
  return { value, redactedPaths };
}
