import { stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MlflowConfigError, MlflowKitError } from './errors.js';
import { readTextIfExists, withFileLock } from './internal/local-fs.js';
import {
  replayArtifacts,
  replayEndStatus,
  replayInputs,
  replayMetrics,
  replayParamsAndTags,
} from './internal/replay-data.js';
import { replayLoggedModels } from './internal/replay-logged-models.js';
import {
  listLocalRuns,
  planRun,
  RemoteExperiments,
  type ReplayContext,
  type RunPlan,
} from './internal/replay-runs.js';
import { ReplayState, replayFiles } from './internal/replay-state.js';
import { openStore } from './internal/store-factory.js';
import type { ReplayedRun, ReplayProgress, ReplaySummary } from './replay-summary.js';
import { redactUrl, resolveSettings, type TrackingOptions } from './settings.js';
import { SPOOL_SIDECAR } from './spool.js';
import type { TrackingStore } from './store.js';
import type { RunRecord } from './types.js';

export { SOURCE_RUN_TAG } from './internal/replay-runs.js';
export type { ReplayedRun, ReplayProgress, ReplaySummary } from './replay-summary.js';

/** Options of {@link replayLocalRuns}. */
export interface ReplayOptions {
  /**
   * The local store to read: a directory or `file:` URI.
   * @defaultValue `'./mlruns'`
   */
  from?: string;
  /**
   * The tracking server to upload to, `http(s)://host:port`. Credentials come from `connection` or the
   * usual MLFLOW_TRACKING_* variables. Needed unless `destination` is given.
   */
  to?: string;
  /** Connection options of the destination (credentials, TLS, timeouts); `trackingUri` is `to`. */
  connection?: Omit<TrackingOptions, 'trackingUri' | 'enabled' | 'store'>;
  /** A store to upload to instead of one built from `to` (a live process's own store, tests). */
  destination?: TrackingStore;
  /**
   * Only these local runs (and their parent runs, which must be on the server first).
   * @defaultValue every active run of the store
   */
  runIds?: readonly string[];
  /**
   * Runs uploaded at the same time.
   * @defaultValue 4
   */
  concurrency?: number;
  /**
   * Stops the replay: no new request is sent, the state is saved, the lock released, and the promise
   * rejects with the signal's reason. A later replay resumes where this one stopped.
   */
  signal?: AbortSignal;
  /** Called with a snapshot of the progress after every request, and when runs are listed. */
  onProgress?: (progress: ReplayProgress) => void;
}

// A sync holding the lock on another host (a shared file system) may run for hours: only a lock this old
// is taken for abandoned there. On this host the owner's pid decides.
const LOCK_STALE_MS = 6 * 3600_000;

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

async function mapLimit<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await fn(item);
    }
  });
  await Promise.all(workers);
}

async function openSource(from: string): Promise<{ root: string; source: TrackingStore }> {
  const settings = resolveSettings({ enabled: true, trackingUri: from });
  if (settings.storeKind !== 'local' || settings.localPath === undefined) {
    throw new MlflowConfigError(
      `The sync source must be a local store directory, not ${redactUrl(from)}: pass a path such as ./mlruns.`,
      { setting: 'from' },
    );
  }
  const root = settings.localPath;
  if (!(await stat(root).catch(() => undefined))?.isDirectory()) {
    throw new MlflowConfigError(
      `There is no local store at ${root}: pass the directory your runs were written to (default ./mlruns).`,
      { setting: 'from' },
    );
  }
  return { root, source: await openStore(settings) };
}

async function openDestination(options: ReplayOptions): Promise<TrackingStore> {
  if (options.destination) return options.destination;
  if (options.to === undefined) {
    throw new MlflowConfigError(
      'A replay needs a destination: pass `to` (http(s)://host:port) or a `destination` store.',
      { setting: 'to' },
    );
  }
  const settings = resolveSettings({ ...options.connection, enabled: true, trackingUri: options.to });
  if (settings.storeKind !== 'rest') {
    throw new MlflowConfigError(
      `sync uploads to a tracking server: pass --to http(s)://host:port, not ${redactUrl(options.to)} (a local store appends duplicate points when a batch is replayed).`,
      { setting: 'to' },
    );
  }
  return openStore(settings);
}

