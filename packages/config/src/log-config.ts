import {
  diag,
  getActiveRun,
  MlflowConfigError,
  MlflowValidationError,
  normalizeArtifactPath,
  type Run,
  resolveEnabled,
  withAllowedKeys,
} from '@mlflow-kit/core';
import { applyDebugOption } from '@mlflow-kit/core/internal';
import type { z } from 'zod/v4';
import { type FlattenParamsOptions, flattenParams } from './flatten-params.js';
import { parseGuarded } from './internal/parse-guarded.js';
import { configErrorFromIssues } from './internal/zod-issues.js';
import { type RedactOptions, redactConfig } from './redact.js';
import { assertSupportedSchema } from './secret.js';

/** What `logConfig` does with a param value longer than `maxValueLength`. */
export type LongValueStrategy = 'truncate' | 'artifact' | 'error';

/** Options of {@link logConfig}. */
export interface LogConfigOptions
  extends Omit<FlattenParamsOptions, 'redact'>,
    Omit<RedactOptions, 'schema'> {
  /**
   * The run to log to. Without it, the active run (`getActiveRun()`); when there is none, nothing is
   * logged (the config is still validated and returned) and a diagnostic says so.
   * @defaultValue `getActiveRun()`
   */
  run?: Run;
  /**
   * Longest param value sent. MLflow servers since 2.7.2 keep 6000 characters; older servers keep 500,
   * so lower it for them. Between 500 and 6000.
   * @defaultValue `6000`
   */
  maxValueLength?: number;
  /**
   * What to do with a value longer than `maxValueLength`:
   * - `'truncate'`: the param keeps the start of the value and ends with a marker
   *   `... [truncated, 7342 characters; full value in config.json]`; the full value stays in the config artifact;
   * - `'artifact'`: the param says `[7342 characters, see artifact config_params/<key>.txt]` and the full value
   *   is written to that artifact file;
   * - `'error'`: `logConfig` throws `MlflowValidationError` naming the key, before anything is logged.
   * @defaultValue `'truncate'`
   */
  longValues?: LongValueStrategy;
  /**
   * Which artifacts hold the full resolved config (redacted like the params): `'json'` for
   * `config.json`, `'yaml'` for `config.yaml`, `'both'`, or `false` for none.
   * @defaultValue `'json'`
   */
  artifact?: 'json' | 'yaml' | 'both' | false;
  /**
   * Base name (and optional folder) of the config artifacts: `'config'` writes `config.json`. With a
   * `prefix`, the default is `config_<prefix>`, so that configs logged under different prefixes to one run
   * keep separate files.
   * @defaultValue `'config'`, or `'config_<prefix>'` when `prefix` is set
   */
  artifactName?: string;
  /**
   * Sends mlflow-kit's diagnostics to the console at `debug` level (what was redacted, why nothing was
   * logged). Falls back to `MLFLOW_KIT_DEBUG`.
   * @defaultValue `false`
   */
  debug?: boolean;
}

const MIN_VALUE_LENGTH = 500;
const MAX_VALUE_LENGTH = 6000;
const STRATEGIES: readonly LongValueStrategy[] = ['truncate', 'artifact', 'error'];

function isZodSchema(value: unknown): value is z.ZodType {
  return (
    typeof value === 'object' &&
    value !== null &&
    '_zod' in value &&
    typeof (value as { safeParseAsync?: unknown }).safeParseAsync === 'function'
  );
}

interface Settings {
  maxValueLength: number;
  longValues: LongValueStrategy;
  artifacts: string[];
  artifactName: string;
}

