import { readFile } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import { MlflowConfigError } from '@mlflow-kit/core';
import type { z } from 'zod/v4';
import { parseGuarded } from './internal/parse-guarded.js';
import { configErrorFromIssues } from './internal/zod-issues.js';
import { assertSupportedSchema, SchemaView } from './secret.js';

/** Options of {@link loadConfig}. */
export interface LoadConfigOptions<S extends z.ZodType = z.ZodType> {
  /** The zod schema of the config: its defaults are the first layer, and it validates the result. */
  schema: S;
  /**
   * JSON (`.json`) or YAML (`.yaml`, `.yml`) files, merged in order over the defaults: later files win,
   * objects merge key by key, arrays are replaced. A missing file throws `MlflowConfigError`.
   * Relative paths are resolved against `cwd`.
   * @defaultValue `[]`
   */
  files?: readonly string[];
  /**
   * Prefix of the environment variables that set config fields, such as `'TRAIN_'`:
   * `TRAIN_LR=0.01` sets `lr`, `TRAIN_MODEL__DEPTH=5` sets `model.depth` (`__` separates levels; names
   * match fields ignoring case, `_` and `-`, so `TRAIN_HIDDEN_UNITS` sets `hiddenUnits`). A variable with
   * the prefix that names no field throws. Without a prefix the environment is not read.
   * @defaultValue `undefined`
   */
  envPrefix?: string;
  /** The environment to read. @defaultValue `process.env` */
  env?: Record<string, string | undefined>;
  /**
   * Command-line overrides, applied last: `--lr 0.01`, `--lr=0.01`, `--model.depth 5`, Hydra-style
   * `model.depth=5`, `--flag` / `--no-flag` for booleans. A bare `--` (which `pnpm start -- ...` passes on) is
   * skipped. Pass `false` to read none.
   * @defaultValue `process.argv.slice(2)`
   */
  argv?: readonly string[] | false;
  /** Directory that relative `files` are resolved against. @defaultValue `process.cwd()` */
  cwd?: string;
}

type Tree = Record<string, unknown>;

