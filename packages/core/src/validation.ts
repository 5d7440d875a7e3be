import { MlflowValidationError } from './errors.js';

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
  const shown =
    typeof value === 'string'
      ? JSON.stringify(value)
      : typeof value === 'object'
        ? 'an object'
        : String(value);
  throw new MlflowValidationError(
    key,
    `Metric "${key}" must be a number, got ${shown} (${value === null ? 'null' : typeof value}).`,
  );
}

/** Throws {@link MlflowValidationError} unless `step` is a safe integer. */
export function validateStep(key: string, step: unknown): asserts step is number {
  if (typeof step === 'number' && Number.isSafeInteger(step)) return;
  throw new MlflowValidationError(
    key,
    `Step ${String(step)} of metric "${key}" is not an integer: MLflow steps are whole numbers (pass Math.round(step) or an epoch/batch counter).`,
  );
}

/** Throws {@link MlflowValidationError} unless `timestamp` is a non-negative whole number of milliseconds. */
export function validateTimestamp(key: string, timestamp: unknown): asserts timestamp is number {
  if (typeof timestamp === 'number' && Number.isSafeInteger(timestamp) && timestamp >= 0) return;
  throw new MlflowValidationError(
    key,
    `Timestamp ${String(timestamp)} of metric "${key}" is not valid: pass Unix epoch milliseconds as a whole number, such as Date.now().`,
  );
}

/**
 * Converts a param or tag value to the string MLflow stores: strings as they are; numbers, booleans and
 * bigints with `String()`; dates as ISO strings; `null` and `undefined` as `None` (how MLflow's Python
 * autologging writes a missing value); other objects as JSON. An object JSON cannot encode (a cycle)
 * throws {@link MlflowValidationError}.
 */
export function toParamString(key: string, value: unknown): string {
  if (typeof value === 'string') return value;
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
  try {
    return JSON.stringify(value, (_, inner: unknown) =>
      typeof inner === 'bigint' ? inner.toString() : inner,
    );
  } catch (cause) {
    throw new MlflowValidationError(
      key,
      `Value of "${key}" cannot be turned into JSON (${cause instanceof Error ? cause.message : String(cause)}): pass a string or a plain object without cycles.`,
      { cause },
    );
  }
}

/**
 * Normalises an artifact path given by a user (`plots/loss.png`): forward slashes, no leading `./` or
 * `/`, and no `..` segment, which would escape the run's artifact root.
 */
export function normalizeArtifactPath(path: string, what = 'artifact path'): string {
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