function checkOptions(options: LogConfigOptions): Settings {
  const maxValueLength = options.maxValueLength ?? MAX_VALUE_LENGTH;
  if (
    !Number.isInteger(maxValueLength) ||
    maxValueLength < MIN_VALUE_LENGTH ||
    maxValueLength > MAX_VALUE_LENGTH
  ) {
    throw new MlflowConfigError(
      `Option \`maxValueLength\` is ${String(maxValueLength)}: pass a whole number from ${MIN_VALUE_LENGTH} to ${MAX_VALUE_LENGTH} (6000 for MLflow 2.7.2 and later, 500 for older servers).`,
      { setting: 'maxValueLength' },
    );
  }
  const longValues = options.longValues ?? 'truncate';
  if (!STRATEGIES.includes(longValues)) {
    throw new MlflowConfigError(
      `Option \`longValues\` is ${JSON.stringify(longValues)}: pass 'truncate', 'artifact' or 'error'.`,
      {
        setting: 'longValues',
      },
    );
  }
  const artifact = options.artifact ?? 'json';
  if (artifact !== false && artifact !== 'json' && artifact !== 'yaml' && artifact !== 'both') {
    throw new MlflowConfigError(
      `Option \`artifact\` is ${JSON.stringify(artifact)}: pass 'json', 'yaml', 'both' or false.`,
      {
        setting: 'artifact',
      },
    );
  }
  const defaultName = options.prefix ? `config_${options.prefix.replace(/[^\w.-]/g, '_')}` : 'config';
  const artifactName = normalizeArtifactPath(options.artifactName ?? defaultName, 'artifactName');
  if (artifactName === '') {
    throw new MlflowConfigError(
      'Option `artifactName` is empty: pass a file name without extension, such as "config".',
      {
        setting: 'artifactName',
      },
    );
  }
  const artifacts: string[] = [];
  if (artifact === 'json' || artifact === 'both') artifacts.push(`${artifactName}.json`);
  if (artifact === 'yaml' || artifact === 'both') artifacts.push(`${artifactName}.yaml`);
  return { maxValueLength, longValues, artifacts, artifactName };
}

/** A prepared config: the params and artifacts `logConfig` sends. Pure, so it runs the same with tracking off. */
interface Prepared {
  params: Record<string, string>;
  files: { path: string; kind: 'dict' | 'text'; content: unknown }[];
}

function prepare(parsed: unknown, schema: unknown, options: LogConfigOptions, settings: Settings): Prepared {
  const redactOptions: RedactOptions = { schema };
  if (options.secretPatterns) redactOptions.secretPatterns = options.secretPatterns;
  if (options.allowKeys) redactOptions.allowKeys = options.allowKeys;
  if (options.redactUrls !== undefined) redactOptions.redactUrls = options.redactUrls;
  const { value: redacted, redactedPaths } = redactConfig(parsed, redactOptions);
  if (redactedPaths.length > 0)
    diag.debug(`logConfig redacted ${redactedPaths.length} value(s): ${redactedPaths.join(', ')}`);

  const flattenOptions: FlattenParamsOptions = { redact: false };
  if (options.separator !== undefined) flattenOptions.separator = options.separator;
  if (options.prefix !== undefined) flattenOptions.prefix = options.prefix;
  if (options.invalidKeys !== undefined) flattenOptions.invalidKeys = options.invalidKeys;
  const params = flattenParams(redacted, flattenOptions);

  const files: Prepared['files'] = settings.artifacts.map((path) => ({
    path,
    kind: 'dict',
    content: redacted,
  }));
  const { maxValueLength, longValues } = settings;
  for (const [key, value] of Object.entries(params)) {
    if (value.length <= maxValueLength) continue;
    if (longValues === 'error') {
      throw new MlflowValidationError(
        key,
        `Param "${key}" has ${value.length} characters, over the limit of ${maxValueLength}: shorten the value, ` +
          `or pass longValues: 'truncate' (keeps the start) or 'artifact' (moves the value to a file).`,
      );
    }
    if (longValues === 'artifact') {
      const path = `${settings.artifactName}_params/${key}.txt`;
      files.push({ path, kind: 'text', content: value });
      params[key] = `[${value.length} characters, see artifact ${path}]`;
    } else {
      const where = settings.artifacts[0] ? `; full value in ${settings.artifacts[0]}` : '';
      const marker = `... [truncated, ${value.length} characters${where}]`;
      params[key] = `${value.slice(0, maxValueLength - marker.length)}${marker}`;
    }
  }
  return { params, files };
}

