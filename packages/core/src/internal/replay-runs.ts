import { MlflowApiError, MlflowKitError } from '../errors.js';
import type { ReplayedRun, ReplayProgress, ReplaySummary } from '../replay-summary.js';
import { hasOrderedMetrics, type TrackingStore } from '../store.js';
import type { Experiment, Metric, RunRecord } from '../types.js';
import type { ReplayState, RunState } from './replay-state.js';

/** Tag set on every uploaded run: the id of the local run it came from, so a lost state file can be rebuilt. */
export const SOURCE_RUN_TAG = 'mlflow-kit.sync.sourceRunId';

/** What every step of one replay shares. */
export interface ReplayContext {
  source: TrackingStore;
  destination: TrackingStore;
  state: ReplayState;
  summary: ReplaySummary;
  progress: ReplayProgress;
  /** Passes the progress on, after a batch or an artifact. */
  report(): void;
  signal: AbortSignal | undefined;
}

/** One local run to replay, with what is left to upload of it. */
export interface RunPlan {
  local: RunRecord;
  state: RunState;
  /** Number of points of each metric in the local store. */
  keys: Map<string, number>;
  /** Points not uploaded yet. */
  pending: number;
  outcome: ReplayedRun['outcome'];
  result: ReplayedRun;
  /**
   * Whether points the server already holds are left out (compared by key, step, timestamp and value, each
   * occurrence once): set for a spooled run, whose spool may hold a request the server stored but whose
   * answer was lost. MLflow's SQL stores refuse such a duplicate with a 400, its file store keeps both.
   */
  checkServerHistory?: boolean;
}

/** The error code of an MLflow API error. */
export function errorCode(error: unknown): string | undefined {
  return MlflowApiError.isInstance(error) ? error.errorCode : undefined;
}

/** Every item of a paged listing. */
export async function allPages<T>(
  fetchPage: (pageToken: string | undefined) => Promise<{ items: T[]; nextPageToken?: string | undefined }>,
): Promise<T[]> {
  const items: T[] = [];
  let pageToken: string | undefined;
  do {
    const page = await fetchPage(pageToken);
    items.push(...page.items);
    pageToken = page.nextPageToken;
  } while (pageToken);
  return items;
}

/** A metric's history, every page. */
export function metricHistory(store: TrackingStore, runId: string, key: string): Promise<Metric[]> {
  return allPages((pageToken) =>
    store.getMetricHistory(runId, key, { maxResults: 25_000, ...(pageToken ? { pageToken } : {}) }),
  );
}

/** Every point of a metric: in written order where the store declares it can, else in history order. */
export function metricPoints(store: TrackingStore, runId: string, key: string): Promise<Metric[]> {
  return hasOrderedMetrics(store) ? store.readMetricPoints(runId, key) : metricHistory(store, runId, key);
}

/** Orders runs so that every parent comes before its nested runs. */
function parentsFirst(runs: RunRecord[]): RunRecord[] {
  const byId = new Map(runs.map((run) => [run.info.runId, run]));
  const ordered: RunRecord[] = [];
  const placed = new Set<string>();
  const place = (run: RunRecord, depth: number): void => {
    if (placed.has(run.info.runId)) return;
    const parent = byId.get(run.data.tags['mlflow.parentRunId'] ?? '');
    if (parent && depth < 100) place(parent, depth + 1);
    placed.add(run.info.runId);
    ordered.push(run);
  };
  for (const run of runs) place(run, 0);
  return ordered;
}

/**
 * The active runs of the local store, parents first, with their experiments. With `runIds`, only those
 * runs and their ancestors (a nested run's parent must be on the server first, to point at it).
 */
