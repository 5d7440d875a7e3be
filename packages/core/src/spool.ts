import { createHash } from 'node:crypto';
import {
  appendFileSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  writeFileSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { diag } from './diag.js';
import { MlflowConfigError } from './errors.js';
import { dumpYaml, metricLinesByKey, parseYaml, STATUS_TO_NUMBER } from './internal/local-format.js';
import { writeDatasetInputsSync } from './internal/local-inputs.js';
import { replaySpoolRun } from './internal/spool-replay.js';
import type { SpoolSink } from './internal/spool-sink.js';
import type { ArtifactSource, TrackingStore } from './store.js';
import type { DatasetInput, LogBatch, RunStatus } from './types.js';

/** The sidecar file in a spooled run's folder; MLflow's FileStore reader and ours ignore it. */
export const SPOOL_SIDECAR = 'mlflow-kit-spool.json';

/** What a spooled run belongs to, kept in {@link SPOOL_SIDECAR}. */
export interface SpoolRunTarget {
  /** The tracking server the data was meant for (no credentials). */
  trackingUri: string;
  /** Id of the run on that server, when it was created there; `undefined` for a run started offline. */
  remoteRunId: string | undefined;
  /** Id of the run's experiment on that server, when known. */
  remoteExperimentId: string | undefined;
  /** Name of the experiment: a replay finds or creates the experiment on the server by this name. */
  experimentName: string;
  /** Id of the run in the spool (its folder name): the remote id when there is one, else a local id. */
  localRunId: string;
  runName: string;
  /** Unix epoch milliseconds. */
  startTime: number;
  userId: string;
  /** Tags the run was created with: written for runs started offline, which the replay creates. */
  tags?: Record<string, string> | undefined;
}

type Env = Record<string, string | undefined>;

/**
 * The spool root: the `spoolDir` option, else `MLFLOW_KIT_SPOOL_DIR`, else `$XDG_CACHE_HOME/mlflow-kit/spool`,
 * else `~/.cache/mlflow-kit/spool`.
 */
export function resolveSpoolDir(option?: string, env: Env = process.env): string {
  const given = option ?? env.MLFLOW_KIT_SPOOL_DIR;
  if (given !== undefined) {
    if (given.trim() === '') {
      throw new MlflowConfigError(
        'MLFLOW_KIT_SPOOL_DIR is empty: set it to a writable directory, or unset it to use ~/.cache/mlflow-kit/spool.',
        { setting: 'spoolDir' },
      );
    }
    return isAbsolute(given) ? given : resolve(given);
  }
  const cache =
    env.XDG_CACHE_HOME && isAbsolute(env.XDG_CACHE_HOME) ? env.XDG_CACHE_HOME : join(homedir(), '.cache');
  return join(cache, 'mlflow-kit', 'spool');
}

/** The key `mlflow-kit sync` files its state for a destination under (`.mlflow-kit-sync-<key>.json`). */
function syncStateKey(trackingUri: string): string {
  return createHash('sha256').update(JSON.stringify(trackingUri)).digest('hex').slice(0, 16);
}

/**
 * The local store that holds the spooled runs of one tracking server: `<spoolDir>/<host>-<hash>`. Each
 * destination has its own store, so that `mlflow-kit sync <store> --to <uri>` uploads exactly its runs.
 */
export function spoolStoreDir(spoolDir: string, trackingUri: string): string {
  let host = 'server';
  try {
    const url = new URL(trackingUri);
    host = `${url.hostname}${url.port ? `_${url.port}` : ''}`;
  } catch {
    // Not a URL: the hash alone names the folder.
  }
  return join(spoolDir, `${host.replace(/[^A-Za-z0-9._-]/g, '_')}-${syncStateKey(trackingUri).slice(0, 8)}`);
}

/** The exact command that uploads a spool store to its server. */
export function syncCommand(storeDir: string, trackingUri: string): string {
  const quote = (text: string): string =>
    /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
  return `mlflow-kit sync ${quote(storeDir)} --to ${quote(trackingUri)}`;
}

function writeFileAtomicSync(path: string, text: string): void {
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, text);
  renameSync(temp, path);
}

function readJson<T>(path: string): T | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

/**
 * One run's spool: the data of a run that the server could not take, written synchronously (so it works
 * from `process.on('exit')` and crash handlers) into a local store in MLflow's FileStore layout.
 *
 * A run that exists on the server keeps its id in the spool, and the spool store's `mlflow-kit sync` state
 * file maps it to that same remote run, so `mlflow-kit sync` adds the spooled data to it instead of creating
 * a new run. A run started offline gets a local id; the replay creates it on the server.
 */
export class RunSpool implements SpoolSink {
  /** The spool store this run is written to. */
  readonly storeDir: string;
  private runDir: string | undefined;
  private readonly madeDirs = new Set<string>();
  private pointCount = 0;
  private itemCount = 0;
  private statusWritten: RunStatus | undefined;
  private replayedPointCount = 0;
  private createInFlight: Promise<void> | undefined;
  private replayedItemCount = 0;
  private statusReplayed = false;

