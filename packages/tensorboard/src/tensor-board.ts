import { join } from 'node:path';
import { bridgePrototype } from '@mlflow-kit/core/internal';
import type { RunBindingOptions } from './internal/run-binding.js';
import type { TensorLike } from './internal/tensor-like.js';
import { cachedSummaryFileWriter, type SummaryFileWriter } from './summary-file-writer.js';

/** The part of a tfjs `LayersModel` the callback reads: its weights, for histograms. */
export interface ModelWeightsLike {
  readonly weights: ReadonlyArray<{ readonly name: string; read(): TensorLike }>;
}

/** Logs of a tfjs callback hook: numbers (or scalar tensors) by metric name. */
export type CallbackLogs = Record<string, number | TensorLike>;

/** Arguments of {@link tensorBoard}: tfjs-node's `TensorBoardCallbackArgs`, plus tracking options. */
export interface TensorBoardCallbackArgs extends RunBindingOptions {
  /** `'batch'` also writes `batch_<key>` scalars after every batch. @defaultValue `'epoch'` */
  updateFreq?: 'batch' | 'epoch';
  /** Write weight histograms every this many epochs; `0` never. @defaultValue `0` */
  histogramFreq?: number;
  /**
   * The `tf` module. With it the callback is a real `tf.Callback` (as tfjs-node's is), so tfjs hands it the
   * model and it mixes with tfjs' own callbacks in any order. Without it, it is a plain callback object: put it
   * after any `tf.callbacks.earlyStopping()` in the list, and pass `model` for weight histograms.
   */
  tf?: { Callback: { prototype: object } };
  /** The model whose weights are histogrammed, when tfjs does not hand it over (no `tf`). */
  model?: ModelWeightsLike;
}

/**
 * The callback returned by {@link tensorBoard}: tfjs-node's `TensorBoardCallback`, step for step. Train
 * metrics go to `<logdir>/train`, `val_` metrics (prefix stripped) to `<logdir>/val`, as `epoch_<key>` at
 * step `epoch + 1` and, with `updateFreq: 'batch'`, `batch_<key>` at the count of batches seen; weight
 * histograms at step `epoch` every `histogramFreq` epochs.
 */
export class TensorBoardCallback {
  /** The model, set by tfjs (or given as `args.model`). */
  model: ModelWeightsLike | null;
  /** Set by tfjs; unused. */
  params: Record<string, unknown> = {};
  /** Part of tfjs' callback protocol; unused. */
  validationData: unknown = null;
  /** Batches seen across epochs (the step of batch scalars). */
  batchesSeen = 0;
  /** The normalised arguments. */
  readonly args: Required<Pick<TensorBoardCallbackArgs, 'updateFreq' | 'histogramFreq'>>;
  private trainWriter: SummaryFileWriter | undefined;
  private valWriter: SummaryFileWriter | undefined;
  private readonly tracking: RunBindingOptions;

  /** tfjs hook: writes `batch_<key>` scalars when `updateFreq` is `'batch'`. */
  readonly onBatchEnd = async (_batch: number, logs?: CallbackLogs): Promise<void> => {
    this.batchesSeen++;
    if (this.args.updateFreq !== 'epoch') this.logMetrics(logs, 'batch_', this.batchesSeen);
  };

  /** tfjs hook: writes `epoch_<key>` scalars and, every `histogramFreq` epochs, weight histograms. */
  readonly onEpochEnd = async (epoch: number, logs?: CallbackLogs): Promise<void> => {
    this.logMetrics(logs, 'epoch_', epoch + 1);
    if (this.args.histogramFreq > 0 && epoch % this.args.histogramFreq === 0) this.logWeights(epoch);
  };

  /** tfjs hook: flushes both writers. */
  readonly onTrainEnd = async (_logs?: CallbackLogs): Promise<void> => {
    await Promise.all([this.trainWriter?.flush(), this.valWriter?.flush()]);
  };

  constructor(
    /** The log directory. */
    readonly logdir = './logs',
    args: TensorBoardCallbackArgs = {},
  ) {
    const { updateFreq = 'epoch', histogramFreq = 0, tf, model, ...tracking } = args;
    if (updateFreq !== 'batch' && updateFreq !== 'epoch') {
      throw new Error(`Expected updateFreq to be 'batch' or 'epoch', but got ${updateFreq}`);
    }
    if (!Number.isInteger(histogramFreq) || histogramFreq < 0) {
      throw new Error(`Expected histogramFreq to be a positive integer, but got ${histogramFreq}`);
    }
    this.args = { updateFreq, histogramFreq };
    this.model = model ?? null;
    this.tracking = tracking;
    if (tf?.Callback)
      Object.setPrototypeOf(this, bridgePrototype(tf.Callback.prototype, TensorBoardCallback));
  }

  /** Called by tfjs with the model being trained. */
  setModel(model: unknown): void {
    this.model = model as ModelWeightsLike;
  }

  /** Called by tfjs with the fit parameters. */
  setParams(params: Record<string, unknown>): void {
    this.params = params;
  }

  private writer(name: 'train' | 'val'): SummaryFileWriter {
    return cachedSummaryFileWriter(join(this.logdir, name), {
      ...this.tracking,
      maxQueue: 10,
      flushMillis: 120_000,
      filenameSuffix: '.v2',
    });
  }

  private logMetrics(logs: CallbackLogs | undefined, prefix: string, step: number): void {
    for (const key in logs) {
      if (key === 'batch' || key === 'size' || key === 'num_steps') continue;
      const value = logs[key] as number | TensorLike;
      if (key.startsWith('val_')) {
        this.valWriter ??= this.writer('val');
        this.valWriter.scalar(prefix + key.slice(4), value, step);
      } else {
        this.trainWriter ??= this.writer('train');
        this.trainWriter.scalar(`${prefix}${key}`, value, step);
      }
    }
  }

  private logWeights(step: number): void {
    if (!this.model) return;
    this.trainWriter ??= this.writer('train');
    for (const weights of this.model.weights) this.trainWriter.histogram(weights.name, weights.read(), step);
  }
}

/**
 * The drop-in for tfjs-node's `tf.node.tensorBoard(logdir?, args?)`: a `model.fit` callback writing the same
 * TensorBoard tags and steps (in pure TypeScript, no native addon), and logging them to MLflow as
 * `train/epoch_loss`, `val/epoch_loss`, ... when tracking is on.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs';
 * import { tensorBoard } from '@mlflow-kit/tensorboard';
 *
 * await model.fit(xs, ys, { epochs: 5, validationSplit: 0.2, callbacks: [tensorBoard('./logs', { tf })] });
 * ```
 */
export function tensorBoard(logdir = './logs', args?: TensorBoardCallbackArgs): TensorBoardCallback {
  return new TensorBoardCallback(logdir, args);
}
