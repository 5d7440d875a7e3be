import { contextState, getActiveRun } from '../context.js';
import { diag } from '../diag.js';
import { applyDebugOption } from '../internal/apply-debug-option.js';
import { newLocalRunId, placeRun, placeWithin, prepareRun, trackingOn } from '../internal/place-run.js';
import { SOURCE_RUN_TAG } from '../internal/replay-runs.js';
import { runInside } from '../internal/run-inside.js';
import { exitTimeoutMs, offlineProbeIntervalMs, startTimeoutMs } from '../internal/spool-settings.js';
import { NOOP_RUN } from '../noop-run.js';
import { RecordingRun, type RecordingRunOptions } from '../recording-run.js';
import type { Run, StartRunOptions } from '../run.js';
import type { TrackingStore } from '../store.js';
import type { RunInfo } from '../types.js';
import { IndexedDbSpool } from './indexeddb-spool.js';
import { markRunOpen } from './open-page-runs.js';
import { watchPageRun } from './page-lifecycle.js';
import { pageRunTags } from './page-run-tags.js';
import { createKeepaliveStore, createPageStore } from './page-store.js';
import { uploadPageSpool } from './replay-page-spool.js';
import { resolveBrowserSettings } from './settings.js';

const NO_ENV: Record<string, string | undefined> = {};

/**
 * Starts (or resumes) a run from a web page, as {@link startRun} does when tracking is on; `pushOnStack: false`
 * leaves the active run as it is (for a run an adapter owns, such as a `SummaryWriter`'s).
 */
export async function createPageRun(options: StartRunOptions, pushOnStack = true): Promise<RecordingRun> {
  const settings = resolveBrowserSettings(options);
  applyDebugOption(settings.debug, NO_ENV);
  for (const option of ['spoolDir', 'logSystemMetrics'] as const) {
    if (options[option] !== undefined && options[option] !== false) {
      diag.warn(`startRun in a web page: \`${option}\` is a Node option and is ignored here.`);
    }
  }
  const store = options.store ?? createPageStore(settings);
  const spooled = options.spool !== false;
  // What earlier visits left for this server goes up in the background, never delaying the start.
  if (spooled) void uploadPageSpool(store, settings.trackingUri);
  const active = getActiveRun();
  const prepared = prepareRun(options, settings, NO_ENV, active, pageRunTags());
  const { resumeId, tags, startTime } = prepared;
  const loggerOptions: RecordingRunOptions = {
    flushTimeoutMs: exitTimeoutMs(options.exitTimeoutSeconds, NO_ENV),
    redactor: settings.redactor,
    ...(options.flushIntervalMs !== undefined ? { flushIntervalMs: options.flushIntervalMs } : {}),
    ...(options.maxPendingBytes !== undefined ? { maxPendingBytes: options.maxPendingBytes } : {}),
  };
  // With a spool, a new run has a local id before the server is asked: its create request carries it as the
  // source tag, so that a create which reaches the server only after the run started offline is found by the
  // replay instead of leaving an empty second run there.
  const localRunId = spooled && resumeId === undefined ? newLocalRunId() : undefined;
  const createTags = localRunId ? { ...tags, [SOURCE_RUN_TAG]: localRunId } : tags;
  const placing = placeRun(store, prepared.options, NO_ENV, resumeId, active, createTags, startTime);
  const placement = spooled
    ? await placeWithin(placing, startTimeoutMs(options.startTimeoutSeconds, NO_ENV))
    : await placing;

  let run: RecordingRun;
  let spool: IndexedDbSpool | undefined;
  if (placement === undefined) {
    // The server does not answer: the run records into the page spool from its first call.
    const id = resumeId ?? localRunId!;
    const runName = prepared.options.runName ?? tags['mlflow.runName'];
    const parentRunId = tags['mlflow.parentRunId'];
    const experimentId =
      options.experimentId ??
      (options.experimentName === undefined && parentRunId !== undefined && active?.isRecording
        ? active.experimentId || undefined
        : undefined);
    spool = new IndexedDbSpool({
      uri: settings.trackingUri,
      runId: id,
      experimentId: experimentId ?? '',
      artifactUri: '',
      ...(localRunId
        ? {
            create: {
              ...(experimentId !== undefined ? { experimentId } : {}),
              ...(options.experimentName !== undefined ? { experimentName: options.experimentName } : {}),
              ...(runName !== undefined ? { runName } : {}),
              startTime,
              userId: tags['mlflow.user'] ?? 'unknown',
              tags,
            },
          }
        : {}),
    });
    const offlineSpool = spool;
    // The server may still answer the create request: then that run is the spooled run's. Until the request
    // settles, no replay runs, which would create a second run beside it.
    spool.holdReplayUntil(
      placing.then(
        (late) =>
          localRunId
            ? offlineSpool.adoptRemote(late.info.runId, late.info.experimentId, late.info.artifactUri)
            : undefined,
        () => undefined,
      ),
    );
    const info: RunInfo = {
      runId: id,
      experimentId: experimentId ?? '',
      runName: runName ?? id,
      userId: tags['mlflow.user'] ?? 'unknown',
      status: 'RUNNING',
      startTime,
      artifactUri: '',
      lifecycleStage: 'active',
    };
    run = new RecordingRun(store, info, {
      ...loggerOptions,
      spool,
      parentRunId,
      offline: true,
      offlineProbeIntervalMs: offlineProbeIntervalMs(options.offlineProbeIntervalSeconds, NO_ENV),
    });
    diag.warn(
      `${store.trackingUri} does not answer: run ${id} records into the page spool (${spool.storeDir}) and is created on the server once it answers, while this page lives or on the next visit.`,
    );
  } else {
    const { info, parentRunId, existing } = placement;
    // Created in time: not a spooled run, so its source tag goes.
    if (localRunId) void store.deleteTag(info.runId, SOURCE_RUN_TAG).catch(() => undefined);
    spool = spooled
      ? new IndexedDbSpool({
          uri: settings.trackingUri,
          runId: info.runId,
          experimentId: info.experimentId,
          artifactUri: info.artifactUri,
        })
      : undefined;
    run = new RecordingRun(store, info, {
      ...loggerOptions,
      spool,
      parentRunId,
      ...(existing ? { existingParams: existing.data.params, existingTags: existing.data.tags } : {}),
    });
  }
  if (spool) {
    let keepalive: TrackingStore | undefined;
    // A store passed in has no keepalive requests, nor has a run started offline (the server knows no run of
    // its id): the page spool alone keeps their data.
    watchPageRun(
      run,
      spool,
      markRunOpen({
        uri: settings.trackingUri,
        runId: run.runId,
        offline: placement === undefined && localRunId !== undefined,
        startTime,
      }),
      options.store || placement === undefined
        ? undefined
        : () => {
            keepalive ??= createKeepaliveStore(settings);
            return keepalive;
          },
    );
  }
  const state = contextState();
  if (pushOnStack) state.stack.push(run);
  state.open.add(run);
  diag.debug(`Started run ${run.runId} in experiment ${run.experimentId} at ${store.trackingUri}`);
  return run;
}