export async function listLocalRuns(
  source: TrackingStore,
  runIds: readonly string[] | undefined,
): Promise<{ runs: RunRecord[]; experimentById: Map<string, Experiment> }> {
  const experiments = await allPages((pageToken) =>
    source.searchExperiments({
      viewType: 'ACTIVE_ONLY',
      maxResults: 50_000,
      ...(pageToken ? { pageToken } : {}),
    }),
  );
  const experimentById = new Map(experiments.map((experiment) => [experiment.experimentId, experiment]));
  const localRuns: RunRecord[] = [];
  for (const experiment of experiments) {
    localRuns.push(
      ...(await allPages((pageToken) =>
        source.searchRuns({
          experimentIds: [experiment.experimentId],
          viewType: 'ACTIVE_ONLY',
          maxResults: 50_000,
          ...(pageToken ? { pageToken } : {}),
        }),
      )),
    );
  }
  let runs = parentsFirst(localRuns);
  if (runIds !== undefined) {
    const byId = new Map(runs.map((run) => [run.info.runId, run]));
    const wanted = new Set<string>();
    for (let id of runIds) {
      for (let depth = 0; depth < 100 && byId.has(id) && !wanted.has(id); depth++) {
        wanted.add(id);
        id = byId.get(id)?.data.tags['mlflow.parentRunId'] ?? '';
      }
    }
    runs = runs.filter((run) => wanted.has(run.info.runId));
  }
  return { runs, experimentById };
}

/**
 * The destination's experiments, found (or created) by the names of the local ones, and an index of the
 * runs uploaded earlier, by their {@link SOURCE_RUN_TAG}.
 */
export class RemoteExperiments {
  private readonly byLocalId = new Map<string, Experiment>();
  private readonly uploadedIndex = new Map<string, Map<string, RunRecord>>();

  constructor(private readonly destination: TrackingStore) {}

  /** The destination's experiment of this name, created with the local tags if there is none. */
  async forLocal(local: Experiment): Promise<Experiment> {
    const known = this.byLocalId.get(local.experimentId);
    if (known) return known;
    const destination = this.destination;
    let remote = await destination.getExperimentByName(local.name);
    if (!remote) {
      try {
        const id = await destination.createExperiment(local.name, { tags: local.tags });
        remote = await destination.getExperiment(id);
      } catch (error) {
        if (errorCode(error) !== 'RESOURCE_ALREADY_EXISTS') throw error;
        remote = await destination.getExperimentByName(local.name);
        if (!remote) throw error;
      }
    }
    if (remote.lifecycleStage === 'deleted') {
      throw new MlflowKitError(
        `The experiment "${local.name}" is deleted on ${destination.trackingUri}: restore it there, or rename the local one.`,
      );
    }
    for (const [tagKey, value] of Object.entries(local.tags)) {
      if (remote.tags[tagKey] !== value)
        await destination.setExperimentTag(remote.experimentId, tagKey, value);
    }
    this.byLocalId.set(local.experimentId, remote);
    return remote;
  }

  /** The run uploaded earlier from this local run, found by its source tag. */
  async findUploaded(remoteExperimentId: string, localRunId: string): Promise<RunRecord | undefined> {
    let index = this.uploadedIndex.get(remoteExperimentId);
    if (!index) {
      index = new Map();
      const remoteRuns = await allPages((pageToken) =>
        this.destination.searchRuns({
          experimentIds: [remoteExperimentId],
          viewType: 'ALL',
          maxResults: 1000,
          ...(pageToken ? { pageToken } : {}),
        }),
      );
      for (const run of remoteRuns) {
        const sourceId = run.data.tags[SOURCE_RUN_TAG];
        if (sourceId) index.set(sourceId, run);
      }
      this.uploadedIndex.set(remoteExperimentId, index);
    }
    return index.get(localRunId);
  }
}

/** The state of the run's copy on the server if it is still there; a deleted copy is an error. */
async function knownCopy(context: ReplayContext, localRunId: string): Promise<RunState | undefined> {
  const runState = context.state.run(localRunId);
  if (!runState) return undefined;
  try {
    const remote = await context.destination.getRun(runState.remoteRunId);
    if (remote.info.lifecycleStage === 'deleted') {
      throw new MlflowKitError(
        `Its copy ${runState.remoteRunId} is deleted on the server: restore it there to sync it again.`,
      );
    }
    return runState;
  } catch (error) {
    if (errorCode(error) !== 'RESOURCE_DOES_NOT_EXIST') throw error;
    return undefined;
  }
}

/**
 * Finds or makes the server's copy of a local run: the one in the state file; else one found by its
 * source tag (recovered: what it holds is counted from the server); else a new run, its parent remapped.
 */
