import { AsyncLocalStorage } from 'node:async_hooks';
import { contextState, getActiveRun } from './context.js';
import { diag } from './diag.js';
import { MlflowApiError, MlflowConfigError } from './errors.js';
import { applyDebugOption } from './internal/apply-debug-option.js';
import { inBackground } from './internal/background.js';
import { defaultRunTags } from './internal/default-tags.js';
import { trackOpenRun } from './internal/lifecycle.js';
import { NODE_LOCAL_FILES } from './internal/local-files.js';
import { generateRunName } from './internal/local-format.js';
import {
  getOrCreateExperiment,
  newLocalRunId,
  placeRun,
  placeWithin,
  prepareRun,
  type RunPlacement,
  trackingOn,
} from './internal/place-run.js';
import { SOURCE_RUN_TAG } from './internal/replay-runs.js';
import { runInside } from './internal/run-inside.js';
import { exitTimeoutMs, offlineProbeIntervalMs, startTimeoutMs } from './internal/spool-settings.js';
import { getStore } from './internal/store-factory.js';
import { resolveSystemMetrics, type SystemMetricsSettings } from './internal/system-metrics-settings.js';
import { NOOP_RUN } from './noop-run.js';
import { RecordingRun } from './recording-run.js';
import type { Run, StartRunOptions } from './run.js';
import { type ResolvedSettings, resolveSettings } from './settings.js';
import { RunSpool, resolveSpoolDir } from './spool.js';
import type { TrackingStore } from './store.js';
import type { RunInfo, RunRecord } from './types.js';

export { getOrCreateExperiment };

type Env = Record<string, string | undefined>;

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
  const flushTimeoutMs = exitTimeoutMs(options.exitTimeoutSeconds, env);
  const systemMetrics = resolveSystemMetrics(options, env);
  const startTimeout = startTimeoutMs(options.startTimeoutSeconds, env);
  const offlineProbeMs = offlineProbeIntervalMs(options.offlineProbeIntervalSeconds, env);
  const store = options.store ?? (await getStore(settings));
  const spoolDir =
    store.kind === 'rest' && options.spool !== false ? resolveSpoolDir(options.spoolDir, env) : undefined;
  const active = getActiveRun();
  const loggerOptions = {
    flushTimeoutMs,
    redactor: settings.redactor,
    ...(options.flushIntervalMs !== undefined ? { flushIntervalMs: options.flushIntervalMs } : {}),
    ...(options.maxPendingBytes !== undefined ? { maxPendingBytes: options.maxPendingBytes } : {}),
  };

  const prepared = prepareRun(options, settings, env, active, defaultRunTags());
  options = prepared.options;
  const { resumeId, tags, startTime } = prepared;

  // With a spool, a new run gets its spool id and name before the server is asked: the create request carries
  // the id as its source tag, so that a create which reaches the server only after the run started offline is
  // found by the replay or `mlflow-kit sync` (by that tag) instead of leaving an empty second run there.
  const localRunId = spoolDir && resumeId === undefined ? newLocalRunId() : undefined;
  if (localRunId && options.runName === undefined && tags['mlflow.runName'] === undefined) {
    options = { ...options, runName: generateRunName() };
  }
  const createTags = localRunId ? { ...tags, [SOURCE_RUN_TAG]: localRunId } : tags;
  // With a spool the requests are background work: within the start bound its (ref'd) timer keeps the process
  // alive; past it, a create still retrying must not hold a program that has ended for minutes.
  const place = (): Promise<RunPlacement> =>
    placeRun(store, options, env, resumeId, active, createTags, startTime);
  const placing = spoolDir ? inBackground(place) : place();
  const placement = spoolDir ? await placeWithin(placing, startTimeout) : await placing;

  if (placement === undefined && spoolDir) {
    const { run, spool } = startOffline(
      store,
      spoolDir,
      options,
      env,
      resumeId,
      resumeId ?? localRunId!,
      tags,
      startTime,
      {
        ...loggerOptions,
        offlineProbeIntervalMs: offlineProbeMs,
      },
    );
    // The server may still answer the first calls: then the spooled run belongs to the run created there. Until
    // the create request settles the spool is not replayed, which would create a second run beside it.
    spool.holdReplayUntil(
      placing.then(
        (late) => spool.adoptRemote(late.info.runId, late.info.experimentId),
        () => undefined,
      ),
    );
    openRunState(run, pushOnStack);
    if (systemMetrics) await startSystemMetrics(run, systemMetrics, undefined);
    return run;
  }
  const { info, experimentName, existing } = placement!;
  if (localRunId) await dropSourceTag(store, info.runId, startTimeout - (Date.now() - startTime));
  const spool = spoolDir
    ? new RunSpool(spoolDir, {
        trackingUri: store.trackingUri,
        remoteRunId: info.runId,
        remoteExperimentId: info.experimentId,
        experimentName,
        localRunId: info.runId,
        runName: info.runName,
        startTime: info.startTime,
        userId: info.userId ?? tags['mlflow.user'] ?? 'unknown',
      })
    : undefined;
  const run = new RecordingRun(store, info, {
    ...loggerOptions,
    localFiles: NODE_LOCAL_FILES,
    parentRunId: placement!.parentRunId,
    spool,
    ...(existing ? { existingParams: existing.data.params, existingTags: existing.data.tags } : {}),
  });
  openRunState(run, pushOnStack);
  if (systemMetrics) await startSystemMetrics(run, systemMetrics, existing);
  diag.debug(`Started run ${run.runId} in experiment ${info.experimentId} at ${store.trackingUri}`);
  return run;
}

