import { loadSetting, parseNumber } from './load-setting.js';

/** How the system metrics of a run are sampled: what {@link resolveSystemMetrics} returns when they are on. */
export interface SystemMetricsSettings {
  /** Milliseconds between two samples (`MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL`, in seconds; MLflow's 10). */
  intervalMs: number;
  /** Samples averaged into one logged point (`MLFLOW_SYSTEM_METRICS_SAMPLES_BEFORE_LOGGING`; MLflow's 1). */
  samplesBeforeLogging: number;
  /** Node id put into the keys, `system/<node>/...` (`MLFLOW_SYSTEM_METRICS_NODE_ID`). */
  nodeId: string | undefined;
}

/** The options of `startRun` that {@link resolveSystemMetrics} reads. */
export interface SystemMetricsOptions {
  logSystemMetrics?: boolean | undefined;
  systemMetricsSamplingInterval?: number | undefined;
  systemMetricsSamplesBeforeLogging?: number | undefined;
}

/** MLflow's defaults (`SystemMetricsMonitor.__init__`). */
const DEFAULT_INTERVAL_SECONDS = 10;
const DEFAULT_SAMPLES = 1;

/** MLflow's `_BooleanEnvironmentVariable`: `true`/`false`/`1`/`0`, any case. */
function parseBoolean(text: string): boolean | undefined {
  const lower = text.toLowerCase();
  if (lower === 'true' || lower === '1') return true;
  if (lower === 'false' || lower === '0') return false;
  return undefined;
}

/**
 * Whether a run logs system metrics, and how: the `logSystemMetrics` option, else
 * `MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING`, else off (`undefined`). Invalid values throw `MlflowConfigError`
 * at once, also when logging is off, so a typo is not found only on the day it is switched on.
 */
export function resolveSystemMetrics(
  options: SystemMetricsOptions,
  env: Record<string, string | undefined>,
): SystemMetricsSettings | undefined {
  const enabled = loadSetting({
    option: options.logSystemMetrics,
    optionName: 'logSystemMetrics',
    variable: 'MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING',
    env,
    parse: parseBoolean,
    check: (value) => typeof value === 'boolean',
    expected: '`true` or `false`',
  });
  const intervalSeconds = loadSetting({
    option: options.systemMetricsSamplingInterval,
    optionName: 'systemMetricsSamplingInterval',
    variable: 'MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL',
    env,
    parse: parseNumber,
    check: (value) => Number.isFinite(value) && value > 0,
    expected: 'a number of seconds greater than 0, such as 10',
  });
  const samples = loadSetting({
    option: options.systemMetricsSamplesBeforeLogging,
    optionName: 'systemMetricsSamplesBeforeLogging',
    variable: 'MLFLOW_SYSTEM_METRICS_SAMPLES_BEFORE_LOGGING',
    env,
    parse: parseNumber,
    check: (value) => Number.isInteger(value) && value >= 1,
    expected: 'a whole number of at least 1, such as 1',
  });
  if (!enabled) return undefined;
  const nodeId = env.MLFLOW_SYSTEM_METRICS_NODE_ID?.trim();
  return {
    intervalMs: (intervalSeconds ?? DEFAULT_INTERVAL_SECONDS) * 1000,
    samplesBeforeLogging: samples ?? DEFAULT_SAMPLES,
    nodeId: nodeId ? nodeId : undefined,
  };
}