/**
 * Starts an MLflow run from a web page, or resumes one (`runId`), and makes it the active run until it
 * ends. Tracking is off unless `enabled: true` is passed (a page has no environment variables): off, it
 * returns a no-op run at once, touching no network and no timer. `trackingUri` is required and must be the
 * http(s) URL of an MLflow server that allows the page's origin.
 *
 * Throws {@link MlflowConfigError} for a configuration mistake (a bad URI, a 401/403, an unknown or deleted
 * experiment). When the server does not answer within `startTimeoutSeconds` (5 s; a network error, a timeout
 * or a 5xx), the run starts offline: it records into the page spool under a local id, is created on the
 * server once it answers (while the page lives, or by the next visit), and training is never held up. Once
 * started, what the server cannot take goes to the page spool in IndexedDB, and what earlier visits left
 * there for this server is uploaded in the background. With `spool: false` the server must answer at the
 * start, or {@link MlflowApiError} is thrown.
 *
 * @example
 * ```ts
 * import { startRun } from '@mlflow-kit/core';
 *
 * const run = await startRun({ enabled: true, trackingUri: 'http://127.0.0.1:5000', experimentName: 'web' });
 * run.logMetric('loss', 0.5, { step: 0 });
 * await run.end();
 * ```
 */
export async function startRun(options: StartRunOptions = {}): Promise<Run> {
  if (!trackingOn('startRun', options)) return NOOP_RUN;
  return createPageRun(options);
}

/**
 * Runs `fn` inside a new run started as {@link startRun} does: it ends FINISHED when `fn` resolves, or
 * FAILED when it throws (the error is then rethrown). Returns what `fn` returns.
 *
 * A page has no async context: the run is the active run (for `getActiveRun()` and the tfjs callback) from
 * its start to its end, as a run of `startRun` is, so two `withRun` callbacks running at once in one page
 * see the later one as active.
 *
 * @example
 * ```ts
 * import { withRun } from '@mlflow-kit/core';
 *
 * await withRun({ enabled: true, trackingUri: 'http://127.0.0.1:5000' }, async (run) => {
 *   run.logParam('lr', 0.01);
 * });
 * ```
 */
export async function withRun<T>(options: StartRunOptions, fn: (run: Run) => Promise<T> | T): Promise<T> {
  if (!trackingOn('withRun', options)) return fn(NOOP_RUN);
  return runInside(await createPageRun(options), fn);
}
