import { MlflowValidationError } from '@mlflow-kit/core';

/** torch's floor on `tp + fp` and `tp + fn` when dividing (no 0/0). */
const MINIMUM_COUNT = 1e-7;

/** A precision–recall curve at `numThresholds` evenly spaced thresholds in [0, 1], as TensorBoard stores it. */
export interface PrCurve {
  /** True positives, false positives, true negatives, false negatives, precision, recall: one row each. */
  rows: [number[], number[], number[], number[], number[], number[]];
  /** The thresholds, `i / (numThresholds - 1)`. */
  thresholds: number[];
}

/**
 * torch's `compute_curve`: each prediction lands in bucket `floor(p * (numThresholds - 1))`, the counts are
 * summed from the top threshold down, and precision/recall divide by at least `1e-7`. Predictions must lie in
 * [0, 1] and labels be 0/1 (or booleans); anything else is an {@link MlflowValidationError} naming the tag.
 */
export function computePrCurve(
  tag: string,
  labels: ArrayLike<number>,
  predictions: ArrayLike<number>,
  numThresholds: number,
  weights?: ArrayLike<number>,
): PrCurve {
  if (!Number.isInteger(numThresholds) || numThresholds < 2 || numThresholds > 10_000) {
    throw new MlflowValidationError(
      tag,
      `PR curve ${tag}: numThresholds must be an integer in [2, 10000], got ${numThresholds}.`,
    );
  }
  if (labels.length !== predictions.length || (weights && weights.length !== predictions.length)) {
    throw new MlflowValidationError(
      tag,
      `PR curve ${tag}: labels (${labels.length}), predictions (${predictions.length})${weights ? ` and weights (${weights.length})` : ''} must have the same number of values.`,
    );
  }
  const tpBuckets = new Float64Array(numThresholds);
  const fpBuckets = new Float64Array(numThresholds);
  for (let i = 0; i < predictions.length; i++) {
    const p = predictions[i] as number;
    const label = Number(labels[i]);
    const weight = weights ? (weights[i] as number) : 1;
    if (!(p >= 0 && p <= 1)) {
      throw new MlflowValidationError(
        tag,
        `PR curve ${tag}: prediction ${i} is ${p}; predictions must lie in [0, 1].`,
      );
    }
    if (label !== 0 && label !== 1) {
      throw new MlflowValidationError(
        tag,
        `PR curve ${tag}: label ${i} is ${labels[i]}; labels must be 0 or 1.`,
      );
    }
    if (!Number.isFinite(weight)) {
      throw new MlflowValidationError(
        tag,
        `PR curve ${tag}: weight ${i} is ${weight}; weights must be finite.`,
      );
    }
    const bucket = Math.floor(p * (numThresholds - 1));
    tpBuckets[bucket] = (tpBuckets[bucket] as number) + label * weight;
    fpBuckets[bucket] = (fpBuckets[bucket] as number) + (1 - label) * weight;
  }
  const tp = new Array<number>(numThresholds);
  const fp = new Array<number>(numThresholds);
  let tpSum = 0;
  let fpSum = 0;
  for (let i = numThresholds - 1; i >= 0; i--) {
    tpSum += tpBuckets[i] as number;
    fpSum += fpBuckets[i] as number;
    tp[i] = tpSum;
    fp[i] = fpSum;
  }
  const tn = fp.map((count) => (fp[0] as number) - count);
  const fn = tp.map((count) => (tp[0] as number) - count);
  const precision = tp.map((count, i) => count / Math.max(MINIMUM_COUNT, count + (fp[i] as number)));
  const recall = tp.map((count, i) => count / Math.max(MINIMUM_COUNT, count + (fn[i] as number)));
  const thresholds = Array.from({ length: numThresholds }, (_, i) => i / (numThresholds - 1));
  return { rows: [tp, fp, tn, fn, precision, recall], thresholds };
}