/** Replays one run's data, step by step; a failure marks that run failed and leaves the others going. */
async function replayRun(context: ReplayContext, plan: RunPlan): Promise<void> {
  const { result } = plan;
  try {
    context.signal?.throwIfAborted();
    const sentParamsOrTags = await replayParamsAndTags(context, plan);
    const sentMetrics = await replayMetrics(context, plan);
    const sentArtifacts = await replayArtifacts(context, plan);
    const sentInputs = await replayInputs(context, plan);
    const sentModels = await replayLoggedModels(context, plan);
    const sentEnd = await replayEndStatus(context, plan);
    const changed =
      plan.outcome !== 'unchanged' ||
      sentParamsOrTags ||
      sentMetrics ||
      sentArtifacts ||
      sentInputs ||
      sentModels ||
      sentEnd;
    result.outcome = plan.outcome === 'created' ? 'created' : changed ? 'resumed' : 'unchanged';
  } catch (error) {
    result.outcome = 'failed';
    result.error = describeError(error);
  }
  // A worker must not reject: Promise.all would then release the lock and close the stores while
  // other workers are still uploading.
  try {
    await context.state.save(true);
  } catch (error) {
    result.outcome = 'failed';
    result.error ??= `could not save the sync state: ${describeError(error)}`;
  }
  context.progress.runsDone++;
  context.report();
}

/**
 * A spooled run names its server run in its sidecar ({@link SPOOL_SIDECAR}): it is uploaded into that run,
 * whatever the spelling of the URI the state file is keyed by. A run started offline (no remote id) is
 * created as any local run. Returns the ids of the runs spooled from a live server run: the spool may hold
 * points the server stored although their answer was lost (a request in flight at a signal, a timeout),
 * so their points are checked against the server's history before they are sent.
 */
async function adoptSpoolTargets(context: ReplayContext, runs: RunRecord[]): Promise<Set<string>> {
  const spooledFromServer = new Set<string>();
  for (const local of runs) {
    const runId = local.info.runId;
    if (!local.info.artifactUri?.startsWith('file:')) continue;
    const runDir = dirname(fileURLToPath(local.info.artifactUri));
    const text = await readTextIfExists(join(runDir, SPOOL_SIDECAR));
    if (text === undefined) continue;
    try {
      const sidecar = JSON.parse(text) as { remoteRunId?: unknown; remoteExperimentId?: unknown };
      if (typeof sidecar.remoteRunId !== 'string' || typeof sidecar.remoteExperimentId !== 'string') continue;
      spooledFromServer.add(runId);
      if (context.state.run(runId)) continue;
      context.state.setRun(runId, {
        remoteRunId: sidecar.remoteRunId,
        remoteExperimentId: sidecar.remoteExperimentId,
        metrics: {},
        artifacts: {},
      });
    } catch {
      // A damaged sidecar: the run is found by the state file or its source-run-id tag, as any local run.
    }
  }
  return spooledFromServer;
}

async function replayUnderLock(context: ReplayContext, options: ReplayOptions): Promise<void> {
  context.report();
  const { runs, experimentById } = await listLocalRuns(context.source, options.runIds);
  const spooledFromServer = await adoptSpoolTargets(context, runs);
  context.progress.runsTotal = runs.length;
  context.report();

  const experiments = new RemoteExperiments(context.destination);
  const plans: RunPlan[] = [];
  // Parents first, one at a time, so that a nested run's copy can point at its parent's copy.
  for (const local of runs) {
    const experiment = experimentById.get(local.info.experimentId);
    const result: ReplayedRun = {
      localRunId: local.info.runId,
      remoteRunId: '',
      experimentName: experiment?.name ?? '',
      runName: local.info.runName,
      outcome: 'unchanged',
      pointsUploaded: 0,
      artifactsUploaded: 0,
    };
    context.summary.runs.push(result);
    try {
      context.signal?.throwIfAborted();
      if (!experiment) throw new MlflowKitError(`Run ${local.info.runId} belongs to no active experiment.`);
      const plan = await planRun(context, experiments, local, experiment, result);
      plan.checkServerHistory = spooledFromServer.has(local.info.runId);
      context.progress.pointsTotal += plan.pending;
      plans.push(plan);
    } catch (error) {
      result.outcome = 'failed';
      result.error = describeError(error);
      context.progress.runsDone++;
    }
    context.progress.runsPlanned++;
    context.report();
  }
  context.progress.phase = 'uploading';
  context.report();

  await mapLimit(plans, options.concurrency ?? 4, (plan) => replayRun(context, plan));
  await context.state.save(true);
  await context.state.settled();
}

