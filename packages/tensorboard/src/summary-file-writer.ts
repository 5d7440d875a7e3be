import { diag, MlflowValidationError } from '@mlflow-kit/core';
import { assertFinite, histogramStats, tfjsBuckets } from './internal/histogram.js';
import { assertStep, LogdirSink, type LogdirSinkOptions } from './internal/logdir-sink.js';
import { nodePlatform } from './internal/node-platform.js';
import type { RunBindingOptions } from './internal/run-binding.js';
import { type NumericData, readNumbers, type TensorLike } from './internal/tensor-like.js';

/**
 * The drop-in for tfjs-node's `SummaryFileWriter`: the same methods, arguments and errors. Each call writes
 * a TensorBoard event (queued, written in batches) and sends the value to MLflow (see the package README
 * for the mapping). Get one with {@link summaryFileWriter}.
 */
export class SummaryFileWriter {
  /** @internal */
  constructor(
    /** @internal */
    readonly sink: LogdirSink,
  ) {}

  /**
   * Writes a scalar, as tfjs-node does: `value` a number or a rank-0 tensor, `step` an integer. `description`
   * is not supported (tfjs-node throws for it too).
   */
  scalar(name: string, value: TensorLike | number, step: number, description?: string): void {
    if (description != null) throw new Error('scalar() does not support description yet');
    assertTfjsStep(name, step);
    let number: number;
    if (typeof value === 'number') number = value;
    else {
      if (value.rank !== 0) {
        throw new Error(`A non-scalar tensor (rank ${value.rank}) is passed to writeScalarSummary()`);
      }
      number = Number(value.dataSync()[0]);
    }
    this.sink.scalar(name, number, step, Date.now() / 1000);
  }

  /**
   * Writes a histogram of every element of `data` (a tensor of any shape, or an array), bucketed as tfjs-node
   * does: `buckets` equal-width buckets (default 30), one bucket when all values are equal, none for no data.
   * Non-finite values are refused with an {@link MlflowValidationError} naming the tag.
   */
  histogram(name: string, data: NumericData, step: number, buckets?: number, description?: string): void {
    assertTfjsStep(name, step);
    const { values } = readNumbers(data);
    if (values.length > 0) assertFinite(name, values);
    const computed = tfjsBuckets(values, buckets ?? 30);
    this.sink.histogram(
      name,
      computed,
      histogramStats(values),
      step,
      Date.now() / 1000,
      'tensor',
      description ?? undefined,
    );
  }

  /**
   * Writes the queued events to disk now (as tfjs-node's `flush()`), and returns a promise that resolves when
   * MLflow has received everything logged so far (tfjs-style callers can ignore it).
   */
  flush(): Promise<void> {
    return this.sink.flush().catch((error: unknown) => {
      diag.warn(`@mlflow-kit/tensorboard flush failed: ${String(error)}`);
    });
  }
}

/**
 * tfjs-node passes the step as its `Int64Scalar`, which accepts only (-2^31, 2^31 - 1): a step outside is
 * refused there, with this message, before anything is written. The drop-in refuses it the same way (typed,
 * naming the tag), so a script cannot depend on steps tfjs-node would reject.
 */
function assertTfjsStep(tag: string, step: number): void {
  assertStep(tag, step);
  if (!(step > -INT32_MAX && step < INT32_MAX - 1)) {
    throw new MlflowValidationError(
      tag,
      `Got a value outside of the bound of values supported for int64 dtype ([-${INT32_MAX}, ${INT32_MAX - 1}]): ${step}`,
    );
  }
}
const INT32_MAX = 2 ** 31;

const cache = new Map<string, SummaryFileWriter>();

/** The cached writer of a log directory, created with `options` on first use. */
export function cachedSummaryFileWriter(
  logdir: string,
  options: Omit<LogdirSinkOptions, 'platform'>,
): SummaryFileWriter {
  if (logdir == null || typeof logdir !== 'string' || logdir.length === 0) {
    throw new Error(`Invalid logdir: ${logdir}. Expected a non-empty string for logdir.`);
  }
  let writer = cache.get(logdir);
  if (!writer) {
    writer = new SummaryFileWriter(new LogdirSink(logdir, { ...options, platform: nodePlatform }));
    cache.set(logdir, writer);
  }
  return writer;
}

/**
 * Creates (or returns the cached) summary writer of a log directory: the drop-in for tfjs-node's
 * `tf.node.summaryFileWriter`, with the same arguments. It writes real TensorBoard event files — also with
 * tracking off — and, when tracking is on, logs to the active MLflow run or to a run of the log directory's
 * own (a `train`/`val`/... directory shares its parent's run, under a `train/`/`val/` key prefix).
 *
 * @param logdir - Log directory of the event files.
 * @param maxQueue - Queued events that trigger a write to disk. @defaultValue `10`
 * @param flushMillis - Milliseconds between background writes. @defaultValue `120000`
 * @param filenameSuffix - Suffix of the event file names. @defaultValue `'.v2'`
 * @param options - Tracking options (not in tfjs-node): the run, experiment, `enabled`, ...
 *
 * @example
 * ```ts
 * import { summaryFileWriter } from '@mlflow-kit/tensorboard'; // was: tf.node.summaryFileWriter
 *
 * const writer = summaryFileWriter('/tmp/logs/train');
 * for (let step = 0; step < 100; ++step) writer.scalar('loss', Math.exp(-step / 20), step);
 * writer.flush();
 * ```
 */
export function summaryFileWriter(
  logdir: string,
  maxQueue = 10,
  flushMillis = 120_000,
  filenameSuffix = '.v2',
  options: RunBindingOptions = {},
): SummaryFileWriter {
  return cachedSummaryFileWriter(logdir, { ...options, maxQueue, flushMillis, filenameSuffix });
}
