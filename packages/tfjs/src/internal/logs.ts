import { sanitizeKey } from '@mlflow-kit/core';
import { toSnakeCase } from './params.js';
import type { LogsLike, LogValue } from './tfjs-types.js';

/** How metrics are named: as tfjs reports them (`acc`, `val_acc`), or as Keras names them (`accuracy`, `val_accuracy`). */
export type MetricNames = 'tfjs' | 'keras';

// tfjs shortens these metric names whatever the user wrote (`'accuracy'` → `acc`); Keras keeps the long ones.
const KERAS_SHORT: Record<string, string> = { acc: 'accuracy', ce: 'crossentropy' };

/**
 * The Keras name of a tfjs log key: `acc` → `accuracy` and `ce` → `crossentropy` (also as the suffix of a
 * multi-output model's `<output>_acc`), camelCase metric names in snake_case (`meanSquaredError` →
 * `mean_squared_error`, `categoricalAccuracy` → `categorical_accuracy`); the `val_` prefix is kept, and
 * everything else (`loss`, `mse`, `MAE`) is left as is.
 */
export function kerasMetricName(key: string): string {
  const validation = key.startsWith('val_') ? 'val_' : '';
  const name = key.slice(validation.length);
  const short = /^(.*_)?(acc|ce)$/.exec(name);
  if (short) return `${validation}${short[1] ?? ''}${KERAS_SHORT[short[2]!]}`;
  return validation + (/[a-z][A-Z]/.test(name) ? toSnakeCase(name) : name);
}

const keyCache = new Map<string, string>();

/** The MLflow key for a tfjs log key: the same key when valid, else a sanitized one (cached: it runs per batch). */
export function metricKey(key: string, prefix = '', names: MetricNames = 'tfjs'): string {
  const full = `${names}:${prefix}${key}`;
  let cached = keyCache.get(full);
  if (cached === undefined) {
    cached = sanitizeKey(prefix + (names === 'keras' ? kerasMetricName(key) : key));
    keyCache.set(full, cached);
  }
  return cached;
}

function isTensorLike(value: unknown): value is Exclude<LogValue, number> {
  return (
    typeof value === 'object' && value !== null && typeof (value as { data?: unknown }).data === 'function'
  );
}

/**
 * Turns tfjs training logs into plain numbers. tfjs hands callbacks numbers when it wraps them in a
 * `CustomCallback`, and scalar tensors when they sit directly in its callback list; both are handled.
 * Keys in `skip` (such as the batch index and size) are left out.
 */
export async function logsToMetrics(
  logs: LogsLike | undefined,
  prefix = '',
  skip?: ReadonlySet<string>,
  names: MetricNames = 'tfjs',
): Promise<Record<string, number>> {
  const metrics: Record<string, number> = {};
  if (!logs) return metrics;
  let pending: Promise<void>[] | undefined;
  for (const key of Object.keys(logs)) {
    if (skip?.has(key)) continue;
    const value = logs[key];
    if (typeof value === 'number') {
      metrics[metricKey(key, prefix, names)] = value;
    } else if (isTensorLike(value)) {
      pending ??= [];
      pending.push(
        value.data().then((data) => {
          const first = data[0];
          if (typeof first === 'number') metrics[metricKey(key, prefix, names)] = first;
        }),
      );
    }
  }
  if (pending) await Promise.all(pending);
  return metrics;
}

/** Reads one log value as a number, or `undefined` when it is not numeric. */
export async function logValue(value: LogValue | undefined): Promise<number | undefined> {
  if (typeof value === 'number') return value;
  if (isTensorLike(value)) return (await value.data())[0];
  return undefined;
}

/**
 * Replaces scalar tensors in `logs` by their numbers and disposes the tensors, as tfjs does before it calls a
 * `CustomCallbackArgs` hook; used before handing logs to plain callbacks this package wraps.
 */
export async function resolveLogsInPlace(logs: LogsLike | undefined): Promise<void> {
  if (!logs) return;
  const keys = Object.keys(logs).filter((key) => isTensorLike(logs[key]));
  if (keys.length === 0) return;
  const tensors = keys.map((key) => logs[key] as Exclude<LogValue, number>);
  const values = await Promise.all(tensors.map((tensor) => tensor.data()));
  keys.forEach((key, index) => {
    logs[key] = values[index]?.[0];
  });
  for (const tensor of tensors) tensor.dispose?.();
}
