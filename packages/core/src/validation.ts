import { MlflowValidationError } from './errors.js';
import { toJsonValue } from './internal/json-value.js';
import type { Redactor } from './redact.js';

/** MLflow's limits, from `mlflow/utils/validation.py`. */
export const LIMITS = {
  /** Longest metric, param or tag key. */
  maxKeyLength: 250,
  /** Longest param value the server keeps (it truncates longer ones). */
  maxParamValueLength: 6000,
  /** Longest run tag value the server keeps. */
  maxTagValueLength: 8000,
  /** Metrics in one log-batch request. */
  maxMetricsPerBatch: 1000,
  /** Params, and separately tags, in one log-batch request. */
  maxParamsTagsPerBatch: 100,
  /** Metrics, params and tags together in one log-batch request. */
  maxEntitiesPerBatch: 1000,
  /** Request body size the protocol documents for log-batch. */
  maxBatchBytes: 1_000_000,
} as const;

/** Which kind of key is checked, for messages. */
export type KeyKind = 'metric' | 'param' | 'tag';

const KEY_CHARACTERS = /^[\p{L}\p{N}\p{M}_\-. :/]*$/u;

/** Why `key` is not a valid MLflow key, or `undefined` when it is. */
export function keyProblem(key: unknown): string | undefined {
  if (typeof key !== 'string') return `keys must be strings, got ${typeof key}`;
  if (key.length === 0) return 'keys must not be empty';
  if (key.length > LIMITS.maxKeyLength)
    return `keys may be at most ${LIMITS.maxKeyLength} characters, this one has ${key.length}`;
  if (!KEY_CHARACTERS.test(key)) {
    return 'keys may contain only letters, digits, underscores (_), dashes (-), periods (.), spaces ( ), colons (:) and slashes (/)';
  }
  // Keys become file paths in MLflow's file store, so the server wants them already normalised.
  if (key.startsWith('/') || key.endsWith('/') || key.includes('//')) {
    return 'keys must not start or end with "/" or contain "//"';
  }
  if (key.startsWith('..') || key.split('/').some((segment) => segment === '.' || segment === '..')) {
    return 'keys must not start with ".." or contain "." or ".." path segments';
  }
  return undefined;
}

/**
 * Turns any string into a valid MLflow key by a fixed rule: characters MLflow refuses become `_`,
 * repeated and edge slashes are removed, `.`/`..` segments become `_`, and the key is cut to 250
 * characters. Adapters use it for names they do not control (layer names, TensorBoard tags).
 *
 * @example
 * ```ts
 * sanitizeKey('val/acc@top-1'); // 'val/acc_top-1'
 * ```
 */
export function sanitizeKey(key: string): string {
  let result = key
    .replace(/[^\p{L}\p{N}\p{M}_\-. :/]/gu, '_')
    .replace(/\/{2,}/g, '/')
    .replace(/^\/+|\/+$/g, '');
  result = result
    .split('/')
    .map((segment) => (segment === '.' || segment === '..' ? '_' : segment))
    .join('/');
  if (result.startsWith('..')) result = `_${result.slice(1)}`;
  if (result.length === 0) result = '_';
  return result.slice(0, LIMITS.maxKeyLength).replace(/\/+$/, '');
}

/** Throws {@link MlflowValidationError} unless `key` is a valid MLflow key. */
export function validateKey(kind: KeyKind, key: unknown): asserts key is string {
  const problem = keyProblem(key);
  if (problem === undefined) return;
  const shown = typeof key === 'string' ? JSON.stringify(key) : String(key);
  const hint =
    typeof key === 'string' && key.length > 0
      ? ` Use a key such as ${JSON.stringify(sanitizeKey(key))}.`
      : '';
  throw new MlflowValidationError(String(key), `Invalid ${kind} key ${shown}: ${problem}.${hint}`);
}

function isTensorLike(value: object): boolean {
  return 'dataSync' in value || 'arraySync' in value || ('shape' in value && 'dtype' in value);
}

/**
 * Checks a metric value and returns it as a number. Numbers pass as they are (NaN and ±Infinity are
 * valid MLflow values); bigints are converted with `Number()`. Booleans, strings, tensors and anything
 * else throw {@link MlflowValidationError} naming the key.
 */