/**
 * Uploads the runs of a local store (MLflow's FileStore layout, as the local store and the spool write
 * it) to a tracking server: experiments by name, run names, start and end times, status, params, every
 * metric point with its step and timestamp, tags, artifacts, dataset inputs, the MLflow 3 logged models the
 * run produced (as the server's own, linked to the run), and nested runs with their parents remapped to the
 * server's ids. The end status is applied last, after the run's data. `mlflow-kit sync` is this
 * function with a progress bar.
 *
 * It is idempotent and resumable. What was uploaded is recorded in `<store>/.mlflow-kit-sync-<hash>.json`
 * (a file the official reader ignores) after every request; every uploaded run carries the tag
 * {@link SOURCE_RUN_TAG}, so a lost state file is rebuilt from the server. A second replay uploads
 * nothing new; a replay stopped halfway and run again completes without duplicates, because the server's
 * SQL store ignores exact duplicate metric points when a batch is sent again. One replay per store and
 * destination runs at a time (a lock file next to the state; a lock left by a dead process is broken);
 * another one is refused at once. Deleted runs and experiments are not uploaded.
 *
 * @example
 * ```ts
 * import { replayLocalRuns } from '@mlflow-kit/core';
 * const summary = await replayLocalRuns({ from: './mlruns', to: 'http://127.0.0.1:5000' });
 * if (summary.failed > 0) process.exitCode = 1;
 * ```
 */
export async function replayLocalRuns(options: ReplayOptions): Promise<ReplaySummary> {
  const started = Date.now();
  // The replay opens its own stores, outside the shared cache, and closes them when it is done: a
  // replay inside a live process must not close the stores its runs are using.
  const { root, source } = await openSource(options.from ?? './mlruns');
  let destination: TrackingStore;
  try {
    destination = await openDestination(options);
  } catch (error) {
    await source.close();
    throw error;
  }
  const destinationUri = destination.trackingUri;
  const files = replayFiles(root, destinationUri);

  const summary: ReplaySummary = {
    destination: destinationUri,
    source: source.trackingUri,
    runs: [],
    created: 0,
    resumed: 0,
    unchanged: 0,
    failed: 0,
    pointsUploaded: 0,
    paramsUploaded: 0,
    tagsUploaded: 0,
    artifactsUploaded: 0,
    artifactBytesUploaded: 0,
    durationMs: 0,
    pointsPerSecond: 0,
  };
  const progress: ReplayProgress = {
    phase: 'counting',
    runsPlanned: 0,
    pointsDone: 0,
    pointsTotal: 0,
    runsDone: 0,
    runsTotal: 0,
    artifactsDone: 0,
    elapsedMs: 0,
  };
  const report = (): void => {
    progress.elapsedMs = Date.now() - started;
    options.onProgress?.({ ...progress });
  };

  try {
    await withFileLock(
      files.lock,
      async () => {
        const state = await ReplayState.load(files.state, destinationUri);
        const context: ReplayContext = {
          source,
          destination,
          state,
          summary,
          progress,
          report,
          signal: options.signal,
        };
        await replayUnderLock(context, options);
      },
      {
        timeoutMs: 0,
        staleMs: LOCK_STALE_MS,
        busyError: (owner) => {
          const [host, pid] = owner.trim().split(' ');
          return new MlflowKitError(
            `Another mlflow-kit sync to this server is running on this store (${host || '?'} pid ${pid || '?'}). Wait for it, or delete ${files.lock} if it is gone.`,
          );
        },
      },
    );
  } finally {
    summary.durationMs = Date.now() - started;
    progress.elapsedMs = summary.durationMs;
    await source.close();
    if (destination !== options.destination) await destination.close();
  }
  options.signal?.throwIfAborted();
  for (const run of summary.runs) {
    if (run.outcome === 'created') summary.created++;
    else if (run.outcome === 'resumed') summary.resumed++;
    else if (run.outcome === 'unchanged') summary.unchanged++;
    else summary.failed++;
  }
  summary.pointsPerSecond =
    summary.durationMs > 0 ? Math.round((summary.pointsUploaded * 1000) / summary.durationMs) : 0;
  return summary;
}
