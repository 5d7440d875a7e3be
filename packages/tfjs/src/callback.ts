import {
  diag,
  getActiveRun,
  type LogMetricOptions,
  MlflowConfigError,
  type ParamValue,
  type Run,
  redactText,
  resolveEnabled,
  type StartRunOptions,
  startRun,
} from '@mlflow-kit/core';
import { applyDebugOption, bridgePrototype } from '@mlflow-kit/core/internal';
import {
  currentBackend,
  type DatasetLogging,
  logDatasets,
  type TrainingDataLike,
} from './internal/datasets.js';
import { findTfjs } from './internal/find-tfjs.js';
import type { ModelMetrics } from './internal/logged-model.js';
import { logsToMetrics, logValue, type MetricNames, resolveLogsInPlace } from './internal/logs.js';
import {
  callbackList,
  earlyStoppingParams,
  isEarlyStopping,
  modelParams,
  optimizerParams,
  trainingParams,
} from './internal/params.js';
import { type TfjsInfoSource, tfjsBackend, tfjsVersion } from './internal/tfjs-info.js';
import type {
  BaseCallbackLike,
  CallbackParamsLike,
  CustomCallbackArgsLike,
  EarlyStoppingLike,
  FitArgsLike,
  LayersModelLike,
  LogsLike,
} from './internal/tfjs-types.js';
import { logModel } from './log-model.js';

/** How often metrics are logged: per epoch only, or per epoch and also every batch / every N batches. */
export type LogEvery = 'epoch' | 'batch' | number;

/** A callback tfjs accepts in `fit`/`fitDataset`: a `tf.Callback` (such as `tf.callbacks.earlyStopping()`) or a `CustomCallbackArgs` object. */
export type TfjsCallback = BaseCallbackLike | CustomCallbackArgsLike;

/** What the `tf` module offers the callback: version and backend for tags, the `EarlyStopping` class to recognise it. */
export interface TfjsModuleInfo extends TfjsInfoSource {
  /** `tf.Callback`: the callback extends it, so tfjs hands it the model. */
  Callback?: { prototype: object };
  /** `tf.EarlyStopping`, to recognise early stopping by class. */
  EarlyStopping?: unknown;
  /** `tf.LayersModel`, to tell whether the model being trained comes from this copy of tfjs. */
  LayersModel?: { prototype: object };
  /** `tf.CustomCallback`, to tell whether this copy of tfjs wrapped the callback as a plain object. */
  CustomCallback?: { prototype: object };
}

const MARK = Symbol.for('@mlflow-kit/tfjs/callback');

/** The error tag set on a run that `autolog` or `mlflowCallback` ended FAILED. */
export const ERROR_TAG = 'mlflow-kit.error';