  constructor(
    spoolDir: string,
    private readonly target: SpoolRunTarget,
  ) {
    this.storeDir = spoolStoreDir(spoolDir, target.trackingUri);
  }

  /** Metric points written to the spool. */
  get points(): number {
    return this.pointCount;
  }

  /** Points, params, tags and artifacts written to the spool. */
  get items(): number {
    return this.itemCount;
  }

  /** Whether anything (data or the end status) is in the spool. */
  get used(): boolean {
    return this.runDir !== undefined;
  }

  /** Id of the run in the spool store (its folder name). */
  get localRunId(): string {
    return this.target.localRunId;
  }

  /** Metric points of the spool that a replay has uploaded to the server. */
  get replayedPoints(): number {
    return this.replayedPointCount;
  }

  /** Metric points in the spool not yet uploaded by a replay. */
  get pendingPoints(): number {
    return this.pointCount - this.replayedPointCount;
  }

  /** Whether something in the spool (data or the end status) has not reached the server yet. */
  get pending(): boolean {
    return (
      this.used &&
      (this.pointCount > this.replayedPointCount ||
        this.itemCount > this.replayedItemCount ||
        (this.statusWritten !== undefined && !this.statusReplayed))
    );
  }

  /**
   * Records a successful replay: what the spool held when it started (`points`, `items`, and whether the end
   * status was written by then) is on the server. The sync state file keeps the per-file counts, so the next
   * replay uploads only what was appended since.
   */
  markReplayed(snapshot: { points: number; items: number; statusWritten: boolean }): void {
    this.replayedPointCount = Math.max(this.replayedPointCount, snapshot.points);
    this.replayedItemCount = Math.max(this.replayedItemCount, snapshot.items);
    if (snapshot.statusWritten) this.statusReplayed = true;
  }

  /** The end status written to the spool, if any. */
  get endStatus(): RunStatus | undefined {
    return this.statusWritten;
  }

  /** The command that uploads this spool. */
  get command(): string {
    return syncCommand(this.storeDir, this.target.trackingUri);
  }

  /**
   * Uploads what is pending to `destination` with the sync engine, one replay per spool at a time. While the
   * run's own create request is still in flight (see {@link RunSpool.holdReplayUntil}) it waits for that
   * request to settle first (callers bound the wait: `end()` by its exit bound).
   */
  async replay(destination: TrackingStore): Promise<string | undefined> {
    if (this.createInFlight) {
      diag.debug(
        `Run ${this.target.localRunId}: its create request is still in flight; the replay waits for it.`,
      );
      await this.createInFlight;
    }
    return replaySpoolRun(this, destination);
  }

  /**
   * Holds replays until `create` (the run's create request, and its adoption) settles: a replay meanwhile
   * would create the run a second time. If the process ends first, the create request's source tag lets
   * `mlflow-kit sync` find the run it made.
   */
  holdReplayUntil(create: Promise<unknown>): void {
    const held: Promise<void> = create.then(
      () => this.settleCreate(held),
      () => this.settleCreate(held),
    );
    this.createInFlight = held;
  }

  private settleCreate(held: Promise<void>): void {
    if (this.createInFlight === held) this.createInFlight = undefined;
  }

  /** Appends a batch: metric lines to their files, params and tags as files. */
  writeBatch(batch: LogBatch): void {
    const dir = this.open();
    for (const [key, lines] of metricLinesByKey(batch.metrics)) {
      const path = join(dir, 'metrics', ...key.split('/'));
      this.mkdir(dirname(path));
      appendFileSync(path, lines);
    }
    for (const param of batch.params ?? []) {
      const path = join(dir, 'params', ...param.key.split('/'));
      this.mkdir(dirname(path));
      writeFileSync(path, param.value);
    }
    for (const tag of batch.tags ?? []) {
      const path = join(dir, 'tags', ...tag.key.split('/'));
      this.mkdir(dirname(path));
      writeFileSync(path, tag.value);
    }
    const points = batch.metrics?.length ?? 0;
    this.pointCount += points;
    this.itemCount += points + (batch.params?.length ?? 0) + (batch.tags?.length ?? 0);
  }

  /** Copies one artifact file into the spooled run's artifacts. */
  writeArtifact(relativePath: string, source: ArtifactSource): void {
    const dir = this.open();
    const path = join(dir, 'artifacts', ...relativePath.split('/'));
    this.mkdir(dirname(path));
    if ('file' in source) copyFileSync(source.file, path);
    else writeFileSync(path, source.bytes);
    this.itemCount++;
  }

  /** Records dataset inputs of the run, in FileStore layout, for the replay to send with `log-inputs`. */
  writeInputs(datasets: DatasetInput[]): void {
    const dir = this.open();
    writeDatasetInputsSync(dir, this.target.localRunId, datasets);
    this.itemCount += datasets.length;
  }

