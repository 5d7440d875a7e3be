import { loadSetting, parseNumber } from './load-setting.js';
import { processEnv } from './setting-parsers.js';

type Env = Record<string, string | undefined>;

function seconds(
  option: number | undefined,
  optionName: string,
  variable: string,
  env: Env,
  fallback: number,
): number {
  const value = loadSetting({
    option,
    optionName,
    variable,
    env,
    parse: parseNumber,
    check: (seconds) => Number.isFinite(seconds) && seconds >= 0,
    expected: 'a number of seconds, 0 or more',
  });
  return (value ?? fallback) * 1000;
}

/**
 * How long `flush()`, `end()` and the end of the process wait for the server before spooling what is left:
 * the option, else `MLFLOW_KIT_EXIT_TIMEOUT` (seconds), else 5 s. Invalid values throw {@link MlflowConfigError}.
 */
export function exitTimeoutMs(option?: number, env: Env = processEnv()): number {
  return seconds(option, 'exitTimeoutSeconds', 'MLFLOW_KIT_EXIT_TIMEOUT', env, 5);
}

/**
 * How long `startRun` waits for the server before it starts the run offline, into the spool: the option,
 * else `MLFLOW_KIT_START_TIMEOUT` (seconds), else 5 s.
 */
export function startTimeoutMs(option?: number, env: Env = processEnv()): number {
  return seconds(option, 'startTimeoutSeconds', 'MLFLOW_KIT_START_TIMEOUT', env, 5);
}

/**
 * How often a run started offline tries the server, to upload its spool once it answers: the option, else
 * `MLFLOW_KIT_OFFLINE_PROBE_INTERVAL` (seconds), else 30 s; `0` waits for `end()`.
 */
export function offlineProbeIntervalMs(option?: number, env: Env = processEnv()): number {
  return seconds(option, 'offlineProbeIntervalSeconds', 'MLFLOW_KIT_OFFLINE_PROBE_INTERVAL', env, 30);
}
