import { MlflowValidationError } from '../errors.js';
import { REDACTED, type Redactor } from '../redact.js';

/** How deep a value may nest before it is refused (a config is a tree, not a linked list). */
export const MAX_DEPTH = 100;

function joinPath(path: string, segment: string): string {
  return path === '' ? segment : `${path}.${segment}`;
}

function fail(path: string, what: string, cause?: unknown): never {
  const where = path === '' ? 'the value' : `"${path}"`;
  throw new MlflowValidationError(path === '' ? '(root)' : path, `${what} at ${where}.`, { cause });
}

/**
 * Turns any value into plain JSON data by a fixed, documented rule, redacting on the way when a redactor
 * is given: strings, finite and non-finite numbers and booleans stay (NaN and ±Infinity become the strings
 * `NaN`, `Infinity`, `-Infinity`); bigints become strings; `Date`s ISO strings; `Map`s objects (string or
 * number keys only); `Set`s and typed arrays arrays; `Error`s the string `Name: message`; `RegExp` and
 * `URL` their text; objects with `toJSON` what it returns; holes of sparse arrays and `undefined` items
 * `null`; `undefined` fields are left out. Functions, symbols, Symbol keys, cycles, nesting deeper than
 * {@link MAX_DEPTH} and objects whose getters or proxy traps throw are refused with
 * {@link MlflowValidationError} naming the path.
 */
export function toJsonValue(value: unknown, redactor: Redactor | false, rootPath = ''): unknown {
  const ancestors = new Set<object>();
  const visit = (input: unknown, path: string, key: string | undefined, depth: number): unknown => {
    if (depth > MAX_DEPTH)
      fail(path, `The value nests deeper than ${MAX_DEPTH} levels: flatten it or log the part you need`);
    if (input === null || typeof input === 'boolean') return input;
    if (typeof input === 'number') return Number.isFinite(input) ? input : String(input);
    if (typeof input === 'bigint') return input.toString();
    if (typeof input === 'string') {
      if (redactor === false) return input;
      return key === undefined ? redactor.text(input) : redactor.value(key, input);
    }
    if (typeof input === 'function' || typeof input === 'symbol')
      fail(path, `A ${typeof input} cannot be stored: pass a string, number, boolean, array or plain object`);
    if (input === undefined) return undefined;
    const object = input as object;
    if (redactor !== false && key !== undefined && redactor.isSecretKey(key)) return REDACTED;
    if (object instanceof Date) return Number.isNaN(object.getTime()) ? 'Invalid Date' : object.toISOString();
    if (object instanceof Error) return visit(`${object.name}: ${object.message}`, path, key, depth);
    if (object instanceof RegExp) return visit(String(object), path, key, depth);
    if (object instanceof URL) return visit(object.href, path, key, depth);
    if (ancestors.has(object))
      fail(path, 'The value refers back to one of its own parents (a cycle): it must be a tree');
    ancestors.add(object);
    try {
      if (
        Array.isArray(object) ||
        object instanceof Set ||
        (ArrayBuffer.isView(object) && !(object instanceof DataView))
      ) {
        // Array.from turns the holes of a sparse array into undefined, stored as null.
        const items = Array.from(object as ArrayLike<unknown> | Iterable<unknown>);
        return items.map(
          (item, index) => visit(item, joinPath(path, String(index)), undefined, depth + 1) ?? null,
        );
      }
      let entries: [string, unknown][];
      if (object instanceof Map) {
        entries = [];
        for (const [mapKey, inner] of object) {
          if (typeof mapKey !== 'string' && typeof mapKey !== 'number')
            fail(path, 'A Map key that is not a string or number cannot become a JSON field');
          entries.push([String(mapKey), inner]);
        }
      } else {
        const toJSON = (object as { toJSON?: unknown }).toJSON;
        if (typeof toJSON === 'function') {
          const json: unknown = toJSON.call(object);
          if (json !== object) return visit(json, path, key, depth + 1);
        }
        if (
          Object.getOwnPropertySymbols(object).some((symbol) =>
            Object.prototype.propertyIsEnumerable.call(object, symbol),
          )
        )
          fail(path, 'An object with Symbol keys cannot be stored: use string keys');
        entries = Object.entries(object);
      }
      const result: Record<string, unknown> = {};
      for (const [name, inner] of entries) {
        const converted = visit(inner, joinPath(path, name), name, depth + 1);
        if (converted !== undefined) result[name] = converted;
      }
      return result;
    } catch (error) {
      if (MlflowValidationError.isInstance(error)) throw error;
      // A getter or a proxy trap threw while we read the object.
      fail(path, 'Reading the value threw an error (a getter or a Proxy): pass plain data', error);
    } finally {
      ancestors.delete(object);
    }
  };
  return visit(value, rootPath, undefined, 0);
}
