import { sanitizeKey } from '@mlflow-kit/core';
import type { LogsLike, LogValue } from './tfjs-types.js';

const keyCache = new Map<string, string>();

/** The MLflow key for a tfjs log key: the same key when valid, else a sanitized one (cached: it runs per batch). */
export function metricKey(key: string, prefix = ''): string {
  const full = prefix + key;
  let cached = keyCache.get(full);
  if (cached === undefined) {
    cached = sanitizeKey(full);
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
): Promise<Record<string, number>> {
  const metrics: Record<string, number> = {};
  if (!logs) return metrics;
  let pending: Promise<void>[] | undefined;
  for (const key of Object.keys(logs)) {
    if (skip?.has(key)) continue;
    const value = logs[key];
    if (typeof value === 'number') {
      metrics[metricKey(key, prefix)] = value;
    } else if (isTensorLike(value)) {
      pending ??= [];
      pending.push(
        value.data().then((data) => {
          const first = data[0];
          if (typeof first === 'number') metrics[metricKey(key, prefix)] = first;
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
