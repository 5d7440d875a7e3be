import { MlflowConfigError } from '../errors.js';
import { createRedactor, defaultRedactor } from '../redact.js';
import type { EnabledSource, ResolvedSettings, TrackingOptions } from '../settings.js';
import { loadSetting, parseNumber } from './load-setting.js';

type Env = Record<string, string | undefined>;

/**
 * The process environment in Node, and nothing where there is none (a web page): no setting is read from
 * the environment there, the options are the whole configuration.
 */
export function processEnv(): Env {
  return (globalThis as { process?: { env?: Env } }).process?.env ?? {};
}

const TRUE_WORDS = new Set(['1', 'true', 'yes', 'on']);
const FALSE_WORDS = new Set(['0', 'false', 'no', 'off', '']);

function parseBoolean(text: string): boolean | undefined {
  const word = text.trim().toLowerCase();
  if (TRUE_WORDS.has(word)) return true;
  if (FALSE_WORDS.has(word)) return false;
  return undefined;
}

/** Parses a boolean environment variable, or throws a {@link MlflowConfigError} naming it. */
export function parseBooleanEnv(name: string, value: string | undefined): boolean | undefined {
  if (value === undefined) return undefined;
  const parsed = parseBoolean(value);
  if (parsed !== undefined) return parsed;
  throw new MlflowConfigError(
    `${name} is not a boolean: set it to 1, true or yes to turn it on, or 0, false or no to turn it off.`,
    { setting: name },
  );
}

/** A boolean from its option, else its variable, else `undefined`; throws naming both when malformed. */
export function booleanSetting(
  option: boolean | undefined,
  optionName: string,
  variable: string,
  env: Env,
): boolean | undefined {
  return loadSetting({
    option,
    optionName,
    variable,
    env,
    parse: parseBoolean,
    check: (value) => typeof value === 'boolean',
    expected: '1, true or yes to turn it on, or 0, false or no to turn it off',
  });
}

/** A number from its option, else its variable, else `undefined`; throws naming both when malformed or too small. */
export function numberSetting(
  option: number | undefined,
  optionName: string,
  variable: string,
  env: Env,
  { min, integer }: { min: number; integer: boolean },
): number | undefined {
  return loadSetting({
    option,
    optionName,
    variable,
    env,
    parse: parseNumber,
    check: (value) =>
      typeof value === 'number' &&
      Number.isFinite(value) &&
      value >= min &&
      (!integer || Number.isInteger(value)),
    expected: `${integer ? 'a whole number' : 'a number'} of at least ${min}`,
  });
}

/** Whether tracking is on for these options and environment, and why. Cheap: reads no files. */
export function resolveEnabled(
  options: Pick<TrackingOptions, 'enabled'> = {},
  env: Env = processEnv(),
): {
  enabled: boolean;
  source: EnabledSource;
} {
  if (options.enabled !== undefined) return { enabled: options.enabled, source: 'option' };
  const fromEnv = parseBooleanEnv('MLFLOW_KIT_ENABLED', env.MLFLOW_KIT_ENABLED);
  if (fromEnv !== undefined) return { enabled: fromEnv, source: 'MLFLOW_KIT_ENABLED' };
  return { enabled: false, source: 'default' };
}

/** The settings every transport shares (timeouts, retries, headers, diagnostics, redaction), from options and `env`. */
export function resolveTransportSettings(
  options: TrackingOptions,
  env: Env,
): Pick<
  ResolvedSettings,
  'requestTimeoutMs' | 'maxRetries' | 'backoffFactorMs' | 'backoffJitterMs' | 'headers' | 'debug' | 'redactor'
> {
  const timeoutSeconds =
    numberSetting(
      options.requestTimeoutSeconds,
      'requestTimeoutSeconds',
      'MLFLOW_HTTP_REQUEST_TIMEOUT',
      env,
      {
        min: 0.001,
        integer: false,
      },
    ) ?? 120;
  const maxRetries = Math.min(
    10,
    numberSetting(options.maxRetries, 'maxRetries', 'MLFLOW_HTTP_REQUEST_MAX_RETRIES', env, {
      min: 0,
      integer: true,
    }) ?? 7,
  );
  const backoffFactor = Math.min(
    120,
    numberSetting(options.backoffFactor, 'backoffFactor', 'MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR', env, {
      min: 0,
      integer: false,
    }) ?? 2,
  );
  const backoffJitter =
    numberSetting(options.backoffJitter, 'backoffJitter', 'MLFLOW_HTTP_REQUEST_BACKOFF_JITTER', env, {
      min: 0,
      integer: false,
    }) ?? 1;
  return {
    requestTimeoutMs: timeoutSeconds * 1000,
    maxRetries,
    backoffFactorMs: backoffFactor * 1000,
    backoffJitterMs: backoffJitter * 1000,
    headers: { ...options.headers },
    debug: booleanSetting(options.debug, 'debug', 'MLFLOW_KIT_DEBUG', env) ?? false,
    redactor:
      options.redact === false
        ? false
        : options.redact === undefined || options.redact === true
          ? defaultRedactor
          : createRedactor(options.redact),
  };
}
