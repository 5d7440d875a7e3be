import { MlflowValidationError } from '@mlflow-kit/core';

/** Summary statistics of a histogram, as MLflow metrics. */
export interface HistogramStats {
  min: number;
  max: number;
  mean: number;
  std: number;
  count: number;
  sum: number;
  sumSquares: number;
}

/** A histogram as buckets with explicit edges. */
export interface Buckets {
  /** `count + 1` edges: bucket `i` spans `[edges[i], edges[i + 1]]`. */
  edges: number[];
  counts: number[];
}

/** Throws a typed error naming `tag` unless every value is finite. */
export function assertFinite(tag: string, values: ArrayLike<number>): void {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) {
      throw new MlflowValidationError(
        tag,
        `Histogram ${tag} holds ${values[i]} at index ${i}: histogram data must be finite numbers (drop or clip NaN and ±Infinity first).`,
      );
    }
  }
}

/** min, max, mean, population std, count, sum and sum of squares of finite values. */
export function histogramStats(values: ArrayLike<number>): HistogramStats {
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  let sum = 0;
  let sumSquares = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    if (v < min) min = v;
    if (v > max) max = v;
    sum += v;
    sumSquares += v * v;
  }
  const count = values.length;
  const mean = count > 0 ? sum / count : 0;
  let squared = 0;
  for (let i = 0; i < values.length; i++) squared += ((values[i] as number) - mean) ** 2;
  return {
    min: count > 0 ? min : 0,
    max: count > 0 ? max : 0,
    mean,
    std: count > 0 ? Math.sqrt(squared / count) : 0,
    count,
    sum,
    sumSquares,
  };
}

/** Validates a bucket count with tfjs-node's own words. */
export function assertBucketCount(bucketCount: number): void {
  if (!Number.isInteger(bucketCount) || bucketCount <= 0) {
    throw new Error(`Expected bucket count to be a strictly positive integer, but it was ${bucketCount}`);
  }
}

/**
 * Buckets values exactly as tfjs-node's `NodeJSKernelBackend.buckets` does, in float32: no data gives no
 * bucket; equal values give one bucket `[v - 0.5, v + 0.5]`; otherwise `bucketCount` equal-width buckets from
 * min to max, the last closed on the right.
 */
export function tfjsBuckets(values: ArrayLike<number>, bucketCount = 30): Buckets {
  const n = values.length;
  if (n === 0) return { edges: [], counts: [] };
  assertBucketCount(bucketCount);
  const f = Math.fround;
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < n; i++) {
    const v = f(values[i] as number);
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const range = f(max - min);
  if (range === 0) return { edges: [f(min - 0.5), f(min + 0.5)], counts: [n] };
  const width = f(range / bucketCount);
  const counts = new Array<number>(bucketCount).fill(0);
  for (let i = 0; i < n; i++) {
    const index = Math.min(Math.floor(f(f(f(values[i] as number) - min) / width)), bucketCount - 1);
    counts[index] = (counts[index] as number) + 1;
  }
  const step = f(f(max - min) / bucketCount);
  const edges: number[] = [];
  for (let i = 0; i < bucketCount; i++) edges.push(f(min + f(step * i)));
  edges.push(max);
  return { edges, counts };
}
