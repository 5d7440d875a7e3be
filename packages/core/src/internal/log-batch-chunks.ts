import type { KeyValue, LogBatch, Metric } from '../types.js';
import { LIMITS } from '../validation.js';

/** Items waiting to be sent, each list in the order it is to be sent. */
export interface PendingItems {
  params?: ArrayLike<KeyValue>;
  tags?: ArrayLike<KeyValue>;
  metrics?: ArrayLike<Pick<Metric, 'key'>> | QueuedMetricKeys;
}

/** Metric points queued elsewhere (the run queue's columnar chunks), seen through their keys. */
export interface QueuedMetricKeys {
  readonly length: number;
  /** The key of the point `offset` places from the front. */
  peekKey(offset: number): string | undefined;
}

/** How many items from the front of each list of {@link PendingItems} go into one log-batch request. */
export interface ChunkSizes {
  params: number;
  tags: number;
  metrics: number;
}

// Room left in the body for the JSON around the items and the run id.
const BODY_OVERHEAD = 1000;

/** A rough upper bound of an item's JSON size (strings counted by length, a metric's numbers as 24). */
export function itemBytes(key: string, value: string | number): number {
  return key.length + (typeof value === 'string' ? value.length : 24) + 64;
}

/**
 * How many of the pending items, taken from the front of each list, make the next log-batch request
 * within MLflow's limits: at most 100 params and 100 tags, then metrics up to 1000 and up to 1000 items
 * in all, the whole under 1 MB. A param key never appears twice in one request (the server refuses
 * that, even with equal values), so a repeated key starts the next request. One item is always taken,
 * however large, so that the caller never loops without progress; the server judges it.
 */
export function nextChunkSizes(pending: PendingItems): ChunkSizes {
  let budget = LIMITS.maxBatchBytes - BODY_OVERHEAD;
  let entities = 0;
  const fits = (bytes: number): boolean => bytes <= budget || entities === 0;

  const params = pending.params ?? [];
  const paramKeys = new Set<string>();
  let paramCount = 0;
  while (paramCount < LIMITS.maxParamsTagsPerBatch && paramCount < params.length) {
    const next = params[paramCount]!;
    const bytes = itemBytes(next.key, next.value);
    if (!fits(bytes) || paramKeys.has(next.key)) break;
    paramKeys.add(next.key);
    budget -= bytes;
    entities++;
    paramCount++;
  }

  const tags = pending.tags ?? [];
  let tagCount = 0;
  while (tagCount < LIMITS.maxParamsTagsPerBatch && tagCount < tags.length) {
    const next = tags[tagCount]!;
    const bytes = itemBytes(next.key, next.value);
    if (!fits(bytes)) break;
    budget -= bytes;
    entities++;
    tagCount++;
  }

  const metrics = pending.metrics ?? [];
  const metricLimit = Math.min(LIMITS.maxMetricsPerBatch, LIMITS.maxEntitiesPerBatch - entities);
  let metricCount = 0;
  while (metricCount < metricLimit && metricCount < metrics.length) {
    const key = 'peekKey' in metrics ? (metrics.peekKey(metricCount) ?? '') : metrics[metricCount]!.key;
    const bytes = itemBytes(key, 0);
    if (!fits(bytes)) break;
    budget -= bytes;
    entities++;
    metricCount++;
  }
  return { params: paramCount, tags: tagCount, metrics: metricCount };
}

/**
 * Splits params, tags and metrics into log-batch requests within MLflow's limits (see
 * {@link nextChunkSizes}), the way MLflow's Python client does: first requests holding up to 100 params
 * and 100 tags topped up with metrics, then metric-only requests of 1000. Order is kept within each list.
 *
 * @example
 * ```ts
 * for (const request of chunkBatch({ metrics: points })) await store.logBatch(runId, request);
 * ```
 */
export function chunkBatch(batch: LogBatch): LogBatch[] {
  const params = batch.params ?? [];
  const tags = batch.tags ?? [];
  const metrics = batch.metrics ?? [];
  const chunks: LogBatch[] = [];
  let p = 0;
  let t = 0;
  let m = 0;
  while (p < params.length || t < tags.length || m < metrics.length) {
    const sizes = nextChunkSizes({
      params: params.slice(p, p + LIMITS.maxParamsTagsPerBatch),
      tags: tags.slice(t, t + LIMITS.maxParamsTagsPerBatch),
      metrics: metrics.slice(m, m + LIMITS.maxMetricsPerBatch),
    });
    const chunk: LogBatch = {};
    if (sizes.params > 0) chunk.params = params.slice(p, p + sizes.params);
    if (sizes.tags > 0) chunk.tags = tags.slice(t, t + sizes.tags);
    if (sizes.metrics > 0) chunk.metrics = metrics.slice(m, m + sizes.metrics);
    p += sizes.params;
    t += sizes.tags;
    m += sizes.metrics;
    chunks.push(chunk);
  }
  return chunks;
}
