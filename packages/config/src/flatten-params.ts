import { keyProblem, MlflowConfigError, MlflowValidationError, sanitizeKey } from '@mlflow-kit/core';
import { circularError, joinPath, shapeOf, showPath } from './internal/values.js';
import { type RedactOptions, redactConfig } from './redact.js';

/** Options of {@link flattenParams}. */
export interface FlattenParamsOptions {
  /**
   * Joins the keys of nested objects: `{ model: { depth: 5 } }` gives `model.depth`. Must be made of
   * characters MLflow allows in keys (`.`, `/`, `_`, `-`, `:`, space, letters, digits).
   * @defaultValue `'.'`
   */
  separator?: string;
  /** Put in front of every key, joined with the separator (`prefix: 'config'` gives `config.model.depth`). @defaultValue `''` */
  prefix?: string;
  /**
   * Redact secrets before flattening, by the rules of {@link redactConfig}: `true` for the built-in rules,
   * an options object to tune them, `false` to turn redaction off (only for data known to be clean).
   * @defaultValue `true`
   */
  redact?: boolean | RedactOptions;
  /**
   * What to do with a key that breaks MLflow's key rules (characters outside `[\w.\- :/]`, over 250
   * characters, `//` or `..` segments): `'error'` throws `MlflowValidationError` naming the key,
   * `'sanitize'` rewrites it with core's `sanitizeKey` (`'lr@warmup'` becomes `'lr_warmup'`).
   * @defaultValue `'error'`
   */
  invalidKeys?: 'error' | 'sanitize';
}

const SEPARATOR = /^[\p{L}\p{N}_\-. :/]+$/u;

/** Checks a separator option, throwing {@link MlflowConfigError} naming it. */
function checkSeparator(separator: string): void {
  if (!SEPARATOR.test(separator) || separator.includes('//')) {
    throw new MlflowConfigError(
      `Option \`separator\` is ${JSON.stringify(separator)}: use characters MLflow allows in keys, such as "." (the default), "/", "_" or "-".`,
      { setting: 'separator' },
    );
  }
}

function formatNumber(value: number): string {
  return Object.is(value, -0) ? '0' : String(value);
}

function leafString(value: string | number | boolean | bigint | null | Date): string {
  if (value === null) return 'None';
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? 'Invalid Date' : value.toISOString();
  if (typeof value === 'number') return formatNumber(value);
  return String(value);
}

/** JSON for a list of primitives, keeping what JSON cannot spell (NaN, bigint) readable. */
function listJson(items: unknown[], path: string, ancestors: Map<object, string>): string {
  const parts = items.map((item, index): string => {
    const itemPath = joinPath(path, String(index));
    const shape = shapeOf(item, itemPath);
    if (shape.kind === 'skip') return 'null';
    if (shape.kind === 'leaf') {
      const leaf = shape.value;
      if (typeof leaf === 'string') return JSON.stringify(leaf);
      if (leaf instanceof Date) return JSON.stringify(leafString(leaf));
      if (typeof leaf === 'number') return formatNumber(leaf);
      return leaf === null ? 'null' : String(leaf);
    }
    if (shape.kind === 'list') {
      const seenAt = ancestors.get(shape.source);
      if (seenAt !== undefined) throw circularError(itemPath, seenAt);
      ancestors.set(shape.source, itemPath);
      try {
        return listJson(shape.items, itemPath, ancestors);
      } finally {
        ancestors.delete(shape.source);
      }
    }
    return '{}';
  });
  return `[${parts.join(',')}]`;
}

/** Whether a list holds any object, in which case it is indexed rather than written as JSON. */
function holdsObjects(items: unknown[], path: string, ancestors: Map<object, string>): boolean {
  return items.some((item, index) => {
    const itemPath = joinPath(path, String(index));
    const shape = shapeOf(item, itemPath);
    if (shape.kind === 'map') return true;
    if (shape.kind !== 'list') return false;
    const seenAt = ancestors.get(shape.source);
    if (seenAt !== undefined) throw circularError(itemPath, seenAt);
    ancestors.set(shape.source, itemPath);
    try {
      return holdsObjects(shape.items, itemPath, ancestors);
    } finally {
      ancestors.delete(shape.source);
    }
  });
}

