import { contextState, getActiveRun } from '../context.js';
import { diag } from '../diag.js';
import { applyDebugOption } from '../internal/apply-debug-option.js';
import { placeRun, prepareRun, trackingOn } from '../internal/place-run.js';
import { runInside } from '../internal/run-inside.js';
import { exitTimeoutMs } from '../internal/spool-settings.js';
import { NOOP_RUN } from '../noop-run.js';
import { RecordingRun } from '../recording-run.js';
import type { Run, StartRunOptions } from '../run.js';
import type { TrackingStore } from '../store.js';
import { IndexedDbSpool } from './indexeddb-spool.js';
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
  const { info, parentRunId, existing } = await placeRun(
    store,
    prepared.options,
    NO_ENV,
    prepared.resumeId,
    active,
    prepared.tags,
    prepared.startTime,
  );
  const spool = spooled
    ? new IndexedDbSpool({
        uri: settings.trackingUri,
        runId: info.runId,
        experimentId: info.experimentId,
        artifactUri: info.artifactUri,
      })
    : undefined;
  const run = new RecordingRun(store, info, {
    spool,
    flushTimeoutMs: exitTimeoutMs(options.exitTimeoutSeconds, NO_ENV),
    redactor: settings.redactor,
    ...(options.flushIntervalMs !== undefined ? { flushIntervalMs: options.flushIntervalMs } : {}),
    ...(options.maxPendingBytes !== undefined ? { maxPendingBytes: options.maxPendingBytes } : {}),
    parentRunId,
    ...(existing ? { existingParams: existing.data.params, existingTags: existing.data.tags } : {}),
  });
  if (spool) {
    let keepalive: TrackingStore | undefined;
    // A store passed in has no keepalive requests: the page spool alone keeps its data.
    watchPageRun(
      run,
      spool,
      options.store
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
  diag.debug(`Started run ${run.runId} in experiment ${info.experimentId} at ${store.trackingUri}`);
  return run;
}

/**
 * Starts an MLflow run from a web page, or resumes one (`runId`), and makes it the active run until it
 * ends. Tracking is off unless `enabled: true` is passed (a page has no environment variables): off, it
 * returns a no-op run at once, touching no network and no timer. `trackingUri` is required and must be the
 * http(s) URL of an MLflow server that allows the page's origin.
 *
 * Throws {@link MlflowConfigError} for a configuration mistake, and {@link MlflowApiError} when the server
 * cannot create the run (a page starts no run offline: the server must answer at the start). Once started,
 * what the server cannot take goes to the page spool in IndexedDB (unless `spool: false`), and what earlier
 * visits left there for this server is uploaded in the background.
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
