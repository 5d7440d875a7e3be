import { diag, getActiveRun, MlflowConfigError, type Run, resolveEnabled } from '@mlflow-kit/core';
import { applyDebugOption, bridgePrototype } from '@mlflow-kit/core/internal';
import type { MlflowCallbackOptions, TfjsCallback, TfjsModuleInfo } from './internal/callback-options.js';
import { findTfjs } from './internal/find-tfjs.js';
import { FitRecorder, type Host } from './internal/fit-recorder.js';
import { resolveLogsInPlace } from './internal/logs.js';
import { callbackList, isEarlyStopping } from './internal/params.js';
import type {
  BaseCallbackLike,
  CallbackParamsLike,
  CustomCallbackArgsLike,
  EarlyStoppingLike,
  LogsLike,
} from './internal/tfjs-types.js';

export type {
  LogEvery,
  MlflowCallbackOptions,
  TfjsCallback,
  TfjsModuleInfo,
} from './internal/callback-options.js';
export { ERROR_TAG, errorTagValue } from './internal/fit-recorder.js';

// The tfjs side of mlflowCallback: a callback tfjs runs either as a `tf.Callback` or as a plain
// `CustomCallbackArgs` object, the user's callbacks it wraps, and yielding to the event loop. What is recorded
// of a fit, and when, is the FitRecorder's (internal/fit-recorder.ts).

const MARK = Symbol.for('@mlflow-kit/tfjs/callback');
const YIELD_EVERY_MS = 125;
/** Whether a value is a callback made by {@link mlflowCallback} (any copy of this package). */
export function isMlflowCallback(value: unknown): value is MlflowCallback {
  return typeof value === 'object' && value !== null && (value as { [MARK]?: boolean })[MARK] === true;
}

async function noop(): Promise<void> {}

/** Lets the event loop run (timers, sockets), as tfjs' own callback wrapper does every 125 ms. */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

function isBaseCallback(callback: TfjsCallback): callback is BaseCallbackLike {
  return typeof (callback as BaseCallbackLike).setModel === 'function';
}

/**
 * Reports a model built with another copy of tfjs than the `tf` the callback bridges to: that copy's `fit` does
 * not see a `tf.Callback` in this callback, and when it comes first in a list, tfjs then wraps every callback
 * of the list as a plain object, which breaks its own callbacks such as `earlyStopping`.
 */
function warnOnOtherCopy(tf: TfjsModuleInfo | undefined, modelOrWrapper: unknown): void {
  // Called directly, the callback sees the model; wrapped by tfjs as a plain object, it sees tfjs' wrapper.
  if (typeof modelOrWrapper !== 'object' || modelOrWrapper === null) return;
  const wrapper = typeof (modelOrWrapper as { setModel?: unknown }).setModel === 'function';
  const expected = wrapper ? tf?.CustomCallback : tf?.LayersModel;
  if (!expected || Object.prototype.isPrototypeOf.call(expected.prototype, modelOrWrapper)) return;
  diag.once(
    '@mlflow-kit/tfjs:other-copy',
    'warn',
    'mlflowCallback: the model is built with another copy of TensorFlow.js than the `tf` the callback uses, so tfjs may treat its callbacks list as plain objects (tf.callbacks.earlyStopping then fails with "getMonitorValue is not a function"): pass `{ tf }` from the package your model is built with.',
  );
}

/**
 * The callback returned by {@link mlflowCallback}. It works both ways tfjs runs callbacks: as a
 * `CustomCallbackArgs` object (tfjs wraps it, and hands the hooks the wrapper as `this`) and as a `tf.Callback`
 * in a list with tfjs' own callbacks.
 */
export class MlflowCallback {
  /** Set by tfjs when the callback sits directly in its callback list. */
  model: unknown = undefined;
  /** Set by tfjs when the callback sits directly in its callback list. */
  params: CallbackParamsLike = {};
  /** Part of tfjs' callback protocol; unused. */
  validationData: unknown = null;
  /** tfjs hook: starts the run if needed, logs params, tags and the model summary. */
  readonly onTrainBegin: (logs?: LogsLike) => Promise<void>;
  /** tfjs hook: starts the epoch timer. */
  readonly onEpochBegin: (epoch: number, logs?: LogsLike) => Promise<void>;
  /** tfjs hook: logs the epoch's metrics at step = epoch. */
  readonly onEpochEnd: (epoch: number, logs?: LogsLike) => Promise<void>;
  /** tfjs hook, present only when batches are logged or a wrapped callback wants them. */
  declare readonly onBatchBegin?: (batch: number, logs?: LogsLike) => Promise<void>;
  /** tfjs hook, present only when batches are logged or a wrapped callback wants them. */
  declare readonly onBatchEnd?: (batch: number, logs?: LogsLike) => Promise<void>;
  /** tfjs hook: early-stopping result, the model, and the end of a run the callback started. */
  readonly onTrainEnd: (logs?: LogsLike) => Promise<void>;
  /** tfjs hook, forwarded to wrapped callbacks that have it. */
  declare readonly onYield?: (epoch: number, batch: number, logs: LogsLike) => Promise<void>;