export function toMetricValue(key: string, value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'object' && value !== null && isTensorLike(value)) {
    throw new MlflowValidationError(
      key,
      `Metric "${key}" got a tensor, not a number: read it first, for example \`(await tensor.data())[0]\` or \`tensor.dataSync()[0]\`.`,
    );
  }
  // Never the value itself: a string where a number belongs may be anything, a secret included.
  const shown = value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`;
  throw new MlflowValidationError(key, `Metric "${key}" must be a number, got ${shown}: pass a number.`);
}

/** Throws {@link MlflowValidationError} unless `step` is a safe integer. */
export function validateStep(key: string, step: unknown): asserts step is number {
  if (typeof step === 'number' && Number.isSafeInteger(step)) return;
  throw new MlflowValidationError(
    key,
    // A number is shown; anything else only by its type (a string may hold anything, a secret included).
    `Step ${typeof step === 'number' ? String(step) : `(a ${step === null ? 'null' : typeof step})`} of metric "${key}" is not an integer: MLflow steps are whole numbers (pass Math.round(step) or an epoch/batch counter).`,
  );
}

/**
 * The range of metric timestamps accepted, in Unix epoch milliseconds: from 1973-03-03 (1e11 ms) to the
 * year 5138 (1e14 ms). A timestamp in seconds (about 1.7e9) or in microseconds (about 1.7e15) falls
 * outside and is refused, instead of landing in 1970 or in the far future.
 */
export const TIMESTAMP_RANGE = { min: 1e11, max: 1e14 } as const;

/** Whether `timestamp` is a whole number of epoch milliseconds inside {@link TIMESTAMP_RANGE}. */
export function isPlausibleTimestamp(timestamp: unknown): timestamp is number {
  return (
    typeof timestamp === 'number' &&
    Number.isSafeInteger(timestamp) &&
    timestamp >= TIMESTAMP_RANGE.min &&
    timestamp < TIMESTAMP_RANGE.max
  );
}

/**
 * Throws {@link MlflowValidationError} unless `timestamp` is a whole number of epoch milliseconds inside
 * {@link TIMESTAMP_RANGE}.
 */
export function validateTimestamp(key: string, timestamp: unknown): asserts timestamp is number {
  if (isPlausibleTimestamp(timestamp)) return;
  const hint =
    typeof timestamp === 'number' && Number.isFinite(timestamp) && timestamp > 0
      ? timestamp < TIMESTAMP_RANGE.min
        ? ' It looks like seconds: multiply by 1000.'
        : timestamp >= TIMESTAMP_RANGE.max
          ? ' It looks like microseconds or nanoseconds: divide by 1000 (or 1e6).'
          : ''
      : '';
  throw new MlflowValidationError(
    key,
    `The timestamp of metric "${key}" is not valid: pass Unix epoch milliseconds as a whole number, such as Date.now().${hint}`,
  );
}

/**
 * Converts a param or tag value to the string MLflow stores: strings as they are; numbers, booleans and
 * bigints with `String()`; dates as ISO strings; `null` and `undefined` as `None` (how MLflow's Python
 * autologging writes a missing value); other values as JSON by the rule of the README ("Bad input"):
 * Maps become objects, Sets arrays, Errors `Name: message`, holes of sparse arrays `null`. Functions,
 * symbols, Symbol keys, cycles, nesting deeper than 100 levels and values whose getters throw are refused
 * with {@link MlflowValidationError} naming the key and path. With a `redactor`, secrets are replaced
 * by `***` on the way (by key at any depth, and by value shape).
 */
export function toParamString(key: string, value: unknown, redactor: Redactor | false = false): string {
  if (typeof value === 'string') return redactor === false ? value : redactor.value(key, value);
  if (value === null || value === undefined) return 'None';
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint')
    return String(value);
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? 'Invalid Date' : value.toISOString();
  if (typeof value === 'symbol' || typeof value === 'function') {
    throw new MlflowValidationError(
      key,
      `Value of "${key}" is a ${typeof value}, which cannot be stored: pass a string, number or plain object.`,
    );
  }
  if (redactor !== false && redactor.isSecretKey(key)) return '***';
  const json = toJsonValue(value, redactor, key);
  return typeof json === 'string' ? json : JSON.stringify(json);
}

/**
 * Normalises an artifact path given by a user (`plots/loss.png`): forward slashes, no leading `./` or
 * `/`, and no `..` segment, which would escape the run's artifact root.
 */
export function normalizeArtifactPath(path: string, what = 'artifact path'): string {
  if (path.startsWith('/') || path.startsWith('\\') || /^[A-Za-z]:[\\/]/.test(path)) {
    throw new MlflowValidationError(
      path,
      `The ${what} ${JSON.stringify(path)} is absolute: artifact paths are relative to the run's artifact root, such as "plots/loss.png". To upload a local file, pass it as the first argument of logArtifact.`,
    );
  }
  const parts = path
    .replaceAll('\\', '/')
    .split('/')
    .filter((part) => part !== '' && part !== '.');
  if (parts.some((part) => part === '..')) {
    throw new MlflowValidationError(
      path,
      `The ${what} ${JSON.stringify(path)} contains "..": artifact paths must stay inside the run.`,
    );
  }
  return parts.join('/');
}