async function resolveCopy(
  context: ReplayContext,
  experiments: RemoteExperiments,
  local: RunRecord,
  remoteExperimentId: string,
): Promise<{ state: RunState; outcome: ReplayedRun['outcome']; recovered: boolean }> {
  const localId = local.info.runId;
  const known = await knownCopy(context, localId);
  if (known) return { state: known, outcome: 'unchanged', recovered: false };
  const fresh = (remoteRunId: string): RunState => ({
    remoteRunId,
    remoteExperimentId,
    metrics: {},
    artifacts: {},
  });
  let copy: { state: RunState; outcome: ReplayedRun['outcome']; recovered: boolean };
  const uploaded = await experiments.findUploaded(remoteExperimentId, localId);
  if (uploaded) {
    copy = { state: fresh(uploaded.info.runId), outcome: 'resumed', recovered: true };
  } else {
    const parentLocal = local.data.tags['mlflow.parentRunId'];
    const tags: Record<string, string> = { [SOURCE_RUN_TAG]: localId };
    if (parentLocal) tags['mlflow.parentRunId'] = context.state.remoteRunId(parentLocal);
    const created = await context.destination.createRun({
      experimentId: remoteExperimentId,
      startTime: local.info.startTime,
      runName: local.info.runName,
      userId: local.info.userId,
      tags,
    });
    copy = { state: fresh(created.info.runId), outcome: 'created', recovered: false };
  }
  context.state.setRun(localId, copy.state);
  await context.state.save(true);
  return copy;
}

/** Counts one uploaded artifact file in the summary, the run's result and the progress, and saves the state. */
export async function countArtifactUpload(
  context: ReplayContext,
  plan: RunPlan,
  size: number,
): Promise<void> {
  context.summary.artifactsUploaded++;
  context.summary.artifactBytesUploaded += size;
  plan.result.artifactsUploaded++;
  context.progress.artifactsDone++;
  await context.state.save();
  context.report();
}

/** The artifact files under a root, recursively, with their sizes. */
export async function listFilesRecursively(
  store: TrackingStore,
  artifactUri: string,
  path?: string,
): Promise<Map<string, number>> {
  const files = new Map<string, number>();
  for (const info of await store.listArtifacts(artifactUri, path)) {
    if (info.isDir)
      for (const [child, size] of await listFilesRecursively(store, artifactUri, info.path))
        files.set(child, size);
    else files.set(info.path, info.fileSize ?? 0);
  }
  return files;
}

/**
 * Step one of a run's replay: its experiment and its copy on the server (created, resumed or recovered),
 * and how many metric points are left to upload. For a recovered copy, the points and artifacts already
 * on the server are counted as uploaded: with exact duplicates the server kept fewer points, and it
 * ignores the replay of the rest.
 */
export async function planRun(
  context: ReplayContext,
  experiments: RemoteExperiments,
  local: RunRecord,
  experiment: Experiment,
  result: ReplayedRun,
): Promise<RunPlan> {
  const { source, destination } = context;
  const localId = local.info.runId;
  const remoteExperiment = await experiments.forLocal(experiment);
  const { state, outcome, recovered } = await resolveCopy(
    context,
    experiments,
    local,
    remoteExperiment.experimentId,
  );
  result.remoteRunId = state.remoteRunId;

  const keys = new Map<string, number>();
  let pending = 0;
  const metricKeys = hasOrderedMetrics(source)
    ? await source.listMetricKeys(localId)
    : Object.keys(local.data.metrics);
  for (const metricKey of metricKeys) {
    const total = (await metricPoints(source, localId, metricKey)).length;
    if (recovered) {
      const remotePoints = await metricHistory(destination, state.remoteRunId, metricKey);
      state.metrics[metricKey] = Math.min(total, remotePoints.length);
    }
    keys.set(metricKey, total);
    pending += Math.max(0, total - (state.metrics[metricKey] ?? 0));
  }
  if (recovered && local.info.artifactUri) {
    const remoteArtifactUri = (await destination.getRun(state.remoteRunId)).info.artifactUri;
    for (const [path, size] of await listFilesRecursively(destination, remoteArtifactUri)) {
      state.artifacts[path] = size;
    }
  }
  return { local, state, keys, pending, outcome, result, checkServerHistory: false };
}