/**
 * Validates a config against a zod schema, logs it to an MLflow run as flat, redacted params plus the
 * full resolved config as an artifact (`config.json`), and returns the parsed, typed config (defaults
 * applied). Also takes a plain object without a schema: `logConfig(config, options?)`.
 *
 * - **Validation:** every problem is reported at once, in one `MlflowConfigError`:
 *   `model.depth: expected number, received string`.
 * - **Params:** flattened by {@link flattenParams}'s rules; more than 100 are sent in chunks of 100.
 *   Values longer than `maxValueLength` follow `longValues`.
 * - **Secrets:** fields marked `.meta({ secret: true })` / {@link secret}, keys that look secret and
 *   credentials in URLs become `***`, in params and artifacts alike.
 * - **Re-logging:** logging the same config again (a resumed run) is a no-op; a changed value throws
 *   `MlflowValidationError` naming the key, the old and the new value, before anything is logged.
 * - **Which run:** `options.run`, else the active run. With no run, or with tracking off, nothing is logged
 *   and nothing is started: the config is still validated, flattened and checked (so that errors are the
 *   same whether tracking is on or off) and returned.
 * - Artifact uploads go through the run's queue: retried, spooled when the server cannot take them, never thrown.
 *
 * @example
 * ```ts
 * import { startRun } from '@mlflow-kit/core';
 * import { logConfig, secret } from '@mlflow-kit/config';
 * import { z } from 'zod';
 *
 * const Config = z.object({
 *   lr: z.number().default(0.001),
 *   model: z.object({ depth: z.number().int(), activation: z.enum(['relu', 'gelu']) }),
 *   hubToken: secret(z.string()),
 * });
 *
 * const run = await startRun({ experimentName: 'mnist' });
 * const config = await logConfig(Config, rawConfig); // typed; params lr, model.depth, model.activation, hubToken=***
 * ```
 */
export async function logConfig<S extends z.ZodType>(
  schema: S,
  input: unknown,
  options?: LogConfigOptions,
): Promise<z.output<S>>;
export async function logConfig<T extends object>(
  config: T extends z.ZodType ? never : T,
  options?: LogConfigOptions,
): Promise<T>;
export async function logConfig(
  schemaOrConfig: unknown,
  inputOrOptions?: unknown,
  maybeOptions?: LogConfigOptions,
): Promise<unknown> {
  assertSupportedSchema(schemaOrConfig);
  const withSchema = isZodSchema(schemaOrConfig);
  const options = ((withSchema ? maybeOptions : inputOrOptions) ?? {}) as LogConfigOptions;
  applyDebugOption(options.debug);
  const settings = checkOptions(options);

  let parsed: unknown;
  if (withSchema) {
    const result = await parseGuarded(() => schemaOrConfig.safeParseAsync(inputOrOptions));
    if (!result.success) throw configErrorFromIssues(result.error.issues, { cause: result.error });
    parsed = result.data;
  } else {
    if (typeof schemaOrConfig !== 'object' || schemaOrConfig === null || Array.isArray(schemaOrConfig)) {
      throw new MlflowConfigError(
        `logConfig takes a zod schema and an input, or a config object; got ${schemaOrConfig === null ? 'null' : Array.isArray(schemaOrConfig) ? 'an array' : typeof schemaOrConfig}.`,
        { setting: 'config' },
      );
    }
    parsed = schemaOrConfig;
  }

  const prepared = prepare(parsed, withSchema ? schemaOrConfig : undefined, options, settings);
  const run = options.run ?? getActiveRun();
  if (run === undefined) {
    if (resolveEnabled({}).enabled) {
      diag.once(
        '@mlflow-kit/config:no-run',
        'warn',
        'logConfig found no active run, so the config was validated but not logged: call startRun() first, or pass `run`.',
      );
    } else {
      diag.debug('logConfig: tracking is off, the config was validated and not logged.');
    }
    return parsed;
  }
  if (!run.isRecording) return parsed;

  // Params first: a changed value throws here, before any artifact is overwritten.
  // The run redacts again with its own rules: the keys the user allowed here stay allowed there.
  const allowKeys = options.allowKeys ?? [];
  run.logParams(withAllowedKeys(prepared.params, allowKeys));
  // The run's queue retries and spools the files; only bad input throws.
  await Promise.all(
    prepared.files.map((file) =>
      file.kind === 'dict'
        ? run.logDict(withAllowedKeys(Object(file.content) as object, allowKeys), file.path)
        : run.logText(String(file.content), file.path),
    ),
  );
  return parsed;
}