function isPlainObject(value: unknown): value is Tree {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function merge(target: Tree, source: Tree): Tree {
  for (const [key, value] of Object.entries(source)) {
    const current = target[key];
    target[key] = isPlainObject(current) && isPlainObject(value) ? merge({ ...current }, value) : value;
  }
  return target;
}

interface SchemaNode {
  _zod: { def: Record<string, unknown> & { type: string } };
}

function copy<T>(value: T): T {
  try {
    return structuredClone(value);
  } catch {
    return value;
  }
}

/** The defaults a schema declares, including those of nested fields of required objects. */
function defaultsOf(schema: SchemaNode, depth = 0): unknown {
  let node = schema;
  let base: unknown;
  let optional = false;
  for (let guard = 0; guard < 64; guard++) {
    const { def } = node._zod;
    if ((def.type === 'default' || def.type === 'prefault') && base === undefined)
      base = copy(def.defaultValue);
    if (def.type === 'optional' || def.type === 'nullable') optional = true;
    const inner =
      def.type === 'pipe' ? def.in : def.type === 'lazy' ? (def.getter as () => unknown)() : def.innerType;
    if (
      ![
        'default',
        'prefault',
        'optional',
        'nullable',
        'readonly',
        'catch',
        'nonoptional',
        'pipe',
        'lazy',
      ].includes(def.type)
    )
      break;
    node = inner as SchemaNode;
  }
  if (node._zod.def.type !== 'object' || depth > 32) return base;
  if (base === undefined && optional) return undefined;
  const nested: Tree = {};
  for (const [key, field] of Object.entries(node._zod.def.shape as Record<string, SchemaNode>)) {
    const value = defaultsOf(field, depth + 1);
    if (value !== undefined) nested[key] = value;
  }
  if (Object.keys(nested).length === 0) return base;
  return isPlainObject(base) ? merge(nested, base) : base === undefined ? nested : base;
}

function normalise(name: string): string {
  return name.toLowerCase().replace(/[-_]/g, '');
}

/** Maps user-written path segments (`MODEL`, `hidden-units`) onto the schema's field names. */
function resolvePath(root: SchemaView | undefined, segments: string[], describe: () => string): string[] {
  const resolved: string[] = [];
  let view = root;
  for (const segment of segments) {
    let name = segment;
    if (view && !/^\d+$/.test(segment)) {
      const fields = view.fieldNames;
      const exact = fields.find((field) => field === segment);
      const loose = exact ?? fields.find((field) => normalise(field) === normalise(segment));
      if (loose !== undefined) {
        name = loose;
      } else if (!view.acceptsAnyKey && fields.length > 0) {
        const where = resolved.length > 0 ? ` in "${resolved.join('.')}"` : '';
        throw new MlflowConfigError(
          `${describe()} names no config field "${segment}"${where}: the fields there are ${fields.map((field) => `"${field}"`).join(', ')}.`,
          { setting: describe() },
        );
      }
    }
    resolved.push(name);
    view = view?.child(name);
  }
  return resolved;
}

const NUMBER = /^[-+]?(\d[\d_]*\.?\d*|\.\d+)([eE][-+]?\d+)?$/;

/**
 * Parses a value from the environment or the command line, the way Hydra reads overrides: `true`/`false`,
 * `null`, numbers, and JSON arrays or objects become values; anything else stays a string. Where the schema
 * expects a string, the text is kept as is (`--name 007` stays `"007"`).
 */
function parseValue(raw: string, view: SchemaView | undefined): unknown {
  if (view?.isString) return raw;
  if (view?.isDate) {
    const date = new Date(raw);
    return Number.isNaN(date.getTime()) ? raw : date;
  }
  const text = raw.trim();
  if (/^true$/i.test(text)) return true;
  if (/^false$/i.test(text)) return false;
  if (/^(null|~)$/i.test(text)) return null;
  if (NUMBER.test(text) && text !== '') return Number(text.replaceAll('_', ''));
  if (/^[[{"]/.test(text)) {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return raw;
    }
  }
  return raw;
}

function setPath(tree: Tree, path: string[], value: unknown): void {
  let node: Record<string, unknown> | unknown[] = tree;
  for (let index = 0; index < path.length - 1; index++) {
    const segment = path[index]!;
    const next = path[index + 1]!;
    const current: unknown = (node as Record<string, unknown>)[segment];
    if (typeof current === 'object' && current !== null) {
      const child: Record<string, unknown> | unknown[] = Array.isArray(current)
        ? [...(current as unknown[])]
        : { ...current };
      (node as Record<string, unknown>)[segment] = child;
      node = child;
    } else {
      const child: Record<string, unknown> | unknown[] = /^\d+$/.test(next) ? [] : {};
      (node as Record<string, unknown>)[segment] = child;
      node = child;
    }
  }
  (node as Record<string, unknown>)[path[path.length - 1]!] = value;
}

function recordLeaves(value: unknown, path: string, source: string, sources: Map<string, string>): void {
  sources.set(path, source);
  if (isPlainObject(value)) {
    for (const [key, inner] of Object.entries(value))
      recordLeaves(inner, path === '' ? key : `${path}.${key}`, source, sources);
  }
}

async function readConfigFile(file: string, cwd: string): Promise<Tree> {
  const path = resolve(cwd, file);
  const extension = extname(path).toLowerCase();
  if (extension !== '.json' && extension !== '.yaml' && extension !== '.yml') {
    throw new MlflowConfigError(
      `Config file ${file} is neither JSON (.json) nor YAML (.yaml, .yml): rename it or convert it.`,
      {
        setting: file,
      },
    );
  }
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    const code = (cause as { code?: string }).code;
    throw new MlflowConfigError(
      code === 'ENOENT'
        ? `Config file ${file} does not exist (looked at ${path}): check the path, or leave it out of \`files\`.`
        : `Config file ${file} cannot be read (${code ?? 'error'}).`,
      { setting: file, cause },
    );
  }
  let data: unknown;
  if (extension === '.json') {
    try {
      data = JSON.parse(text) as unknown;
    } catch (cause) {
      // Node's message quotes the text, which may hold secrets: report only where it broke.
      const position = /position (\d+)/.exec(String((cause as Error).message))?.[1];
      const at =
        position === undefined ? '' : ` at line ${text.slice(0, Number(position)).split('\n').length}`;
      throw new MlflowConfigError(`Config file ${file} is not valid JSON${at}: fix the syntax.`, {
        setting: file,
      });
    }
  } else {
    const { parse, YAMLParseError } = await import('yaml');
    try {
      data = parse(text) as unknown;
    } catch (cause) {
      const line = cause instanceof YAMLParseError ? cause.linePos?.[0] : undefined;
      const at = line ? ` at line ${line.line}, column ${line.col}` : '';
      const code = cause instanceof YAMLParseError ? ` (${cause.code})` : '';
      throw new MlflowConfigError(`Config file ${file} is not valid YAML${at}${code}: fix the syntax.`, {
        setting: file,
      });
    }
  }
  if (data === null || data === undefined) return {};
  if (!isPlainObject(data)) {
    throw new MlflowConfigError(
      `Config file ${file} must hold a mapping of fields at its top level, not ${Array.isArray(data) ? 'a list' : typeof data}.`,
      {
        setting: file,
      },
    );
  }
  return data;
}

/**
 * A token that reads as a Hydra override (`key=value`, `+key=value`): its key is a plain dotted identifier.
 * A value such as `abc123==` (base64 padding) or `postgres://h/db?sslmode=require` is not one, so it may
 * follow `--key` as that option's value.
 */
const OVERRIDE = /^\+?[\p{L}\p{N}_][\p{L}\p{N}_.-]*=(?!=|$)/u;

/** How an override is named in messages: only the option's name, since the value may be a secret. */
function overrideLabel(override: { key: string; raw: string }): string {
  return override.raw.startsWith('-') ? `--${override.key}` : `${override.key}=...`;
}

function parseArgv(argv: readonly string[]): { key: string; value: string | undefined; raw: string }[] {
  const overrides: { key: string; value: string | undefined; raw: string }[] = [];
  for (let index = 0; index < argv.length; index++) {
    const token = argv[index]!;
    // `pnpm start -- --lr 0.01` passes the `--` on; with no positional arguments to end, it is skipped.
    if (token === '--') continue;
    if (token.startsWith('--')) {
      const body = token.slice(2);
      const equals = body.indexOf('=');
      if (equals > 0) {
        overrides.push({ key: body.slice(0, equals), value: body.slice(equals + 1), raw: token });
        continue;
      }
      const next = argv[index + 1];
      if (next !== undefined && !next.startsWith('--') && !OVERRIDE.test(next)) {
        overrides.push({ key: body, value: next, raw: `${token} ${next}` });
        index++;
      } else {
        overrides.push({ key: body, value: undefined, raw: token });
      }
      continue;
    }
    const equals = token.indexOf('=');
    if (equals > 0 && !token.startsWith('-')) {
      overrides.push({
        key: token.slice(token.startsWith('+') ? 1 : 0, equals),
        value: token.slice(equals + 1),
        raw: token,
      });
      continue;
    }
    // Only the part before `=`: what follows may be a secret (`-api-key=sk-...`).
    const equalsAt = token.indexOf('=');
    const shown = equalsAt >= 0 ? `${token.slice(0, equalsAt)}=...` : token;
    throw new MlflowConfigError(
      `Unexpected command-line argument ${JSON.stringify(shown)}: set config fields as --key value, --key=value or key=value (for example --lr 0.01 or model.depth=5).`,
      { setting: 'argv' },
    );
  }
  return overrides;
}

/**
 * Loads a typed config the way Hydra does, in layers: the schema's defaults, then `files` (JSON/YAML), then
 * environment variables with `envPrefix`, then command-line overrides; the result is validated by the schema
 * and returned typed. Every problem is reported at once in an `MlflowConfigError` that says where each bad
 * value came from: `model.depth: expected number, received string (from --model.depth)`.
 *
 * Pair it with `logConfig` to track the resolved config.
 *
 * @example
 * ```ts
 * import { loadConfig, logConfig } from '@mlflow-kit/config';
 * import { z } from 'zod';
 *
 * const Config = z.object({
 *   lr: z.number().default(0.001),
 *   model: z.object({ depth: z.number().int().default(4) }).default({ depth: 4 }),
 * });
 *
 * // node train.js --lr 0.01 model.depth=6
 * const config = await loadConfig({ schema: Config, files: ['train.yaml'], envPrefix: 'TRAIN_' });
 * await logConfig(Config, config);
 * ```
 */
export async function loadConfig<S extends z.ZodType>(options: LoadConfigOptions<S>): Promise<z.output<S>> {
  const { schema } = options;
  assertSupportedSchema(schema);
  const view = SchemaView.of(schema);
  if (view === undefined) {
    throw new MlflowConfigError(
      'loadConfig needs `schema`: a zod schema of the config, such as z.object({ lr: z.number() }).',
      {
        setting: 'schema',
      },
    );
  }
  const sources = new Map<string, string>();
  const defaults = defaultsOf(schema as unknown as SchemaNode);
  let tree: Tree = isPlainObject(defaults) ? defaults : {};

  const cwd = options.cwd ?? process.cwd();
  for (const file of options.files ?? []) {
    const data = await readConfigFile(file, cwd);
    for (const [key, value] of Object.entries(data)) recordLeaves(value, key, file, sources);
    tree = merge(tree, data);
  }

  if (options.envPrefix !== undefined) {
    if (options.envPrefix === '') {
      throw new MlflowConfigError(
        'Option `envPrefix` is empty: pass a prefix such as "TRAIN_", so that unrelated variables are not read.',
        {
          setting: 'envPrefix',
        },
      );
    }
    const env = options.env ?? process.env;
    const names = Object.keys(env)
      .filter((name) => name.startsWith(options.envPrefix!) && name.length > options.envPrefix!.length)
      .sort();
    for (const name of names) {
      const segments = name
        .slice(options.envPrefix.length)
        .split('__')
        .filter((segment) => segment !== '');
      const path = resolvePath(view, segments, () => `Environment variable ${name}`);
      const dotted = path.join('.');
      setPath(tree, path, parseValue(env[name] ?? '', pathView(view, path)));
      sources.set(dotted, `environment variable ${name}`);
    }
  }

  const argv = options.argv === undefined ? process.argv.slice(2) : options.argv;
  if (argv !== false) {
    for (const override of parseArgv(argv)) {
      let key = override.key;
      let value: unknown;
      const negated = override.value === undefined && key.startsWith('no-');
      if (negated) key = key.slice(3);
      const path = resolvePath(view, key.split('.'), () => `Command-line option ${overrideLabel(override)}`);
      const leaf = pathView(view, path);
      if (override.value === undefined) {
        if (leaf !== undefined && !leaf.isBoolean) {
          throw new MlflowConfigError(
            `Command-line option --${override.key} needs a value: pass --${override.key} <value> or --${override.key}=<value>.`,
            {
              setting: `--${override.key}`,
            },
          );
        }
        value = !negated;
      } else {
        value = parseValue(override.value, leaf);
      }
      setPath(tree, path, value);
      // Only the option's name: the value may be a secret.
      sources.set(
        path.join('.'),
        override.raw.startsWith('-')
          ? overrideLabel(override)
          : `command-line override ${overrideLabel(override)}`,
      );
    }
  }

  const result = await parseGuarded(() => schema.safeParseAsync(tree));
  if (!result.success) {
    throw configErrorFromIssues(result.error.issues, {
      cause: result.error,
      describeSource: (path) => {
        for (
          let prefix = path;
          prefix !== '';
          prefix = prefix.includes('.') ? prefix.slice(0, prefix.lastIndexOf('.')) : ''
        ) {
          const source = sources.get(prefix);
          if (source !== undefined) return source;
        }
        return undefined;
      },
    });
  }
  return result.data;
}

function pathView(root: SchemaView, path: string[]): SchemaView | undefined {
  let view: SchemaView | undefined = root;
  for (const segment of path) view = view?.child(segment);
  return view;
}