/** The value of {@link ERROR_TAG} for an error: `Name: message`. */
export function errorTagValue(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
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

/** Options of {@link mlflowCallback}. The {@link StartRunOptions} apply when the callback has to start a run itself. */
export interface MlflowCallbackOptions extends StartRunOptions {
  /**
   * The run to log to. Without it, the callback logs to the active run at train begin, or starts a run (when
   * tracking is on) that it ends at train end.
   */
  run?: Run;
  /**
   * `'epoch'` logs every key tfjs reports at epoch end (step = epoch index). `'batch'` or a number `N` also logs
   * the batch logs every N batches as `batch_<key>` (step = global batch count, counted from 1).
   * @defaultValue `'epoch'`
   */
  logEvery?: LogEvery;
  /**
   * How metrics are named. `'tfjs'`: as tfjs reports them (`acc`, `val_acc`, `meanSquaredError`). `'keras'`: as
   * Keras (and so MLflow's Keras autolog) names them (`accuracy`, `val_accuracy`, `mean_squared_error`), so tfjs
   * and Keras runs share charts in the MLflow UI. See the package README for the mapping.
   * @defaultValue `'tfjs'`
   */
  metricNames?: MetricNames;
  /** Log the trained model at train end (see {@link logModel}). @defaultValue `true` */
  logModel?: boolean;
  /** Where the model goes in the run's artifacts. @defaultValue `'model'` */
  artifactPath?: string;
  /** Register the logged model under this name (needs a tracking server). */
  registeredModelName?: string;
  /** Log the model summary as `model_summary.txt`. @defaultValue `true` */
  logModelSummary?: boolean;
  /**
   * Your other callbacks — a list, one `tf.Callback` or one `CustomCallbackArgs` object. They run inside this
   * callback, so tfjs' own callbacks and plain objects can be mixed, and a `tf.callbacks.earlyStopping()`
   * among them is logged.
   */
  callbacks?: TfjsCallback | TfjsCallback[];
  /**
   * The arguments given to `fit`/`fitDataset`. Callbacks only learn epochs, batch size and steps from tfjs;
   * pass the same object you pass to `fit` to also log `validation_split`, `shuffle`, `class_weight`, ...
   * (`autolog()` does this for you).
   */
  fitArgs?: FitArgsLike;
  /**
   * The model to log. tfjs hands callbacks the model being trained; for a `tf.Sequential` that is its inner
   * functional model, which predicts the same but is saved as a `Model`. Pass the `Sequential` to log it as is.
   */
  model?: unknown;
  /**
   * The `tf` module your model is built with. The callback is a real `tf.Callback` of it, so it works in any
   * position of a `callbacks` list and tfjs hands it the model being trained.
   * @defaultValue the TensorFlow.js already loaded in the program (`@tensorflow/tfjs-node` preferred), else
   * `@tensorflow/tfjs-node` or `@tensorflow/tfjs` loaded from the working directory; when there is none,
   * `mlflowCallback` throws a `MlflowConfigError` at once. Pass it when the program loads several copies of tfjs.
   */
  tf?: TfjsModuleInfo;
  /** `'fit'` or `'fitDataset'`, when known (autolog passes it). Decides which fit params apply. */
  fitKind?: 'fit' | 'fitDataset';
  /**
   * Log the training and validation data as MLflow datasets (the run's "Datasets" in the UI), as Keras
   * autolog does: the training data as context `train`, `fitArgs.validationData` as `eval`. Each gets
   * MLflow's digest (the same as Python's for the same numbers), a tensor-spec schema and a profile.
   * @defaultValue `true`
   */
  logDatasets?: boolean;
  /**
   * What `fit` trains on, for the `train` dataset: `{ x, y }` as given to `fit(x, y)`, or the
   * `tf.data.Dataset` given to `fitDataset` (watched while training iterates it, never iterated twice).
   * `autolog()` passes it for you. Without it only `fitArgs.validationData` is logged.
   */
  trainingData?: TrainingDataLike;
}

const BATCH_KEYS: ReadonlySet<string> = new Set(['batch', 'size']);
const OWN_OPTIONS = new Set([
  'run',
  'metricNames',
  'logEvery',
  'logModel',
  'artifactPath',
  'registeredModelName',
  'logModelSummary',
  'callbacks',
  'fitArgs',
  'model',
  'tf',
  'fitKind',
  'logDatasets',
  'trainingData',
]);

interface Host {
  model?: unknown;
  params?: CallbackParamsLike;
}

interface FitState {
  run: Run | undefined;
  ownsRun: boolean;
  model: LayersModelLike | undefined;
  epochStart: number;
  lastEpoch: number;
  /** The last epoch's metrics, which the logged model carries. */
  lastMetrics: ModelMetrics | undefined;
  globalBatch: number;
  batchSizeKnown: boolean;
  pending: Promise<unknown>[];
  datasets: DatasetLogging | undefined;
}

function isBaseCallback(callback: TfjsCallback): callback is BaseCallbackLike {
  return typeof (callback as BaseCallbackLike).setModel === 'function';
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function report(phase: string, error: unknown): void {
  diag.once(
    `@mlflow-kit/tfjs:${phase}`,
    'warn',
    `mlflowCallback could not ${phase}; training goes on without it: ${message(error)}`,
  );
}

/**
 * Logs metrics one key at a time after a refused key, so one bad key does not drop the others. Returns the
 * metrics the run took (the logged model carries only those).
 */
function logMetricsSafely(
  run: Run,
  metrics: Record<string, number>,
  options: LogMetricOptions,
): Record<string, number> {
  try {
    run.logMetrics(metrics, options);
    return metrics;
  } catch {
    const logged: Record<string, number> = {};
    for (const [key, value] of Object.entries(metrics)) {
      try {
        run.logMetric(key, value, options);
        logged[key] = value;
      } catch (error) {
        report('log a metric', error);
      }
    }
    return logged;
  }
}

/** Logs params one call at a time after a conflict, so one changed value does not drop the others. */
function logParamsSafely(run: Run, params: Record<string, ParamValue>): void {
  try {
    run.logParams(params);
  } catch {
    for (const [key, value] of Object.entries(params)) {
      try {
        run.logParam(key, value);
      } catch (error) {
        report(`log param ${redactText(key)}`, error);
      }
    }
  }
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

function modelSummary(model: LayersModelLike): string {
  const lines: string[] = [];
  model.summary(undefined, undefined, (line?: unknown) => lines.push(String(line ?? '')));
  return `${lines.join('\n')}\n`;
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
  private state: FitState | undefined;

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
      await self.trainBegin(host);
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
      if (self.state) self.state.epochStart = performance.now();
      await self.guard(() => self.forward(hostOf(this), 'onEpochBegin', epoch, logs));
    };
    this.onEpochEnd = async function (this: unknown, epoch: number, logs?: LogsLike) {
      await self.guard(() => self.forward(hostOf(this), 'onEpochEnd', epoch, logs));
      await self.epochEnd(epoch, logs);
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
        if (logBatches) await self.batchEnd(logs);
        if (bridged && performance.now() - lastYield >= YIELD_EVERY_MS) {
          await nextTurn();
          lastYield = performance.now();
        }
      };
    }
    this.onTrainEnd = async function (this: unknown, logs?: LogsLike) {
      await self.guard(() => self.forward(hostOf(this), 'onTrainEnd', logs));
      await self.trainEnd(hostOf(this));
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
    return this.state?.run;
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
      await this.fail(error);
      throw error;
    }
  }

  private async fail(error: unknown): Promise<void> {
    const state = this.state;
    state?.datasets?.finish();
    if (!state?.run || !state.ownsRun) return;
    state.ownsRun = false;
    const { run } = state;
    try {
      run.setTag(ERROR_TAG, errorTagValue(error));
    } catch {
      // The run still ends FAILED below.
    }
    await Promise.allSettled(state.pending);
    try {
      await run.end({ status: 'FAILED' });
    } catch (endError) {
      report('end the run', endError);
    }
  }

  /**
   * Stops watching the `tf.data.Dataset`s of the current training, for a `fit` that failed inside tfjs (which
   * then calls no callback): `autolog` calls it; the datasets seen so far are still logged.
   */
  stopWatchingDatasets(): void {
    this.state?.datasets?.finish();
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

  private async trainBegin(host: Host): Promise<void> {
    const state: FitState = {
      run: undefined,
      ownsRun: false,
      model: (this.options.model ?? host.model) as LayersModelLike | undefined,
      epochStart: performance.now(),
      lastEpoch: -1,
      lastMetrics: undefined,
      globalBatch: 0,
      batchSizeKnown: false,
      pending: [],
      datasets: undefined,
    };
    this.state = state;
    try {
      let run = this.options.run ?? getActiveRun();
      if (!run && resolveEnabled(this.options).enabled) {
        run = await startRun(this.startRunOptions());
        state.ownsRun = run.isRecording;
      }
      if (!run?.isRecording) return;
      state.run = run;
    } catch (error) {
      report('start a run', error);
      return;
    }
    const { run } = state;
    if (!state.model) {
      diag.once(
        '@mlflow-kit/tfjs:no-model',
        'warn',
        'mlflowCallback does not see the model, so its params, summary and files are not logged: pass `tf` (recommended) or `model` to mlflowCallback.',
      );
    }
    try {
      const model = state.model;
      const kind =
        this.options.fitKind ??
        (host.params?.batchSize === null || host.params?.batchSize === undefined ? 'fitDataset' : 'fit');
      const params = trainingParams(kind, this.options.fitArgs, host.params);
      state.batchSizeKnown = params.batch_size !== undefined;
      Object.assign(params, optimizerParams(model?.optimizer));
      if (model) Object.assign(params, modelParams(model));
      if (this.earlyStopping) Object.assign(params, earlyStoppingParams(this.earlyStopping));
      logParamsSafely(run, params);
      const tags: Record<string, string> = {};
      const version = tfjsVersion(this.options.tf);
      const backend = tfjsBackend(this.options.tf);
      if (version) tags['tfjs.version'] = version;
      if (backend) tags['tfjs.backend'] = backend;
      run.setTags(tags);
      if (this.options.logDatasets ?? true) {
        const names = model as { inputNames?: string[]; outputNames?: string[] } | undefined;
        state.datasets = logDatasets(run, this.options.trainingData, this.options.fitArgs?.validationData, {
          inputs: names?.inputNames,
          outputs: names?.outputNames,
          backend: currentBackend(this.options.tf),
        });
        state.pending.push(state.datasets.done);
      }
      if (model && (this.options.logModelSummary ?? true)) {
        // Not awaited here: the upload runs alongside training and is awaited at train end.
        state.pending.push(
          run
            .logText(modelSummary(model), 'model_summary.txt')
            .catch((error: unknown) => report('log model_summary.txt', error)),
        );
      }
    } catch (error) {
      report('log the training params', error);
    }
  }

  private async epochEnd(epoch: number, logs?: LogsLike): Promise<void> {
    const state = this.state;
    if (!state?.run) return;
    try {
      state.lastEpoch = epoch;
      const metrics = await logsToMetrics(logs, '', undefined, this.options.metricNames);
      metrics.epoch_duration_seconds = (performance.now() - state.epochStart) / 1000;
      const timestamp = Date.now();
      const logged = logMetricsSafely(state.run, metrics, { step: epoch, timestamp });
      state.lastMetrics = { values: logged, step: epoch, timestamp };
    } catch (error) {
      report('log epoch metrics', error);
    }
  }

  private async batchEnd(logs?: LogsLike): Promise<void> {
    const state = this.state;
    if (!state?.run) return;
    state.globalBatch++;
    try {
      if (!state.batchSizeKnown) {
        state.batchSizeKnown = true;
        const size = await logValue(logs?.size);
        if (size !== undefined) logParamsSafely(state.run, { batch_size: size });
      }
      if (state.globalBatch % this.every !== 0) return;
      logMetricsSafely(state.run, await logsToMetrics(logs, 'batch_', BATCH_KEYS, this.options.metricNames), {
        step: state.globalBatch,
      });
    } catch (error) {
      report('log batch metrics', error);
    }
  }

  private async trainEnd(host: Host): Promise<void> {
    const state = this.state;
    if (!state?.run) return;
    const { run } = state;
    try {
      const trained = host.model as LayersModelLike | undefined;
      if (trained?.stopTraining && state.lastEpoch >= 0) {
        run.logMetric('stopped_epoch', this.earlyStopping?.stoppedEpoch ?? state.lastEpoch, { step: 0 });
      }
    } catch (error) {
      report('log stopped_epoch', error);
    }
    state.datasets?.finish();
    await Promise.all(state.pending);
    if ((this.options.logModel ?? true) && state.model) {
      try {
        const options = {
          ...(this.options.registeredModelName !== undefined
            ? { registeredModelName: this.options.registeredModelName }
            : {}),
          ...(this.options.tf ? { tf: this.options.tf } : {}),
          ...(state.lastMetrics ? { metrics: state.lastMetrics } : {}),
        };
        await logModel(run, state.model, this.options.artifactPath ?? 'model', options);
      } catch (error) {
        report('log the model', error);
      }
    }
    if (state.ownsRun) {
      // Inside fit: a run deleted on the server meanwhile is reported, never thrown into training.
      try {
        await run.end({ status: 'FINISHED' });
      } catch (error) {
        report('end the run', error);
      }
    }
  }

  private startRunOptions(): StartRunOptions {
    const options: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(this.options)) if (!OWN_OPTIONS.has(key)) options[key] = value;
    return options as StartRunOptions;
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