  /** Records the run's end status and time, for the replay to apply after the data. */
  writeEnd(status: RunStatus, endTime: number): void {
    const dir = this.open();
    const meta = parseYaml(readFileSync(join(dir, 'meta.yaml'), 'utf8'));
    meta.status = STATUS_TO_NUMBER[status];
    meta.end_time = endTime;
    writeFileAtomicSync(join(dir, 'meta.yaml'), dumpYaml(meta));
    this.statusWritten = status;
  }

  /**
   * Maps a run started offline to the server run created for it later, so that the replay uploads into that
   * run instead of creating another one.
   */
  adoptRemote(remoteRunId: string, remoteExperimentId: string): void {
    this.target.remoteRunId = remoteRunId;
    this.target.remoteExperimentId = remoteExperimentId;
    if (this.runDir) this.writeMapping(this.runDir);
  }

  private mkdir(dir: string): void {
    if (this.madeDirs.has(dir)) return;
    mkdirSync(dir, { recursive: true });
    this.madeDirs.add(dir);
  }

  private open(): string {
    if (this.runDir) return this.runDir;
    const target = this.target;
    const experimentDir = this.experimentDir();
    const runDir = join(experimentDir, target.localRunId);
    for (const sub of ['metrics', 'params', 'tags', 'artifacts']) this.mkdir(join(runDir, sub));
    if (!existsSync(join(runDir, 'meta.yaml'))) {
      const tags = { ...target.tags, 'mlflow.runName': target.runName };
      for (const [key, value] of Object.entries(tags)) {
        const path = join(runDir, 'tags', ...key.split('/'));
        this.mkdir(dirname(path));
        writeFileSync(path, value);
      }
      const meta = {
        artifact_uri: pathToFileURL(join(runDir, 'artifacts')).href,
        end_time: null,
        entry_point_name: '',
        experiment_id: experimentDir.slice(this.storeDir.length + 1),
        lifecycle_stage: 'active',
        run_id: target.localRunId,
        run_name: target.runName,
        source_name: '',
        source_type: 4,
        source_version: '',
        start_time: target.startTime,
        status: STATUS_TO_NUMBER.RUNNING,
        tags: [],
        user_id: target.userId,
      };
      // meta.yaml last: until it exists, readers skip the folder.
      writeFileAtomicSync(join(runDir, 'meta.yaml'), dumpYaml(meta));
    }
    this.writeMapping(runDir);
    this.runDir = runDir;
    return runDir;
  }

  // The experiment folder: the server's experiment id when known, else the spool experiment of that name,
  // else a new one. `mlflow-kit sync` maps experiments by name.
  private experimentDir(): string {
    const { remoteExperimentId, experimentName } = this.target;
    this.mkdir(join(this.storeDir, '.trash'));
    let id = remoteExperimentId;
    if (id === undefined) {
      for (const entry of readdirSync(this.storeDir, { withFileTypes: true })) {
        if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
        const meta = join(this.storeDir, entry.name, 'meta.yaml');
        if (!existsSync(meta)) continue;
        if (parseYaml(readFileSync(meta, 'utf8')).name === experimentName)
          return join(this.storeDir, entry.name);
      }
      id =
        experimentName === 'Default'
          ? '0'
          : `9${String(Date.now()).slice(-9)}${String(process.pid).padStart(7, '0')}`;
    }
    const dir = join(this.storeDir, id);
    this.mkdir(dir);
    if (!existsSync(join(dir, 'meta.yaml'))) {
      const now = Date.now();
      writeFileAtomicSync(
        join(dir, 'meta.yaml'),
        dumpYaml({
          artifact_location: pathToFileURL(dir).href,
          creation_time: now,
          experiment_id: id,
          last_update_time: now,
          lifecycle_stage: 'active',
          name: experimentName,
        }),
      );
    }
    return dir;
  }

  // The sidecar says where the run belongs; the sync state (read by `mlflow-kit sync`) maps the spooled run
  // to its remote run so the data lands there.
  private writeMapping(runDir: string): void {
    const target = this.target;
    writeFileAtomicSync(
      join(runDir, SPOOL_SIDECAR),
      `${JSON.stringify({
        version: 1,
        trackingUri: target.trackingUri,
        remoteRunId: target.remoteRunId ?? null,
        remoteExperimentId: target.remoteExperimentId ?? null,
        localRunId: target.localRunId,
        experimentName: target.experimentName,
      })}\n`,
    );
    if (target.remoteRunId === undefined || target.remoteExperimentId === undefined) return;
    const statePath = join(this.storeDir, `.mlflow-kit-sync-${syncStateKey(target.trackingUri)}.json`);
    const state = readJson<{ version: 1; destination: string; runs: Record<string, unknown> }>(statePath) ?? {
      version: 1,
      destination: target.trackingUri,
      runs: {},
    };
    if (state.runs[target.localRunId]) return;
    state.runs[target.localRunId] = {
      remoteRunId: target.remoteRunId,
      remoteExperimentId: target.remoteExperimentId,
      metrics: {},
      artifacts: {},
    };
    writeFileAtomicSync(statePath, `${JSON.stringify(state)}\n`);
  }
}
