import { createHash, randomBytes } from 'node:crypto';
import { open, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  closeStores,
  type Experiment,
  getStore,
  type KeyValue,
  type Metric,
  MlflowApiError,
  MlflowConfigError,
  MlflowKitError,
  type RunRecord,
  redactUrl,
  resolveSettings,
  type TrackingOptions,
  type TrackingStore,
} from '@mlflow-kit/core';
import { ProgressReporter, type ProgressStream, type SyncProgress } from './progress.js';

/** Tag set on every uploaded run: the id of the local run it came from, so a lost sync state can be rebuilt. */
export const SOURCE_RUN_TAG = 'mlflow-kit.sync.sourceRunId';

const MAX_METRICS_PER_BATCH = 1000;
const MAX_PARAMS_TAGS_PER_BATCH = 100;

/** Options of {@link syncLocalRuns}. */
export interface SyncOptions {
  /**
   * The local store to read: a directory or `file:` URI.
   * @defaultValue `'./mlruns'`
   */
  from?: string;
  /** The tracking server to upload to, `http(s)://host:port`. Credentials come from the usual MLFLOW_TRACKING_* variables. */
  to: string;
  /** Connection options of the destination (credentials, TLS, timeouts); `trackingUri` is `to`. */
  connection?: Omit<TrackingOptions, 'trackingUri' | 'enabled' | 'store'>;
  /** A store to upload to instead of one built from `to` (tests, custom backends). */
  destination?: TrackingStore;
  /**
   * Runs uploaded at the same time.
   * @defaultValue 4
   */
  concurrency?: number;
  /** Where the progress bar goes; `undefined` for none. @defaultValue `undefined` */
  progressStream?: ProgressStream;
  /** Called with the progress after every batch. */
  onProgress?: (progress: SyncProgress) => void;
}

/** What happened to one local run in a sync. */
export interface SyncedRun {
  localRunId: string;
  remoteRunId: string;
  experimentName: string;
  runName: string;
  /** `created` on the server by this sync, `resumed` (it existed and got more data), or `unchanged`. */
  outcome: 'created' | 'resumed' | 'unchanged' | 'failed';
  pointsUploaded: number;
  artifactsUploaded: number;
  /** Why the run failed, for `failed`. */
  error?: string;
}

/** The result of {@link syncLocalRuns}. */
export interface SyncSummary {
  /** The destination, without credentials. */
  destination: string;
  /** The local store, as a `file:` URI. */
  source: string;
  runs: SyncedRun[];
  /** Runs created on the server by this sync. */
  created: number;
  /** Runs that existed on the server and received more data. */
  resumed: number;
  /** Runs with nothing new to upload. */
  unchanged: number;
  /** Runs that could not be uploaded; see {@link SyncedRun.error}. */
  failed: number;
  pointsUploaded: number;
  paramsUploaded: number;
  tagsUploaded: number;
  artifactsUploaded: number;
  artifactBytesUploaded: number;
  durationMs: number;
  /** Metric points uploaded per second of the sync. */
  pointsPerSecond: number;
}

interface RunState {
  remoteRunId: string;
  remoteExperimentId: string;
  /** Points of each metric uploaded, counted in the local file's order. */
  metrics: Record<string, number>;
  paramsDigest?: string;
  tagsDigest?: string;
  finalDigest?: string;
  /** Size of each artifact file uploaded. */
  artifacts: Record<string, number>;
}

interface SyncState {
  version: 1;
  destination: string;
  runs: Record<string, RunState>;
}

interface OrderedMetricReader {
  readMetricPoints(runId: string, key: string): Promise<Metric[]>;
  listMetricKeys(runId: string): Promise<string[]>;
}

function hasOrderedReader(store: TrackingStore): store is TrackingStore & OrderedMetricReader {
  const candidate = store as Partial<OrderedMetricReader>;
  return typeof candidate.readMetricPoints === 'function' && typeof candidate.listMetricKeys === 'function';
}

function digest(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 32);
}

function errorCode(error: unknown): string | undefined {
  return MlflowApiError.isInstance(error) ? error.errorCode : undefined;
}

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  const temp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  await writeFile(temp, `${JSON.stringify(value)}\n`);
  await rename(temp, path);
}