  private readonly options: MlflowCallbackOptions;
  private readonly inner: TfjsCallback[];
  private readonly earlyStopping: EarlyStoppingLike | undefined;
  private readonly every: number;
  private readonly recorder: FitRecorder;

  constructor(options: MlflowCallbackOptions = {}) {
    // Found now, synchronously: tfjs decides whether a callbacks list holds real callbacks from its first element.
    this.options = options.tf ? options : { ...options, tf: findTfjs() };
    const logEvery = options.logEvery ?? 'epoch';
    this.every = logEvery === 'epoch' ? 0 : logEvery === 'batch' ? 1 : logEvery;
    if (
      typeof logEvery === 'number'
        ? !Number.isInteger(logEvery) || logEvery < 1
        : !['epoch', 'batch'].includes(logEvery)
    ) {
      throw new MlflowConfigError(
        `logEvery is ${String(logEvery)}: pass 'epoch', 'batch' or a whole number of batches of at least 1.`,
        {
          setting: 'logEvery',
        },
      );
    }
    if (
      options.metricNames !== undefined &&
      options.metricNames !== 'tfjs' &&
      options.metricNames !== 'keras'
    ) {
      throw new MlflowConfigError(
        `metricNames is ${String(options.metricNames)}: pass 'tfjs' (names as tfjs reports them) or 'keras' (accuracy, val_accuracy, ...).`,
        { setting: 'metricNames' },
      );
    }
    this.inner = callbackList(options.callbacks) as TfjsCallback[];
    (this as unknown as Record<symbol, boolean>)[MARK] = true;
    const bridged = typeof this.options.tf?.Callback?.prototype === 'object';
    if (!bridged && options.model === undefined && this.inner.some(isBaseCallback)) {
      throw new MlflowConfigError(
        'mlflowCallback wraps tf.Callback objects (such as earlyStopping) only when it knows the model: pass `tf` (recommended) or `model`.',
        { setting: 'tf' },
      );
    }
    const candidates = [...this.inner, ...callbackList(options.fitArgs?.callbacks)];
    this.earlyStopping = candidates.find((callback): callback is EarlyStoppingLike =>
      isEarlyStopping(callback, this.options.tf?.EarlyStopping),
    );
    this.recorder = new FitRecorder(this.options, this.every, this.earlyStopping);
    // As a tf.Callback the batch hook is always there (see below) and `batchEnd` decides at train time whether
    // a run records. As a plain object it is decided now, because tfjs reads the hooks when fit starts: a batch
    // hook makes tfjs' wrapper read every batch's logs back from the backend, which is worth it only when
    // batches are logged.
    const logBatches =
      this.every > 0 &&
      (bridged ||
        (options.run
          ? options.run.isRecording
          : getActiveRun() !== undefined || resolveEnabled(options).enabled));

    const self = this;
    const hostOf = (target: unknown): Host =>
      typeof target === 'object' && target !== null ? (target as Host) : self;
    let lastYield = performance.now();
    this.onTrainBegin = async function (this: unknown, logs?: LogsLike) {
      const host = hostOf(this);
      if (bridged) warnOnOtherCopy(self.options.tf, host === self ? host.model : host);
      await self.recorder.trainBegin(host);
      await self.guard(async () => {
        for (const callback of self.inner) {
          if (isBaseCallback(callback)) {
            callback.setParams(host.params ?? {});
            callback.setModel(self.options.model ?? host.model);
            await callback.onTrainBegin?.(logs);
          } else {
            await resolveLogsInPlace(logs);
            await callback.onTrainBegin?.call(host, logs);
          }
        }
      });
    };
    this.onEpochBegin = async function (this: unknown, epoch: number, logs?: LogsLike) {
      self.recorder.epochBegin();
      await self.guard(() => self.forward(hostOf(this), 'onEpochBegin', epoch, logs));
    };
    this.onEpochEnd = async function (this: unknown, epoch: number, logs?: LogsLike) {
      await self.guard(() => self.forward(hostOf(this), 'onEpochEnd', epoch, logs));
      await self.recorder.epochEnd(epoch, logs);
    };
    if (this.inner.some((callback) => callback.onBatchBegin)) {
      this.onBatchBegin = async function (this: unknown, batch: number, logs?: LogsLike) {
        await self.guard(() => self.forward(hostOf(this), 'onBatchBegin', batch, logs));
      };
    }
    // As a tf.Callback the hook costs one call per batch (tfjs passes tensors, read only when logged), and it
    // has to yield to the event loop as tfjs' wrapper of plain callbacks would.
    if (bridged || logBatches || this.inner.some((callback) => callback.onBatchEnd)) {
      this.onBatchEnd = async function (this: unknown, batch: number, logs?: LogsLike) {
        await self.guard(() => self.forward(hostOf(this), 'onBatchEnd', batch, logs));
        if (logBatches) await self.recorder.batchEnd(logs);
        if (bridged && performance.now() - lastYield >= YIELD_EVERY_MS) {
          await nextTurn();
          lastYield = performance.now();
        }
      };
    }
    this.onTrainEnd = async function (this: unknown, logs?: LogsLike) {
      await self.guard(() => self.forward(hostOf(this), 'onTrainEnd', logs));
      await self.recorder.trainEnd(hostOf(this));
    };
    const yielders = this.inner.filter(
      (callback): callback is CustomCallbackArgsLike => !isBaseCallback(callback) && !!callback.onYield,
    );
    if (yielders.length > 0) {
      this.onYield = async function (this: unknown, epoch: number, batch: number, logs: LogsLike) {
        await self.guard(async () => {
          for (const callback of yielders) await callback.onYield?.call(hostOf(this), epoch, batch, logs);
        });
      };
    }
    if (bridged)
      Object.setPrototypeOf(this, bridgePrototype(this.options.tf!.Callback!.prototype, MlflowCallback));
  }

