import { MlflowConfigError } from '@mlflow-kit/core';
import type { z } from 'zod/v4';

declare module 'zod/v4/core' {
  interface GlobalMeta {
    /** Marks a config field as secret: `logConfig` redacts it as `***` in params and artifacts. */
    secret?: boolean;
  }
}

/** The metadata `@mlflow-kit/config` reads from zod schemas: `schema.meta({ secret: true })`. */
export interface ConfigFieldMeta {
  /** The field holds a secret: it is redacted as `***` in params and in the config artifacts. */
  secret?: boolean;
}

/**
 * The mark {@link secret} leaves on a schema object, readable whatever copy of zod (or of this package)
 * made it: a `Symbol.for` key is the same in every realm of the process.
 */
const SECRET_MARK = Symbol.for('@mlflow-kit/config/secret');

/** Minimal view of a zod 4 schema's internals, enough to walk a schema tree. */
interface SchemaNode {
  _zod: { def: Record<string, unknown> & { type: string } };
  meta?: (...args: unknown[]) => unknown;
  [SECRET_MARK]?: boolean;
}

function isSchema(value: unknown): value is SchemaNode {
  return (
    typeof value === 'object' &&
    value !== null &&
    '_zod' in value &&
    typeof (value as SchemaNode)._zod?.def === 'object'
  );
}

/**
 * Throws {@link MlflowConfigError} for a schema made by zod 3 (`import { z } from 'zod'` with zod 3.x):
 * its fields' secret marks cannot be read. Zod 4, and zod 3.25+'s `zod/v4`, are supported.
 */
export function assertSupportedSchema(schema: unknown, option = 'schema'): void {
  if (
    typeof schema === 'object' &&
    schema !== null &&
    !('_zod' in schema) &&
    '_def' in schema &&
    typeof (schema as { safeParse?: unknown }).safeParse === 'function'
  ) {
    throw new MlflowConfigError(
      `The \`${option}\` was made by zod 3, which @mlflow-kit/config does not read (its secret marks would be lost): use zod 4 (\`npm install zod@^4\`), or with zod 3.25 or newer import { z } from 'zod/v4'.`,
      { setting: option },
    );
  }
}

/**
 * The metadata of a schema, read through the schema's OWN zod (its `.meta()` method looks in the registry
 * of the copy of zod that made it), so marks set with the app's zod are seen even when this package
 * resolved another copy. zod/mini schemas, which have no `.meta()`, are read from zod's shared registry.
 */
function metadataOf(schema: SchemaNode): { secret?: unknown } | undefined {
  if (typeof schema.meta === 'function') {
    const meta = schema.meta();
    return typeof meta === 'object' && meta !== null ? meta : undefined;
  }
  const shared = (globalThis as { __zod_globalRegistry?: { get(schema: unknown): unknown } })
    .__zod_globalRegistry;
  const meta = shared?.get(schema);
  return typeof meta === 'object' && meta !== null ? meta : undefined;
}

/**
 * Marks a zod schema as secret, the same as `.meta({ secret: true })` (keeping metadata already set):
 * `logConfig` writes `***` instead of the value, in params and in the config artifacts. Works with any
 * copy of zod 4 (and zod 3.25+'s `zod/v4`): the mark goes into the schema's own registry and onto the
 * schema itself.
 *
 * @example
 * ```ts
 * import { z } from 'zod';
 * import { secret } from '@mlflow-kit/config';
 *
 * const Config = z.object({
 *   lr: z.number(),
 *   wandbKey: secret(z.string()),          // or z.string().meta({ secret: true })
 * });
 * ```
 */
export function secret<T extends z.ZodType>(schema: T): T {
  assertSupportedSchema(schema);
  const node = schema as unknown as SchemaNode;
  const marked = (
    typeof node.meta === 'function' ? node.meta({ ...metadataOf(node), secret: true }) : schema
  ) as T;
  Object.defineProperty(marked, SECRET_MARK, { value: true, enumerable: false, configurable: true });
  return marked;
}

const WRAPPERS: Record<string, readonly string[]> = {
  optional: ['innerType'],
  nullable: ['innerType'],
  default: ['innerType'],
  prefault: ['innerType'],
  catch: ['innerType'],
  readonly: ['innerType'],
  nonoptional: ['innerType'],
  success: ['innerType'],
  promise: ['innerType'],
  pipe: ['in', 'out'],
  union: ['options'],
  intersection: ['left', 'right'],
};

