import {
  diag,
  getActiveRun,
  type LogMetricOptions,
  type ParamValue,
  type Run,
  redactText,
  resolveEnabled,
  type StartRunOptions,
  startRun,
} from '@mlflow-kit/core';
import { logModel } from '../log-model.js';
import type { MlflowCallbackOptions } from './callback-options.js';
import { currentBackend, type DatasetLogging, logDatasets } from './datasets.js';
import type { ModelMetrics } from './logged-model.js';
import { logsToMetrics, logValue } from './logs.js';
import { earlyStoppingParams, modelParams, optimizerParams, trainingParams } from './params.js';
import { tfjsBackend, tfjsVersion } from './tfjs-info.js';
import type { CallbackParamsLike, EarlyStoppingLike, LayersModelLike, LogsLike } from './tfjs-types.js';

// What mlflowCallback records of one `fit`: the run it logs to (found or started), params, tags, datasets and the
// model summary at train begin, metrics per epoch and batch, the model and the run's end at train end. The
// callback (../callback.ts) is the tfjs side: its hooks, the wrapped callbacks, and when to call each step here.

/** The error tag set on a run that `autolog` or `mlflowCallback` ended FAILED. */
export const ERROR_TAG = 'mlflow-kit.error';

/** The value of {@link ERROR_TAG} for an error: `Name: message`. */
export function errorTagValue(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
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

/** What tfjs hands a callback: the model being trained and the fit's params. */
export interface Host {
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

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Reports once per phase, through `diag`, that the callback could not do something; training goes on. */
export function report(phase: string, error: unknown): void {
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

function modelSummary(model: LayersModelLike): string {
  const lines: string[] = [];
  model.summary(undefined, undefined, (line?: unknown) => lines.push(String(line ?? '')));
  return `${lines.join('\n')}\n`;
}

/** Records one `fit` at a time for an `MlflowCallback`. Never throws into training: failures are reported once through `diag`. */
export class FitRecorder {
  private state: FitState | undefined;

  constructor(
    private readonly options: MlflowCallbackOptions,
    /** Log batch metrics every this many batches; 0 for epochs only. */
    private readonly every: number,
    private readonly earlyStopping: EarlyStoppingLike | undefined,
  ) {}

  /** The run of the current (or last) `fit`, once training has begun; `undefined` when nothing is recorded. */
  get run(): Run | undefined {
    return this.state?.run;
  }

  /** Starts the epoch timer. */
  epochBegin(): void {
    if (this.state) this.state.epochStart = performance.now();
  }

  /** Ends a run this recorder started FAILED, with {@link ERROR_TAG}, after a wrapped callback threw. */
  async fail(error: unknown): Promise<void> {
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

  /** Finds or starts the run; logs params, tags, datasets and the model summary. */
  async trainBegin(host: Host): Promise<void> {
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

  /** Logs the epoch's metrics at step = epoch. */
  async epochEnd(epoch: number, logs?: LogsLike): Promise<void> {
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

  /** Logs batch metrics every `every` batches, and the batch size when tfjs did not say it. */
  async batchEnd(logs?: LogsLike): Promise<void> {
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

  /** Logs the stopped epoch and the model, and ends a run this recorder started. */
  async trainEnd(host: Host): Promise<void> {
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