  /** Part of tfjs' callback protocol. */
  setModel(model: unknown): void {
    this.model = model;
    this.completeHooks();
  }

  /** Part of tfjs' callback protocol. */
  setParams(params: CallbackParamsLike): void {
    this.params = params;
    this.completeHooks();
  }

  /**
   * tfjs calls `setModel`/`setParams` only on callbacks that sit directly in its callback list, and that list
   * calls every hook; hooks left out to spare tfjs' wrapper from reading batch logs become no-ops here.
   */
  private completeHooks(): void {
    const hooks = this as unknown as Record<string, unknown>;
    for (const hook of ['onBatchBegin', 'onBatchEnd']) hooks[hook] ??= noop;
  }

  /** The run of the current (or last) `fit`, once training has begun; `undefined` when nothing is recorded. */
  get run(): Run | undefined {
    return this.recorder.run;
  }

  /**
   * Runs the wrapped callbacks' part of a hook. tfjs does not call `onTrainEnd` after an error, so when one of
   * them throws and this callback started the run, the run is ended FAILED (with {@link ERROR_TAG}) here,
   * and the error goes on into `fit`.
   */
  private async guard(body: () => Promise<void>): Promise<void> {
    try {
      await body();
    } catch (error) {
      await this.recorder.fail(error);
      throw error;
    }
  }

  /**
   * Stops watching the `tf.data.Dataset`s of the current training, for a `fit` that failed inside tfjs (which
   * then calls no callback): `autolog` calls it; the datasets seen so far are still logged.
   */
  stopWatchingDatasets(): void {
    this.recorder.stopWatchingDatasets();
  }

  private async forward(
    host: Host,
    hook: 'onEpochBegin' | 'onEpochEnd' | 'onBatchBegin' | 'onBatchEnd',
    index: number,
    logs?: LogsLike,
  ): Promise<void>;
  private async forward(host: Host, hook: 'onTrainEnd', logs?: LogsLike): Promise<void>;
  private async forward(host: Host, hook: string, ...args: unknown[]): Promise<void> {
    for (const callback of this.inner) {
      const fn = (callback as unknown as Record<string, ((...inner: unknown[]) => unknown) | undefined>)[
        hook
      ];
      if (!fn) continue;
      if (isBaseCallback(callback)) {
        await fn.apply(callback, args);
      } else {
        // Plain hooks get numbers, as tfjs gives them.
        await resolveLogsInPlace(args[args.length - 1] as LogsLike | undefined);
        await fn.apply(host, args);
      }
    }
  }
}

/**
 * A `model.fit`/`model.fitDataset` callback that logs the training to MLflow, named as MLflow's Keras autolog
 * names things: params at train begin (epochs, batch size, optimizer config, model size, early stopping),
 * every epoch's metrics (step = epoch index) and optionally batch metrics, `model_summary.txt`, tags for the
 * tfjs version and backend, and the trained model at train end.
 *
 * It logs to `options.run`, else the active run, else a run it starts (when tracking is on) and ends at train
 * end. It never throws into training: logging failures are reported once through core's `diag`.
 *
 * When a callback it wraps throws, the error goes on into `fit`; a run the callback started is first ended
 * FAILED, with the error in the `mlflow-kit.error` tag ({@link ERROR_TAG}). Errors thrown by tfjs itself,
 * outside the callbacks, never reach the callback (tfjs does not call `onTrainEnd` then), so its run would stay
 * open: only {@link autolog} and core's `withRun` catch those and end the run FAILED — wrap `fit` in `withRun`
 * when using the callback on its own.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-node';
 * import { withRun } from '@mlflow-kit/core';
 * import { mlflowCallback } from '@mlflow-kit/tfjs';
 *
 * await withRun({ experimentName: 'iris' }, async () => {
 *   await model.fit(xs, ys, {
 *     epochs: 50,
 *     validationSplit: 0.2,
 *     callbacks: mlflowCallback({ tf, callbacks: [tf.callbacks.earlyStopping({ patience: 3 })] }),
 *   });
 * });
 * ```
 */
export function mlflowCallback(options: MlflowCallbackOptions = {}): MlflowCallback {
  applyDebugOption(options.debug);
  return new MlflowCallback(options);
}