async function acquireLock(path: string): Promise<() => Promise<void>> {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(path, 'wx');
      await handle.write(`${hostname()} ${process.pid}\n`);
      await handle.close();
      return () => unlink(path).catch(() => undefined);
    } catch (error) {
      if ((error as { code?: string }).code !== 'EEXIST') throw error;
      const [host, pid] = (await readFile(path, 'utf8').catch(() => '')).trim().split(' ');
      let alive = true;
      if (host === hostname() && pid) {
        try {
          process.kill(Number(pid), 0);
        } catch (probe) {
          alive = (probe as { code?: string }).code !== 'ESRCH';
        }
      } else if (((await stat(path).catch(() => undefined))?.mtimeMs ?? 0) < Date.now() - 6 * 3600_000) {
        alive = false;
      }
      if (alive) {
        throw new MlflowKitError(
          `Another mlflow-kit sync to this server is running on this store (${host ?? '?'} pid ${pid ?? '?'}). Wait for it, or delete ${path} if it is gone.`,
        );
      }
      await unlink(path).catch(() => undefined);
    }
  }
  throw new MlflowKitError(`Could not take the sync lock ${path}.`);
}

async function allPages<T>(
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

async function listFilesRecursively(
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

interface RunPlan {
  local: RunRecord;
  experimentName: string;
  state: RunState;
  keys: Map<string, number>;
  pending: number;
  outcome: SyncedRun['outcome'];
  result: SyncedRun;
}

/**
 * Uploads every run of a local store (MLflow's FileStore layout, as `LocalStore` writes it) to a tracking
 * server: experiments by name, run names, start and end times, status, params, every metric point with its
 * step and timestamp, tags, artifacts, and nested runs with their parents remapped to the server's ids.
 *
 * It is idempotent and resumable. What was uploaded is recorded in `<store>/.mlflow-kit-sync-<hash>.json`
 * (a file the official reader ignores) after every batch; every uploaded run carries the tag
 * `mlflow-kit.sync.sourceRunId`, so a lost state file is rebuilt from the server. A second sync uploads
 * nothing new; a sync killed halfway and run again completes without duplicates, because the server's SQL
 * store ignores exact duplicate metric points when a batch is replayed. Deleted runs and experiments are
 * not uploaded.
 *
 * @example
 * ```ts
 * import { syncLocalRuns } from '@mlflow-kit/cli';
 * const summary = await syncLocalRuns({ from: './mlruns', to: 'http://127.0.0.1:5000', progressStream: process.stderr });
 * console.log(`${summary.pointsUploaded} points, ${summary.created} new runs`);
 * ```
 */
export async function syncLocalRuns(options: SyncOptions): Promise<SyncSummary> {
  const started = Date.now();
  const sourceSettings = resolveSettings({ enabled: true, trackingUri: options.from ?? './mlruns' });
  if (sourceSettings.storeKind !== 'local' || sourceSettings.localPath === undefined) {
    throw new MlflowConfigError(
      `The sync source must be a local store directory, not ${redactUrl(options.from ?? '')}: pass a path such as ./mlruns.`,
      {
        setting: 'from',
      },
    );
  }
  const root = sourceSettings.localPath;
  if (!(await stat(root).catch(() => undefined))?.isDirectory()) {
    throw new MlflowConfigError(
      `There is no local store at ${root}: pass the directory your runs were written to (default ./mlruns).`,
      {
        setting: 'from',
      },
    );
  }
  let destination = options.destination;
  let ownsStores = false;
  if (!destination) {
    const destinationSettings = resolveSettings({
      ...options.connection,
      enabled: true,
      trackingUri: options.to,
    });
    if (destinationSettings.storeKind !== 'rest') {
      throw new MlflowConfigError(
        `sync uploads to a tracking server: pass --to http(s)://host:port, not ${redactUrl(options.to)} (a local store appends duplicate points when a batch is replayed).`,
        { setting: 'to' },
      );
    }
    destination = await getStore(destinationSettings);
    ownsStores = true;
  }
  const source = await getStore(sourceSettings);
  const destinationUri = destination.trackingUri;
  const key = digest(destinationUri).slice(0, 16);
  const statePath = join(root, `.mlflow-kit-sync-${key}.json`);
  const release = await acquireLock(join(root, `.mlflow-kit-sync-${key}.lock`));

  const summary: SyncSummary = {
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
  const reporter = new ProgressReporter(options.progressStream);
  const progress: SyncProgress = {
    pointsDone: 0,
    pointsTotal: 0,
    runsDone: 0,
    runsTotal: 0,
    artifactsDone: 0,
    elapsedMs: 0,
  };
  const report = (force = false): void => {
    progress.elapsedMs = Date.now() - started;
    reporter.update(progress, force);
    options.onProgress?.({ ...progress });
  };

  try {
    let state: SyncState = { version: 1, destination: destinationUri, runs: {} };
    const saved = await readFile(statePath, 'utf8').catch(() => undefined);
    if (saved !== undefined) {
      try {
        const parsed = JSON.parse(saved) as SyncState;
        if (parsed.version === 1 && parsed.runs) state = parsed;
      } catch {
        // A damaged state file is rebuilt from the server's sourceRunId tags.
      }
    }
    let saving: Promise<void> = Promise.resolve();
    let lastSave = 0;
    const saveState = (force = false): Promise<void> => {
      if (!force && Date.now() - lastSave < 500) return saving;
      lastSave = Date.now();
      const snapshot = JSON.parse(JSON.stringify(state)) as SyncState;
      saving = saving.then(() => writeJsonAtomic(statePath, snapshot));
      return saving;
    };

    // 1. What is local.
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
    const runs = parentsFirst(localRuns);
    progress.runsTotal = runs.length;
    report(true);

    // 2. Experiments on the server, by name.
    const remoteExperiments = new Map<string, Experiment>();
    const remoteExperiment = async (local: Experiment): Promise<Experiment> => {
      const known = remoteExperiments.get(local.experimentId);
      if (known) return known;
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
          `The experiment "${local.name}" is deleted on ${destinationUri}: restore it there, or rename the local one.`,
        );
      }
      for (const [tagKey, value] of Object.entries(local.tags)) {
        if (remote.tags[tagKey] !== value)
          await destination.setExperimentTag(remote.experimentId, tagKey, value);
      }
      remoteExperiments.set(local.experimentId, remote);
      return remote;
    };
    const recoveredIndex = new Map<string, Map<string, RunRecord>>();
    const findUploaded = async (
      remoteExperimentId: string,
      localRunId: string,
    ): Promise<RunRecord | undefined> => {
      let index = recoveredIndex.get(remoteExperimentId);
      if (!index) {
        index = new Map();
        const remoteRuns = await allPages((pageToken) =>
          destination.searchRuns({
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
        recoveredIndex.set(remoteExperimentId, index);
      }
      return index.get(localRunId);
    };

    // 3. One run on the server per local run, parents first so children can point at them.
    const plans: RunPlan[] = [];
    for (const local of runs) {
      const localId = local.info.runId;
      const experiment = experimentById.get(local.info.experimentId);
      const result: SyncedRun = {
        localRunId: localId,
        remoteRunId: '',
        experimentName: experiment?.name ?? '',
        runName: local.info.runName,
        outcome: 'unchanged',
        pointsUploaded: 0,
        artifactsUploaded: 0,
      };
      summary.runs.push(result);
      try {
        if (!experiment) throw new MlflowKitError(`Run ${localId} belongs to no active experiment.`);
        const remoteExp = await remoteExperiment(experiment);
        let runState = state.runs[localId];
        let outcome: SyncedRun['outcome'] = 'unchanged';
        if (runState) {
          try {
            const remote = await destination.getRun(runState.remoteRunId);
            if (remote.info.lifecycleStage === 'deleted') {
              throw new MlflowKitError(
                `Its copy ${runState.remoteRunId} is deleted on the server: restore it there to sync it again.`,
              );
            }
          } catch (error) {
            if (errorCode(error) !== 'RESOURCE_DOES_NOT_EXIST') throw error;
            runState = undefined;
          }
        }
        let recovered = false;
        if (!runState) {
          const uploaded = await findUploaded(remoteExp.experimentId, localId);
          if (uploaded) {
            recovered = true;
            outcome = 'resumed';
            runState = {
              remoteRunId: uploaded.info.runId,
              remoteExperimentId: remoteExp.experimentId,
              metrics: {},
              artifacts: {},
            };
          } else {
            const parentLocal = local.data.tags['mlflow.parentRunId'];
            const tags: Record<string, string> = { [SOURCE_RUN_TAG]: localId };
            if (parentLocal) tags['mlflow.parentRunId'] = state.runs[parentLocal]?.remoteRunId ?? parentLocal;
            const created = await destination.createRun({
              experimentId: remoteExp.experimentId,
              startTime: local.info.startTime,
              runName: local.info.runName,
              userId: local.info.userId,
              tags,
            });
            outcome = 'created';
            runState = {
              remoteRunId: created.info.runId,
              remoteExperimentId: remoteExp.experimentId,
              metrics: {},
              artifacts: {},
            };
          }
          state.runs[localId] = runState;
          await saveState(true);
        }
        result.remoteRunId = runState.remoteRunId;

        const keys = new Map<string, number>();
        let pending = 0;
        const metricKeys = hasOrderedReader(source)
          ? await source.listMetricKeys(localId)
          : Object.keys(local.data.metrics);
        for (const metricKey of metricKeys) {
          const total = (await readPoints(source, localId, metricKey)).length;
          if (recovered) {
            // Points already on the server, counted in history order: with exact duplicates the server kept
            // fewer, and the replay of the rest is ignored by the server.
            const remotePoints = await allPages((pageToken) =>
              destination.getMetricHistory(runState.remoteRunId, metricKey, {
                maxResults: 25_000,
                ...(pageToken ? { pageToken } : {}),
              }),
            );
            runState.metrics[metricKey] = Math.min(total, remotePoints.length);
          }
          keys.set(metricKey, total);
          pending += Math.max(0, total - (runState.metrics[metricKey] ?? 0));
        }
        if (recovered && local.info.artifactUri) {
          for (const [path, size] of await listFilesRecursively(
            destination,
            (await destination.getRun(runState.remoteRunId)).info.artifactUri,
          )) {
            runState.artifacts[path] = size;
          }
        }
        progress.pointsTotal += pending;
        plans.push({
          local,
          experimentName: experiment.name,
          state: runState,
          keys,
          pending,
          outcome,
          result,
        });
      } catch (error) {
        result.outcome = 'failed';
        result.error = describeError(error);
        progress.runsDone++;
      }
    }
    report(true);

    // 4. The data of each run, several runs at a time.
    await mapLimit(plans, options.concurrency ?? 4, async (plan) => {
      const { local, state: runState, result } = plan;
      const localId = local.info.runId;
      const remoteId = runState.remoteRunId;
      let changed = plan.outcome !== 'unchanged';
      try {
        const params: KeyValue[] = Object.entries(local.data.params).map(([k, value]) => ({ key: k, value }));
        const paramsDigest = digest(params);
        if (runState.paramsDigest !== paramsDigest) {
          for (let i = 0; i < params.length; i += MAX_PARAMS_TAGS_PER_BATCH) {
            await destination.logBatch(remoteId, { params: params.slice(i, i + MAX_PARAMS_TAGS_PER_BATCH) });
          }
          summary.paramsUploaded += params.length;
          runState.paramsDigest = paramsDigest;
          changed = true;
        }
        const tags: KeyValue[] = Object.entries(local.data.tags)
          .filter(([k]) => k !== SOURCE_RUN_TAG)
          .map(([k, value]) => ({
            key: k,
            value: k === 'mlflow.parentRunId' ? (state.runs[value]?.remoteRunId ?? value) : value,
          }));
        const tagsDigest = digest(tags);
        if (runState.tagsDigest !== tagsDigest) {
          for (let i = 0; i < tags.length; i += MAX_PARAMS_TAGS_PER_BATCH) {
            await destination.logBatch(remoteId, { tags: tags.slice(i, i + MAX_PARAMS_TAGS_PER_BATCH) });
          }
          summary.tagsUploaded += tags.length;
          runState.tagsDigest = tagsDigest;
          changed = true;
        }

        let batch: Metric[] = [];
        let batchEnds = new Map<string, number>();
        const sendBatch = async (): Promise<void> => {
          if (batch.length === 0) return;
          await destination.logBatch(remoteId, { metrics: batch });
          for (const [metricKey, end] of batchEnds) runState.metrics[metricKey] = end;
          summary.pointsUploaded += batch.length;
          result.pointsUploaded += batch.length;
          progress.pointsDone += batch.length;
          batch = [];
          batchEnds = new Map();
          changed = true;
          await saveState();
          report();
        };
        for (const [metricKey, total] of plan.keys) {
          const done = runState.metrics[metricKey] ?? 0;
          if (done >= total) continue;
          const points = await readPoints(source, localId, metricKey);
          for (let index = done; index < points.length; index++) {
            batch.push(points[index] as Metric);
            batchEnds.set(metricKey, index + 1);
            if (batch.length >= MAX_METRICS_PER_BATCH) await sendBatch();
          }
        }
        await sendBatch();

        if (local.info.artifactUri) {
          const remoteArtifactUri = (await destination.getRun(remoteId)).info.artifactUri;
          const localFiles = await listFilesRecursively(source, local.info.artifactUri);
          for (const [path, size] of localFiles) {
            if (runState.artifacts[path] === size) continue;
            const artifactSource = local.info.artifactUri.startsWith('file:')
              ? { file: join(fileURLToPath(local.info.artifactUri), ...path.split('/')) }
              : { bytes: await source.downloadArtifact(local.info.artifactUri, path) };
            await destination.uploadArtifact(remoteArtifactUri, path, artifactSource);
            runState.artifacts[path] = size;
            summary.artifactsUploaded++;
            summary.artifactBytesUploaded += size;
            result.artifactsUploaded++;
            progress.artifactsDone++;
            changed = true;
            await saveState();
            report();
          }
        }

        const final = { status: local.info.status, endTime: local.info.endTime ?? null };
        const finalDigest = digest(final);
        if (runState.finalDigest !== finalDigest) {
          await destination.updateRun(remoteId, {
            status: local.info.status,
            ...(local.info.endTime !== undefined ? { endTime: local.info.endTime } : {}),
          });
          runState.finalDigest = finalDigest;
          changed = true;
        }
        result.outcome = plan.outcome === 'created' ? 'created' : changed ? 'resumed' : 'unchanged';
      } catch (error) {
        result.outcome = 'failed';
        result.error = describeError(error);
      }
      // A worker must not reject: Promise.all would then release the lock and close the stores while
      // other workers are still uploading.
      try {
        await saveState(true);
      } catch (error) {
        result.outcome = 'failed';
        result.error ??= `could not save the sync state: ${describeError(error)}`;
      }
      progress.runsDone++;
      report();
    });
    await saveState(true);
    await saving;
  } finally {
    await release();
    summary.durationMs = Date.now() - started;
    progress.elapsedMs = summary.durationMs;
    reporter.finish(progress);
    if (ownsStores) await closeStores();
  }
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

async function readPoints(store: TrackingStore, runId: string, key: string): Promise<Metric[]> {
  if (hasOrderedReader(store)) return store.readMetricPoints(runId, key);
  return allPages((pageToken) =>
    store.getMetricHistory(runId, key, { maxResults: 25_000, ...(pageToken ? { pageToken } : {}) }),
  );
}

/** Formats a {@link SyncSummary} as the few lines the CLI prints at the end. */
export function formatSyncSummary(summary: SyncSummary): string {
  const seconds = (summary.durationMs / 1000).toFixed(1);
  const lines = [
    `Synced ${summary.source} → ${summary.destination} in ${seconds} s`,
    `  runs: ${summary.runs.length} (${summary.created} created, ${summary.resumed} resumed, ${summary.unchanged} unchanged, ${summary.failed} failed)`,
    `  uploaded: ${summary.pointsUploaded.toLocaleString('en-US')} metric points (${summary.pointsPerSecond.toLocaleString('en-US')}/s), ` +
      `${summary.paramsUploaded} params, ${summary.tagsUploaded} tags, ${summary.artifactsUploaded} artifacts (${summary.artifactBytesUploaded.toLocaleString('en-US')} bytes)`,
  ];
  for (const run of summary.runs) {
    if (run.outcome === 'failed')
      lines.push(`  ✗ ${run.experimentName}/${run.runName} (${run.localRunId}): ${run.error ?? 'failed'}`);
  }
  return lines.join('\n');
}