// A run created in time is not a spooled run: its source tag goes (within what is left of the start bound;
// a tag left behind only names an id no spool has).
async function dropSourceTag(store: TrackingStore, runId: string, remainingMs: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      store.deleteTag(runId, SOURCE_RUN_TAG),
      new Promise((resolve) => {
        timer = setTimeout(resolve, Math.max(0, remainingMs));
      }),
    ]);
  } catch (error) {
    diag.debug(
      `Could not delete the tag ${SOURCE_RUN_TAG} of run ${runId}: ${error instanceof Error ? error.message : String(error)}`,
    );
  } finally {
    clearTimeout(timer);
  }
}

// The monitor is loaded only when system metrics are on. A resumed run goes on after its last system step,
// as MLflow's `resume_logging` does.
async function startSystemMetrics(
  run: RecordingRun,
  settings: SystemMetricsSettings,
  existing: RunRecord | undefined,
): Promise<void> {
  try {
    let firstStep = 0;
    const key = Object.keys(existing?.data.metrics ?? {}).find((name) => name.startsWith('system/'));
    if (key) {
      const history = await run.store.getMetricHistory(run.runId, key, { maxResults: 25_000 });
      firstStep = Math.max(-1, ...history.items.map((point) => point.step)) + 1;
    }
    const { SystemMetricsMonitor } = await import('./internal/system-metrics-monitor.js');
    const monitor = new SystemMetricsMonitor(run, settings, firstStep);
    await monitor.start();
    run.onEnd(() => monitor.stop());
    diag.debug(`Logging system metrics of run ${run.runId} every ${settings.intervalMs} ms`);
  } catch (error) {
    diag.warn(
      `System metrics of run ${run.runId} are not logged: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

// A run that records into the spool from its first call; the replay or `mlflow-kit sync` creates it on the
// server (or finds the one created late, for a resumed run the one named).
function startOffline(
  store: TrackingStore,
  spoolDir: string,
  options: StartRunOptions,
  env: Env,
  resumeId: string | undefined,
  localRunId: string,
  tags: Record<string, string>,
  startTime: number,
  loggerOptions: { flushTimeoutMs: number; offlineProbeIntervalMs: number },
): { run: RecordingRun; spool: RunSpool } {
  const experimentName =
    options.experimentName ??
    env.MLFLOW_EXPERIMENT_NAME ??
    ((options.experimentId ?? env.MLFLOW_EXPERIMENT_ID ?? '0') === '0'
      ? 'Default'
      : `experiment-${options.experimentId ?? env.MLFLOW_EXPERIMENT_ID}`);
  const runName = options.runName ?? tags['mlflow.runName'] ?? generateRunName();
  const spool = new RunSpool(spoolDir, {
    trackingUri: store.trackingUri,
    remoteRunId: resumeId,
    remoteExperimentId: undefined,
    experimentName,
    localRunId,
    runName,
    startTime,
    userId: tags['mlflow.user'] ?? 'unknown',
    tags,
  });
  diag.warn(
    `${store.trackingUri} does not answer: run ${runName} records into the spool at ${spool.storeDir} and is created on the server by the replay, or by: ${spool.command}`,
  );
  const info: RunInfo = {
    runId: localRunId,
    experimentId: options.experimentId ?? env.MLFLOW_EXPERIMENT_ID ?? '',
    runName,
    userId: tags['mlflow.user'] ?? 'unknown',
    status: 'RUNNING',
    startTime,
    artifactUri: '',
    lifecycleStage: 'active',
  };
  const run = new RecordingRun(store, info, {
    ...loggerOptions,
    localFiles: NODE_LOCAL_FILES,
    parentRunId: tags['mlflow.parentRunId'],
    spool,
    offline: true,
  });
  return { run, spool };
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
  return state.storage.run(run, () => runInside(run, fn));
}
