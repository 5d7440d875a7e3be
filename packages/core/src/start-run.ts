import { AsyncLocalStorage } from 'node:async_hooks';
import { contextState, getActiveRun } from './context.js';
import { diag } from './diag.js';
import { MlflowApiError, MlflowConfigError } from './errors.js';
import { applyDebugOption } from './internal/apply-debug-option.js';
import { defaultRunTags } from './internal/default-tags.js';
import { trackOpenRun } from './internal/lifecycle.js';
import { getStore } from './internal/store-factory.js';
import { NOOP_RUN } from './noop-run.js';
import { RecordingRun } from './recording-run.js';
import type { Run, StartRunOptions } from './run.js';
import { type ResolvedSettings, resolveEnabled, resolveSettings } from './settings.js';
import type { TrackingStore } from './store.js';

type Env = Record<string, string | undefined>;

/** Finds an experiment by name or creates it, safe against another process creating it at the same time. */
export async function getOrCreateExperiment(store: TrackingStore, name: string): Promise<string> {
  const existing = await store.getExperimentByName(name);
  if (existing) {
    if (existing.lifecycleStage === 'deleted') {
      throw new MlflowConfigError(
        `Experiment "${name}" (id ${existing.experimentId}) is deleted: restore it (\`mlflow experiments restore --experiment-id ${existing.experimentId}\`), or pick another experiment name.`,
        { setting: 'experimentName' },
      );
    }
    return existing.experimentId;
  }
  try {
    return await store.createExperiment(name);
  } catch (error) {
    if (MlflowApiError.isInstance(error) && error.errorCode === 'RESOURCE_ALREADY_EXISTS') {
      const raced = await store.getExperimentByName(name);
      if (raced) return raced.experimentId;
    }
    throw error;
  }
}

async function resolveExperimentId(
  store: TrackingStore,
  options: StartRunOptions,
  env: Env,
  parent: Run | undefined,
): Promise<string> {
  if (options.experimentId !== undefined && options.experimentName !== undefined) {
    throw new MlflowConfigError('Pass either `experimentId` or `experimentName`, not both.', {
      setting: 'experimentId',
    });
  }
  if (options.experimentId !== undefined) return options.experimentId;
  if (options.experimentName !== undefined) return getOrCreateExperiment(store, options.experimentName);
  if (parent?.isRecording) return parent.experimentId;
  if (env.MLFLOW_EXPERIMENT_NAME) return getOrCreateExperiment(store, env.MLFLOW_EXPERIMENT_NAME);
  if (env.MLFLOW_EXPERIMENT_ID) {
    try {
      await store.getExperiment(env.MLFLOW_EXPERIMENT_ID);
    } catch (cause) {
      if (MlflowApiError.isInstance(cause) && !cause.retryable) {
        throw new MlflowConfigError(
          `MLFLOW_EXPERIMENT_ID=${env.MLFLOW_EXPERIMENT_ID} names no experiment on ${store.trackingUri}: set it to an existing id, or use MLFLOW_EXPERIMENT_NAME to create one by name.`,
          { setting: 'MLFLOW_EXPERIMENT_ID', cause },
        );
      }
      throw cause;
    }
    return env.MLFLOW_EXPERIMENT_ID;
  }
  return '0';
}

function trackingOn(entryPoint: string, options: StartRunOptions): boolean {
  const { enabled, source } = resolveEnabled(options);
  if (!enabled) {
    const why = source === 'option' ? 'the enabled option' : source === 'default' ? 'the default' : source;
    diag.debug(`${entryPoint}: tracking is off (${why}); returning the no-op run.`);
  }
  return enabled;
}

function openRunState(run: RecordingRun, pushOnStack: boolean): void {
  const state = contextState();
  if (pushOnStack) state.stack.push(run);
  trackOpenRun(run);
}