/**
 * Every schema `schema` stands for once wrappers (optional, default, nullable, pipe, lazy, ...) are
 * looked through, unions and intersections included, the wrappers themselves too.
 */
function expand(schema: SchemaNode, into: SchemaNode[] = [], depth = 0): SchemaNode[] {
  if (into.includes(schema) || depth > 64) return into;
  into.push(schema);
  const { def } = schema._zod;
  if (def.type === 'lazy' && typeof def.getter === 'function') {
    const inner: unknown = (def.getter as () => unknown)();
    if (isSchema(inner)) expand(inner, into, depth + 1);
    return into;
  }
  for (const field of WRAPPERS[def.type] ?? []) {
    const inner = def[field];
    for (const candidate of Array.isArray(inner) ? inner : [inner]) {
      if (isSchema(candidate)) expand(candidate, into, depth + 1);
    }
  }
  return into;
}

function markedSecret(schema: SchemaNode): boolean {
  return schema[SECRET_MARK] === true || metadataOf(schema)?.secret === true;
}

/**
 * A view of a zod schema for the walkers: whether a node is secret, and the schemas of its children.
 * Unions are read conservatively: a field is secret when any branch marks it so.
 */
export class SchemaView {
  private readonly nodes: SchemaNode[];

  private constructor(nodes: SchemaNode[]) {
    this.nodes = nodes;
  }

  /** A view of `schema`, or `undefined` when it is not a zod schema. */
  static of(schema: unknown): SchemaView | undefined {
    return isSchema(schema) ? new SchemaView(expand(schema)) : undefined;
  }

  /** Whether the schema (or a wrapper of it) is marked `secret`. */
  get isSecret(): boolean {
    return this.nodes.some(markedSecret);
  }

  /** The view of the child at `key` (an object field, array index, record or map value). */
  child(key: string): SchemaView | undefined {
    const children: SchemaNode[] = [];
    for (const { _zod } of this.nodes) {
      const { def } = _zod;
      let inner: unknown;
      switch (def.type) {
        case 'object': {
          const shape = def.shape as Record<string, unknown> | undefined;
          inner = shape && Object.hasOwn(shape, key) ? shape[key] : def.catchall;
          break;
        }
        case 'array':
          inner = def.element;
          break;
        case 'set':
        case 'record':
        case 'map':
          inner = def.valueType;
          break;
        case 'tuple': {
          const items = def.items as unknown[] | undefined;
          const index = Number(key);
          inner = items && Number.isInteger(index) && index < items.length ? items[index] : def.rest;
          break;
        }
        default:
          inner = undefined;
      }
      if (isSchema(inner)) expand(inner, children);
    }
    return children.length > 0 ? new SchemaView(children) : undefined;
  }

  /** The object fields the schema declares, by name (for mapping env and argv keys). */
  get fieldNames(): string[] {
    const names = new Set<string>();
    for (const { _zod } of this.nodes) {
      if (_zod.def.type === 'object')
        for (const name of Object.keys(_zod.def.shape as object)) names.add(name);
    }
    return [...names];
  }

  /** Whether the schema accepts arbitrary keys at this level (a record, a map, a catchall or loose object). */
  get acceptsAnyKey(): boolean {
    return this.nodes.some(({ _zod }) => {
      const { def } = _zod;
      if (def.type === 'record' || def.type === 'map' || def.type === 'any' || def.type === 'unknown')
        return true;
      return def.type === 'object' && isSchema(def.catchall) && def.catchall._zod.def.type !== 'never';
    });
  }

  /** Whether the leaf is a plain string schema (so `007` from the command line stays a string). */
  get isString(): boolean {
    const leaves = this.nodes.filter(({ _zod }) => !(_zod.def.type in WRAPPERS) && _zod.def.type !== 'lazy');
    return (
      leaves.length > 0 &&
      leaves.every(({ _zod }) => {
        const { def } = _zod;
        if (def.type === 'string' || def.type === 'template_literal') return true;
        if (def.type === 'enum')
          return Object.values(def.entries as object).every((entry) => typeof entry === 'string');
        if (def.type === 'literal')
          return (def.values as unknown[]).every((entry) => typeof entry === 'string');
        return false;
      })
    );
  }

  /** Whether the leaf is a date schema. */
  get isDate(): boolean {
    return this.nodes.some(({ _zod }) => _zod.def.type === 'date');
  }

  /** Whether the leaf is a boolean schema (so a bare `--flag` means `true`). */
  get isBoolean(): boolean {
    return this.nodes.some(({ _zod }) => _zod.def.type === 'boolean');
  }
}