/**
 * Flattens a nested config into MLflow params (`Record<string, string>`), by fixed rules:
 *
 * - nested objects (and `Map`s) become dotted keys: `{ model: { depth: 5 } }` → `model.depth = "5"`;
 * - arrays that hold objects are indexed: `layers.0.units`; arrays of primitives (and `Set`s, typed
 *   arrays) become one JSON value: `hidden = "[64,32]"`;
 * - dates become ISO strings, bigints their digits, `NaN`/`Infinity` as spelled by `String()`;
 *   enums and literals are their values;
 * - `null` becomes `None` (MLflow's own spelling, as Python writes it); `undefined` fields are left out,
 *   as JSON leaves them out; empty objects and arrays become `{}` and `[]` so that no field vanishes;
 * - secrets are redacted first (see {@link redactConfig}), unless `redact: false`.
 *
 * Keys are checked against MLflow's rules; a bad key, two fields that flatten to the same key, a
 * circular reference, a function or a symbol throw `MlflowValidationError` naming the path.
 * Values are not cut to MLflow's length limit here: `logConfig` does that by its `longValues` strategy.
 *
 * @example
 * ```ts
 * import { flattenParams } from '@mlflow-kit/config';
 *
 * flattenParams({ lr: 0.01, layers: [{ units: 64 }, { units: 10 }], tags: ['a', 'b'], apiKey: 'sk-1' });
 * // { lr: '0.01', 'layers.0.units': '64', 'layers.1.units': '10', tags: '["a","b"]', apiKey: '***' }
 * ```
 */
export function flattenParams(config: unknown, options: FlattenParamsOptions = {}): Record<string, string> {
  const separator = options.separator ?? '.';
  checkSeparator(separator);
  const invalidKeys = options.invalidKeys ?? 'error';
  if (invalidKeys !== 'error' && invalidKeys !== 'sanitize') {
    throw new MlflowConfigError(
      `Option \`invalidKeys\` is ${JSON.stringify(invalidKeys)}: pass 'error' or 'sanitize'.`,
      {
        setting: 'invalidKeys',
      },
    );
  }
  const rootShape = shapeOf(config, '');
  if (rootShape.kind !== 'map') {
    throw new MlflowValidationError(
      '(root)',
      `flattenParams takes an object (a config), got ${config === null ? 'null' : Array.isArray(config) ? 'an array' : typeof config}: wrap it, as in { value }.`,
    );
  }
  const tree =
    options.redact === false
      ? config
      : redactConfig(config, options.redact === true || options.redact === undefined ? {} : options.redact)
          .value;

  const params: Record<string, string> = {};
  const origins = new Map<string, string>();
  const ancestors = new Map<object, string>();

  const emit = (segments: string[], path: string, value: string): void => {
    let key = segments.join(separator);
    const problem = keyProblem(key);
    if (problem !== undefined) {
      if (invalidKeys === 'sanitize') {
        key = sanitizeKey(key);
      } else {
        throw new MlflowValidationError(
          key,
          `The config field at "${showPath(path)}" gives the param key ${JSON.stringify(key)}, which MLflow refuses: ${problem}. ` +
            `Rename the field, or pass invalidKeys: 'sanitize' to log it as ${JSON.stringify(sanitizeKey(key))}.`,
        );
      }
    }
    const earlier = origins.get(key);
    if (earlier !== undefined) {
      throw new MlflowValidationError(
        key,
        `The config fields at "${showPath(earlier)}" and "${showPath(path)}" both become the param ${JSON.stringify(key)}: rename one of them, or pick another separator.`,
      );
    }
    origins.set(key, path);
    params[key] = value;
  };

  const visit = (value: unknown, segments: string[], path: string): void => {
    const shape = shapeOf(value, path);
    if (shape.kind === 'skip') return;
    if (shape.kind === 'leaf') {
      emit(segments, path, leafString(shape.value));
      return;
    }
    const seenAt = ancestors.get(shape.source);
    if (seenAt !== undefined) throw circularError(path, seenAt);
    ancestors.set(shape.source, path);
    try {
      if (shape.kind === 'list') {
        if (shape.items.length === 0 || !holdsObjects(shape.items, path, ancestors)) {
          emit(segments, path, listJson(shape.items, path, ancestors));
          return;
        }
        shape.items.forEach((item, index) => {
          visit(item, [...segments, String(index)], joinPath(path, String(index)));
        });
        return;
      }
      if (shape.entries.length === 0 && segments.length > 0) {
        emit(segments, path, '{}');
        return;
      }
      for (const [key, inner] of shape.entries) visit(inner, [...segments, key], joinPath(path, key));
    } finally {
      ancestors.delete(shape.source);
    }
  };

  visit(tree, options.prefix ? [options.prefix] : [], '');
  return params;
}
