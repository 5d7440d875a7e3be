import { MlflowValidationError } from '@mlflow-kit/core';

/** How a config value is walked. */
export type ValueShape =
  | { kind: 'leaf'; value: string | number | boolean | bigint | null | Date }
  | { kind: 'skip' }
  | { kind: 'list'; items: unknown[]; source: object }
  | { kind: 'map'; entries: [string, unknown][]; source: object };

function isPrimitiveKey(key: unknown): key is string | number | boolean | bigint {
  return (
    typeof key === 'string' || typeof key === 'number' || typeof key === 'boolean' || typeof key === 'bigint'
  );
}

/**
 * Classifies `value` for the walkers of flattening and redaction: leaves (primitives, dates), lists
 * (arrays, sets, typed arrays) and maps (plain objects, `Map`s, class instances by their own enumerable
 * fields, objects with `toJSON`). Functions and symbols throw, naming `path`.
 */
export function shapeOf(value: unknown, path: string): ValueShape {
  if (value === undefined) return { kind: 'skip' };
  if (
    value === null ||
    typeof value === 'string' ||
    typeof value === 'number' ||
    typeof value === 'boolean' ||
    typeof value === 'bigint'
  ) {
    return { kind: 'leaf', value };
  }
  if (value instanceof Date) return { kind: 'leaf', value };
  // An Error has no enumerable fields: stored as its text, not as {}.
  if (value instanceof Error) return { kind: 'leaf', value: `${value.name}: ${value.message}` };
  if (typeof value === 'function' || typeof value === 'symbol') {
    throw new MlflowValidationError(
      path,
      `Config value at "${path}" is a ${typeof value}, which cannot become a param: pass a string, number, boolean, date, array or plain object there.`,
    );
  }
  const object = value as object;
  try {
    return objectShape(object, path);
  } catch (cause) {
    if (MlflowValidationError.isInstance(cause)) throw cause;
    throw new MlflowValidationError(
      path,
      `Reading the config value at "${showPath(path)}" threw an error (a getter or a Proxy trap): pass plain data there.`,
      { cause },
    );
  }
}

function objectShape(object: object, path: string): ValueShape {
  // Array.from turns the holes of a sparse array into undefined, written as null.
  if (Array.isArray(object)) return { kind: 'list', items: Array.from(object), source: object };
  if (object instanceof Set) return { kind: 'list', items: [...object], source: object };
  if (ArrayBuffer.isView(object) && !(object instanceof DataView)) {
    return { kind: 'list', items: Array.from(object as unknown as ArrayLike<unknown>), source: object };
  }
  if (object instanceof Map) {
    const entries: [string, unknown][] = [];
    for (const [key, inner] of object) {
      if (!isPrimitiveKey(key)) {
        throw new MlflowValidationError(
          path,
          `The Map at "${path}" has a key that is not a string or number: only such keys can become param names.`,
        );
      }
      entries.push([String(key), inner]);
    }
    return { kind: 'map', entries, source: object };
  }
  if (object instanceof RegExp) return { kind: 'leaf', value: String(object) };
  if (object instanceof URL) return { kind: 'leaf', value: object.href };
  const toJSON = (object as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') {
    // Decimal, Luxon, Temporal and similar value objects serialise themselves.
    const json: unknown = toJSON.call(object);
    if (json !== object && (typeof json !== 'object' || json === null)) return shapeOf(json, path);
  }
  if (
    Object.getOwnPropertySymbols(object).some((symbol) =>
      Object.prototype.propertyIsEnumerable.call(object, symbol),
    )
  ) {
    throw new MlflowValidationError(
      path,
      `The config object at "${showPath(path)}" has Symbol keys, which cannot become param names: use string keys.`,
    );
  }
  return { kind: 'map', entries: Object.entries(object), source: object };
}

/** Joins path segments for messages, always with dots. */
export function joinPath(path: string, segment: string): string {
  return path === '' ? segment : `${path}.${segment}`;
}

/** Throws the error for a config that refers back to one of its ancestors. */
export function circularError(path: string, ancestorPath: string): MlflowValidationError {
  const target = ancestorPath === '' ? 'the root of the config' : `"${ancestorPath}"`;
  return new MlflowValidationError(
    path,
    `The config has a circular reference at "${path}", which points back to ${target}: a config must be a tree. Remove the reference, or log that field yourself.`,
  );
}

/** Shows a path for messages; the root is `(root)`. */
export function showPath(path: string): string {
  return path === '' ? '(root)' : path;
}