/** What `startRun` does once it knows tracking is on. Exported for adapters that manage their own runs. */
export async function createRecordingRun(
  options: StartRunOptions,
  settings: ResolvedSettings,
  env: Env = process.env,
  pushOnStack = true,
): Promise<RecordingRun> {
  applyDebugOption(settings.debug);
  const store = options.store ?? (await getStore(settings));
  const active = getActiveRun();
  const loggerOptions = {
    redactor: settings.redactor,
    ...(options.flushIntervalMs !== undefined ? { flushIntervalMs: options.flushIntervalMs } : {}),
  };

  let resumeId = options.runId;
  if (resumeId === undefined && env.MLFLOW_RUN_ID) {
    resumeId = env.MLFLOW_RUN_ID;
    // As in MLflow: the variable names the one run to resume, not every run the program starts.
    delete env.MLFLOW_RUN_ID;
  }
  if (resumeId !== undefined) {
    const existing = await store.getRun(resumeId);
    if (existing.info.lifecycleStage === 'deleted') {
      throw new MlflowConfigError(
        `Run ${resumeId} is deleted: restore it before resuming it, or start a new run.`,
        { setting: 'runId' },
      );
    }
    const info = await store.updateRun(resumeId, { status: 'RUNNING' });
    const run = new RecordingRun(store, info, {
      ...loggerOptions,
      parentRunId: existing.data.tags['mlflow.parentRunId'],
      existingParams: existing.data.params,
      existingTags: existing.data.tags,
    });
    openRunState(run, pushOnStack);
    return run;
  }

  let parentRunId = options.parentRunId;
  if (parentRunId === undefined && active?.isRecording) {
    if (!options.nested) {
      throw new MlflowConfigError(
        `Run ${active.runId} is already active. To start a child run, pass \`nested: true\`; otherwise end the active run first (await run.end()).`,
        { setting: 'nested' },
      );
    }
    parentRunId = active.runId;
  }
  const experimentId = await resolveExperimentId(
    store,
    options,
    env,
    parentRunId === undefined ? undefined : active,
  );
  const tags: Record<string, string> = { ...defaultRunTags(), ...options.tags };
  if (parentRunId !== undefined) tags['mlflow.parentRunId'] = parentRunId;
  if (options.description !== undefined) tags['mlflow.note.content'] = options.description;
  const { redactor } = settings;
  if (redactor !== false) for (const key in tags) tags[key] = redactor.value(key, tags[key]!);
  const userId = tags['mlflow.user'] ?? 'unknown';
  const record = await store.createRun({
    experimentId,
    startTime: Date.now(),
    runName:
      options.runName === undefined || redactor === false ? options.runName : redactor.text(options.runName),
    userId,
    tags,
  });
  const run = new RecordingRun(store, record.info, { ...loggerOptions, parentRunId });
  openRunState(run, pushOnStack);
  diag.debug(`Started run ${run.runId} in experiment ${experimentId} at ${store.trackingUri}`);
  return run;
}

/**
 * Starts an MLflow run, or resumes one (`runId` or `MLFLOW_RUN_ID`), and makes it the active run until it
 * ends. With tracking off (the default; see {@link TrackingOptions.enabled}) it returns a no-op run at
 * once, touching no network, timer or file.
 *
 * Throws {@link MlflowConfigError} for a configuration mistake, and {@link MlflowApiError} when the server
 * cannot create the run.
 *
 * @example
 * ```ts
 * import { startRun } from '@mlflow-kit/core';
 *
 * const run = await startRun({ experimentName: 'mnist', runName: 'baseline' });
 * run.logParams({ lr: 0.01, epochs: 5 });
 * for (let epoch = 0; epoch < 5; epoch++) run.logMetric('loss', 1 / (epoch + 1), { step: epoch });
 * await run.end();
 * ```
 */
export async function startRun(options: StartRunOptions = {}): Promise<Run> {
  applyDebugOption(options.debug);
  if (!trackingOn('startRun', options)) return NOOP_RUN;
  return createRecordingRun(options, resolveSettings(options));
}

/**
 * Runs `fn` inside a new run: the run is active for `fn` and everything it awaits, ends FINISHED when
 * `fn` resolves, or FAILED when it throws (the error is then rethrown). Returns what `fn` returns.
 *
 * @example
 * ```ts
 * import { withRun } from '@mlflow-kit/core';
 *
 * const accuracy = await withRun({ experimentName: 'iris' }, async (run) => {
 *   run.logParam('lr', 0.01);
 *   return train();
 * });
 * ```
 */
export async function withRun<T>(options: StartRunOptions, fn: (run: Run) => Promise<T> | T): Promise<T> {
  applyDebugOption(options.debug);
  if (!trackingOn('withRun', options)) return fn(NOOP_RUN);
  const run = await createRecordingRun(options, resolveSettings(options), process.env, false);
  const state = contextState();
  state.storage ??= new AsyncLocalStorage<Run>();
  return state.storage.run(run, async () => {
    let result: T;
    try {
      result = await fn(run);
    } catch (error) {
      await run.end({ status: 'FAILED' });
      throw error;
    }
    await run.end({ status: 'FINISHED' });
    return result;
  });
}
