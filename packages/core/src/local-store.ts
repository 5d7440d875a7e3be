import { randomInt, randomUUID } from 'node:crypto';
import { copyFile, mkdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import { isAbsolute, join, posix, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { MlflowApiError } from './errors.js';
import {
  dumpYaml,
  formatMetricLine,
  generateRunName,
  parseMetricLines,
  parseYaml,
  STATUS_TO_NUMBER,
  statusFromMeta,
} from './internal/local-format.js';
import {
  appendLines,
  createFileExclusive,
  exists,
  isErrno,
  readDirectoryIfExists,
  readTextIfExists,
  tempPathFor,
  withFileLock,
  writeFileAtomic,
} from './internal/local-fs.js';
import {
  type FieldReader,
  type FilterField,
  latestValue,
  matchesFilter,
  orderAndPaginate,
  paginate,
  parseFilter,
  parseOrderBy,
  searchRunRecords,
  viewMatches,
} from './internal/search.js';
import type {
  ArtifactSource,
  CreateRunRequest,
  SearchExperimentsOptions,
  SearchRunsOptions,
  TrackingStore,
  UpdateRunRequest,
} from './store.js';
import type { Experiment, FileInfo, LogBatch, Metric, Page, RunInfo, RunRecord, ViewType } from './types.js';
import { keyProblem } from './validation.js';

const TRASH = '.trash';
/** Folders at the root that are not experiments (MLflow's `.trash` and the model registry's `models`). */
const RESERVED_ROOT = new Set([TRASH, 'models']);
/** Folders inside an experiment that are not runs (`RESERVED_EXPERIMENT_FOLDERS`). */
const RESERVED_EXPERIMENT = new Set(['tags', 'datasets', 'traces', 'models']);
const RUN_ID = /^[a-zA-Z0-9][\w-]{0,255}$/;
const EXPERIMENT_ID = /^[0-9]{1,30}$/;
const TEMP_FILE = /^\..+\.[0-9]+\.[0-9a-f]{12}\.tmp$/;
const EXPERIMENTS_LOCK = '.mlflow-kit-experiments.lock';

type Meta = Record<string, unknown>;

function apiError(operation: string, errorCode: string, message: string, status = 400): MlflowApiError {
  return new MlflowApiError({
    endpoint: `local ${operation}`,
    status,
    errorCode,
    serverMessage: message,
    retryable: false,
  });
}

function notFound(operation: string, message: string): MlflowApiError {
  return apiError(operation, 'RESOURCE_DOES_NOT_EXIST', message, 404);
}

function str(value: unknown, fallback = ''): string {
  return value === null || value === undefined ? fallback : String(value);
}

function optionalNumber(value: unknown): number | undefined {
  if (value === null || value === undefined || value === '') return undefined;
  const number = Number(value);
  return Number.isFinite(number) ? number : undefined;
}

/** Lists the files under `directory` recursively as keys (`a/b` for `directory/a/b`), skipping temp files. */
async function readKeyFiles(directory: string, prefix = ''): Promise<string[]> {
  const entries = await readDirectoryIfExists(directory);
  const keys: string[] = [];
  for (const entry of entries) {
    if (TEMP_FILE.test(entry.name)) continue;
    const key = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
    if (entry.isDirectory()) keys.push(...(await readKeyFiles(join(directory, entry.name), key)));
    else if (entry.isFile()) keys.push(key);
  }
  return keys;
}

async function readKeyValues(directory: string): Promise<Record<string, string>> {
  const result: Record<string, string> = {};
  for (const key of await readKeyFiles(directory)) {
    const value = await readTextIfExists(join(directory, ...key.split('/')));
    if (value !== undefined) result[key] = value;
  }
  return result;
}

async function listSubdirectories(directory: string): Promise<string[]> {
  return (await readDirectoryIfExists(directory))
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name);
}

function checkKey(operation: string, kind: string, key: string): void {
  const problem = keyProblem(key);
  if (problem !== undefined)
    throw apiError(
      operation,
      'INVALID_PARAMETER_VALUE',
      `Invalid ${kind} name ${JSON.stringify(key)}: ${problem}.`,
    );
}

/**
 * The embedded default store: MLflow's FileStore layout in a directory (`./mlruns` unless configured),
 * with no server and no Python. What it writes is read by the official client
 * (`MLFLOW_TRACKING_URI=file:///abs/mlruns`, plus `MLFLOW_ALLOW_FILE_STORE=true` since MLflow 3.13) and
 * served by `MLFLOW_ALLOW_FILE_STORE=true mlflow server --backend-store-uri ./mlruns`; `mlflow-kit sync`
 * uploads it to any tracking server.
 *
 * Several processes may write to one directory at once: metadata is replaced atomically (temporary file
 * and rename), params are created exclusively, metric points are appended as whole lines with one
 * `write()`, and experiment creation is serialised by a lock file, so two processes never create two
 * experiments with one name. A process killed mid-write leaves a directory the official client reads.
 *
 * The model registry is not available on the local store.
 *
 * @example
 * ```ts
 * import { LocalStore } from '@mlflow-kit/core';
 * const store = new LocalStore('./mlruns');
 * const experimentId = await store.createExperiment('demo');
 * const run = await store.createRun({ experimentId, startTime: Date.now(), userId: 'me', tags: {} });
 * await store.logBatch(run.info.runId, { metrics: [{ key: 'loss', value: 0.5, timestamp: Date.now(), step: 0 }] });
 * ```
 */
export class LocalStore implements TrackingStore {
  /** Always `local`. */
  readonly kind = 'local' as const;
  /** The `file://` URI of the root directory. */
  readonly trackingUri: string;
  /** Absolute path of the root directory. */
  readonly rootDir: string;

  private ready: Promise<void> | undefined;
  private readonly runDirs = new Map<string, string>();
  private readonly checkedMetricFiles = new Set<string>();
  private readonly madeDirs = new Set<string>();

  /**
   * @param rootDir - the store's directory, as a path (relative paths resolve against the working
   * directory) or a `file:` URI. It is created on first use, with the `Default` experiment `0`.
   */
  constructor(rootDir: string) {
    this.rootDir = rootDir.startsWith('file:') ? fileURLToPath(rootDir) : resolve(rootDir);
    this.trackingUri = pathToFileURL(this.rootDir).href;
  }

  // ---------------------------------------------------------------- setup

  private ensureRoot(): Promise<void> {
    this.ready ??= this.initRoot().catch((error: unknown) => {
      this.ready = undefined;
      throw error;
    });
    return this.ready;
  }

  private async initRoot(): Promise<void> {
    await mkdir(join(this.rootDir, TRASH), { recursive: true });
    const defaultDir = join(this.rootDir, '0');
    if (!(await exists(join(defaultDir, 'meta.yaml'))) && !(await exists(join(this.rootDir, TRASH, '0')))) {
      await mkdir(defaultDir, { recursive: true });
      const now = Date.now();
      // Two processes may both get here; both write the same meta.yaml atomically, so either wins.
      await writeFileAtomic(
        join(defaultDir, 'meta.yaml'),
        dumpYaml(this.experimentMeta('0', 'Default', `${this.trackingUri}/0`, now)),
      );
    }
  }

  private experimentMeta(experimentId: string, name: string, artifactLocation: string, now: number): Meta {
    return {
      artifact_location: artifactLocation,
      creation_time: now,
      effective_trace_archival_retention: null,
      experiment_id: experimentId,
      last_update_time: now,
      lifecycle_stage: 'active',
      name,
      trace_location: null,
      workspace: 'default',
    };
  }

  private async mkdirCached(directory: string): Promise<void> {
    if (this.madeDirs.has(directory)) return;
    await mkdir(directory, { recursive: true });
    this.madeDirs.add(directory);
  }

  // ---------------------------------------------------------------- experiments

  private async experimentDirectory(
    experimentId: string,
  ): Promise<{ dir: string; deleted: boolean } | undefined> {
    if (!EXPERIMENT_ID.test(experimentId)) return undefined;
    const active = join(this.rootDir, experimentId);
    if (await exists(join(active, 'meta.yaml'))) return { dir: active, deleted: false };
    const trashed = join(this.rootDir, TRASH, experimentId);
    if (await exists(join(trashed, 'meta.yaml'))) return { dir: trashed, deleted: true };
    return undefined;
  }

  private async readExperiment(dir: string): Promise<Experiment | undefined> {
    const text = await readTextIfExists(join(dir, 'meta.yaml'));
    if (text === undefined) return undefined;
    const meta = parseYaml(text);
    const experiment: Experiment = {
      experimentId: str(meta.experiment_id),
      name: str(meta.name),
      artifactLocation: str(meta.artifact_location),
      lifecycleStage: meta.lifecycle_stage === 'deleted' ? 'deleted' : 'active',
      creationTime: optionalNumber(meta.creation_time),
      lastUpdateTime: optionalNumber(meta.last_update_time),
      tags: await readKeyValues(join(dir, 'tags')),
    };
    return experiment;
  }

  private async allExperiments(viewType: ViewType): Promise<Experiment[]> {
    await this.ensureRoot();
    const dirs: string[] = [];
    if (viewType !== 'DELETED_ONLY') {
      for (const name of await listSubdirectories(this.rootDir)) {
        if (!RESERVED_ROOT.has(name) && EXPERIMENT_ID.test(name)) dirs.push(join(this.rootDir, name));
      }
    }
    if (viewType !== 'ACTIVE_ONLY') {
      for (const name of await listSubdirectories(join(this.rootDir, TRASH))) {
        if (EXPERIMENT_ID.test(name)) dirs.push(join(this.rootDir, TRASH, name));
      }
    }
    const experiments = await Promise.all(dirs.map((dir) => this.readExperiment(dir)));
    return experiments.filter(
      (experiment): experiment is Experiment =>
        experiment !== undefined && viewMatches(viewType, experiment.lifecycleStage),
    );
  }

  /** Reads an experiment, active or deleted. Throws `RESOURCE_DOES_NOT_EXIST` when there is none. */
  async getExperiment(experimentId: string): Promise<Experiment> {
    await this.ensureRoot();
    const location = await this.experimentDirectory(experimentId);
    const experiment = location && (await this.readExperiment(location.dir));
    if (!experiment) throw notFound('getExperiment', `No Experiment with id=${experimentId} exists`);
    return experiment;
  }

  /** The experiment with this name (the active one if a deleted one has the same name), or `undefined`. */
  async getExperimentByName(name: string): Promise<Experiment | undefined> {
    const all = await this.allExperiments('ALL');
    return (
      all.find((experiment) => experiment.name === name && experiment.lifecycleStage === 'active') ??
      all.find((experiment) => experiment.name === name)
    );
  }

  /**
   * Creates an experiment with a random 18-digit id, as MLflow's FileStore does. Safe against other
   * processes creating the same name at the same time: one wins, the others get `RESOURCE_ALREADY_EXISTS`.
   */
  async createExperiment(
    name: string,
    options: { artifactLocation?: string; tags?: Record<string, string> } = {},
  ): Promise<string> {
    if (typeof name !== 'string' || name.trim() === '') {
      throw apiError(
        'createExperiment',
        'INVALID_PARAMETER_VALUE',
        'Invalid experiment name: the name must be a non-empty string.',
      );
    }
    for (const key of Object.keys(options.tags ?? {})) checkKey('createExperiment', 'tag', key);
    await this.ensureRoot();
    return withFileLock(join(this.rootDir, EXPERIMENTS_LOCK), async () => {
      const existing = (await this.allExperiments('ALL')).find((experiment) => experiment.name === name);
      if (existing) {
        throw apiError(
          'createExperiment',
          'RESOURCE_ALREADY_EXISTS',
          `Experiment '${name}' already exists${existing.lifecycleStage === 'deleted' ? ' in deleted state' : ''} (id ${existing.experimentId}).`,
        );
      }
      for (;;) {
        const experimentId =
          String(randomInt(1, 10)) + Array.from({ length: 17 }, () => randomInt(0, 10)).join('');
        const dir = join(this.rootDir, experimentId);
        try {
          await mkdir(dir);
        } catch (error) {
          if (isErrno(error, 'EEXIST')) continue;
          throw error;
        }
        const now = Date.now();
        const artifactLocation = options.artifactLocation ?? `${this.trackingUri}/${experimentId}`;
        for (const [key, value] of Object.entries(options.tags ?? {})) {
          const target = join(dir, 'tags', ...key.split('/'));
          await mkdir(join(target, '..'), { recursive: true });
          await writeFileAtomic(target, value, dir);
        }
        // meta.yaml last: until it exists, readers (ours and MLflow's) skip the folder.
        await writeFileAtomic(
          join(dir, 'meta.yaml'),
          dumpYaml(this.experimentMeta(experimentId, name, artifactLocation, now)),
        );
        return experimentId;
      }
    });
  }

  /** Searches experiments; the filter supports `name`, `experiment_id`, `creation_time`, `last_update_time` and `tags.<key>`. */
  async searchExperiments(options: SearchExperimentsOptions = {}): Promise<Page<Experiment>> {
    const endpoint = 'local searchExperiments';
    const clauses = parseFilter(options.filter, endpoint);
    parseOrderBy(options.orderBy, endpoint);
    const reader =
      (experiment: Experiment): FieldReader =>
      (field: FilterField) => {
        if (field.kind === 'tags') return experiment.tags[field.key];
        switch (field.key) {
          case 'name':
            return experiment.name;
          case 'experiment_id':
            return experiment.experimentId;
          case 'creation_time':
            return experiment.creationTime;
          case 'last_update_time':
            return experiment.lastUpdateTime;
          case 'lifecycle_stage':
            return experiment.lifecycleStage;
          default:
            return undefined;
        }
      };
    const experiments = (await this.allExperiments(options.viewType ?? 'ACTIVE_ONLY')).filter((experiment) =>
      matchesFilter(clauses, reader(experiment)),
    );
    return orderAndPaginate(
      experiments,
      options,
      [
        ['creation_time', false],
        ['experiment_id', true],
      ],
      reader,
      endpoint,
    );
  }

  private async writeExperimentMeta(dir: string, update: (meta: Meta) => void): Promise<void> {
    const text = await readFile(join(dir, 'meta.yaml'), 'utf8');
    const meta = parseYaml(text);
    update(meta);
    await writeFileAtomic(join(dir, 'meta.yaml'), dumpYaml(meta));
  }

  /**
   * Deletes an experiment as MLflow does: marks it and its runs deleted and moves its folder to `.trash`.
   * The `Default` experiment `0` cannot be deleted.
   */
  async deleteExperiment(experimentId: string): Promise<void> {
    await this.ensureRoot();
    if (experimentId === '0')
      throw apiError(
        'deleteExperiment',
        'INVALID_PARAMETER_VALUE',
        "Cannot delete the default experiment '0'.",
      );
    const location = await this.experimentDirectory(experimentId);
    if (!location) throw notFound('deleteExperiment', `No Experiment with id=${experimentId} exists`);
    if (location.deleted) return;
    const now = Date.now();
    for (const runId of await this.runIdsIn(location.dir)) {
      await this.writeRunMeta(join(location.dir, runId), (meta) => {
        if (meta.lifecycle_stage !== 'deleted') {
          meta.lifecycle_stage = 'deleted';
          meta.deleted_time = now;
        }
      });
    }
    await this.writeExperimentMeta(location.dir, (meta) => {
      meta.lifecycle_stage = 'deleted';
      meta.last_update_time = now;
    });
    await rename(location.dir, join(this.rootDir, TRASH, experimentId));
    this.runDirs.clear();
  }

  /** Restores a deleted experiment and the runs that were deleted with it. */
  async restoreExperiment(experimentId: string): Promise<void> {
    await this.ensureRoot();
    const location = await this.experimentDirectory(experimentId);
    if (!location) throw notFound('restoreExperiment', `No Experiment with id=${experimentId} exists`);
    if (!location.deleted) return;
    const target = join(this.rootDir, experimentId);
    let deletedAt: unknown;
    await this.writeExperimentMeta(location.dir, (meta) => {
      deletedAt = meta.last_update_time;
      meta.lifecycle_stage = 'active';
      meta.last_update_time = Date.now();
    });
    await rename(location.dir, target);
    this.runDirs.clear();
    for (const runId of await this.runIdsIn(target)) {
      await this.writeRunMeta(join(target, runId), (meta) => {
        if (meta.lifecycle_stage === 'deleted' && meta.deleted_time === deletedAt) {
          meta.lifecycle_stage = 'active';
          meta.deleted_time = null;
        }
      });
    }
  }

  /** Sets an experiment tag (`<experiment>/tags/<key>`). */
  async setExperimentTag(experimentId: string, key: string, value: string): Promise<void> {
    checkKey('setExperimentTag', 'tag', key);
    await this.ensureRoot();
    const location = await this.experimentDirectory(experimentId);
    if (!location) throw notFound('setExperimentTag', `No Experiment with id=${experimentId} exists`);
    if (location.deleted) {
      throw apiError(
        'setExperimentTag',
        'INVALID_PARAMETER_VALUE',
        `The experiment ${experimentId} must be in the 'active' state.`,
      );
    }
    const target = join(location.dir, 'tags', ...key.split('/'));
    await mkdir(join(target, '..'), { recursive: true });
    await writeFileAtomic(target, value, location.dir);
  }

  // ---------------------------------------------------------------- runs

  private async runIdsIn(experimentDir: string): Promise<string[]> {
    const ids: string[] = [];
    for (const name of await listSubdirectories(experimentDir)) {
      if (RESERVED_EXPERIMENT.has(name) || !RUN_ID.test(name)) continue;
      if (await exists(join(experimentDir, name, 'meta.yaml'))) ids.push(name);
    }
    return ids;
  }

  private async findRunDirectory(runId: string, operation: string): Promise<string> {
    if (typeof runId !== 'string' || !RUN_ID.test(runId))
      throw notFound(operation, `Run '${runId}' not found`);
    await this.ensureRoot();
    const cached = this.runDirs.get(runId);
    if (cached !== undefined && (await exists(join(cached, 'meta.yaml')))) return cached;
    const parents = [
      ...(await listSubdirectories(this.rootDir))
        .filter((name) => !RESERVED_ROOT.has(name))
        .map((name) => join(this.rootDir, name)),
      ...(await listSubdirectories(join(this.rootDir, TRASH))).map((name) => join(this.rootDir, TRASH, name)),
    ];
    for (const parent of parents) {
      const dir = join(parent, runId);
      if (await exists(join(dir, 'meta.yaml'))) {
        this.runDirs.set(runId, dir);
        return dir;
      }
    }
    throw notFound(operation, `Run '${runId}' not found`);
  }

  private async readRunMeta(runDir: string): Promise<Meta> {
    return parseYaml(await readFile(join(runDir, 'meta.yaml'), 'utf8'));
  }

  private async writeRunMeta(runDir: string, update: (meta: Meta) => void): Promise<Meta> {
    const meta = await this.readRunMeta(runDir);
    update(meta);
    await writeFileAtomic(join(runDir, 'meta.yaml'), dumpYaml(meta));
    return meta;
  }

  private runInfoFromMeta(meta: Meta): RunInfo {
    const info: RunInfo = {
      runId: str(meta.run_id ?? meta.run_uuid),
      runName: str(meta.run_name),
      experimentId: str(meta.experiment_id),
      userId: str(meta.user_id),
      status: statusFromMeta(meta.status),
      startTime: optionalNumber(meta.start_time) ?? 0,
      endTime: optionalNumber(meta.end_time),
      artifactUri: str(meta.artifact_uri),
      lifecycleStage: meta.lifecycle_stage === 'deleted' ? 'deleted' : 'active',
    };
    return info;
  }

  private async readRunRecord(runDir: string): Promise<RunRecord> {
    const meta = await this.readRunMeta(runDir);
    const metrics: Record<string, number> = {};
    for (const key of await readKeyFiles(join(runDir, 'metrics'))) {
      const text = await readTextIfExists(join(runDir, 'metrics', ...key.split('/')));
      const value = latestValue(parseMetricLines(key, text ?? ''));
      if (value !== undefined) metrics[key] = value;
    }
    const [params, tags] = await Promise.all([
      readKeyValues(join(runDir, 'params')),
      readKeyValues(join(runDir, 'tags')),
    ]);
    return { info: this.runInfoFromMeta(meta), data: { metrics, params, tags } };
  }

  private async activeRunDirectory(runId: string, operation: string): Promise<string> {
    const dir = await this.findRunDirectory(runId, operation);
    const meta = await this.readRunMeta(dir);
    if (meta.lifecycle_stage === 'deleted') {
      throw apiError(
        operation,
        'INVALID_PARAMETER_VALUE',
        `The run ${runId} must be in the 'active' state. Current state is deleted.`,
      );
    }
    return dir;
  }

  /**
   * Creates a run in an active experiment (`''` means the `Default` experiment `0`). Without a run name
   * or `mlflow.runName` tag, a random `adjective-noun-NNN` name is chosen, as MLflow does.
   */
  async createRun(request: CreateRunRequest): Promise<RunRecord> {
    const experimentId = request.experimentId === '' ? '0' : request.experimentId;
    await this.ensureRoot();
    const location = await this.experimentDirectory(experimentId);
    const experiment = location && (await this.readExperiment(location.dir));
    if (!location || !experiment) throw notFound('createRun', `No Experiment with id=${experimentId} exists`);
    if (location.deleted || experiment.lifecycleStage === 'deleted') {
      throw apiError(
        'createRun',
        'INVALID_PARAMETER_VALUE',
        `Could not create run under non-active experiment with ID ${experimentId}.`,
      );
    }
    const tagName = request.tags['mlflow.runName'];
    if (request.runName !== undefined && tagName !== undefined && request.runName !== tagName) {
      throw apiError(
        'createRun',
        'INVALID_PARAMETER_VALUE',
        `Both 'run_name' argument and 'mlflow.runName' tag are specified, but with different values (run_name='${request.runName}', mlflow.runName='${tagName}').`,
      );
    }
    for (const key of Object.keys(request.tags)) checkKey('createRun', 'tag', key);
    const runName = request.runName || tagName || generateRunName();
    const tags = { ...request.tags, 'mlflow.runName': runName };
    const runId = randomUUID().replace(/-/g, '');
    const runDir = join(location.dir, runId);
    const artifactUri = `${experiment.artifactLocation.replace(/\/+$/, '')}/${runId}/artifacts`;
    await mkdir(runDir);
    await mkdir(join(runDir, 'tags'));
    for (const [key, value] of Object.entries(tags)) {
      const target = join(runDir, 'tags', ...key.split('/'));
      await mkdir(join(target, '..'), { recursive: true });
      await writeFileAtomic(target, value, runDir);
    }
    await Promise.all([
      mkdir(join(runDir, 'metrics')),
      mkdir(join(runDir, 'params')),
      mkdir(join(runDir, 'artifacts')),
    ]);
    const meta: Meta = {
      artifact_uri: artifactUri,
      end_time: null,
      entry_point_name: '',
      experiment_id: experimentId,
      lifecycle_stage: 'active',
      run_id: runId,
      run_name: runName,
      source_name: '',
      source_type: 4,
      source_version: '',
      start_time: request.startTime,
      status: STATUS_TO_NUMBER.RUNNING,
      tags: [],
      user_id: request.userId || 'unknown',
    };
    // meta.yaml last: a run folder without it is skipped by every reader, so a crash here leaves no half run.
    await writeFileAtomic(join(runDir, 'meta.yaml'), dumpYaml(meta));
    this.runDirs.set(runId, runDir);
    return { info: this.runInfoFromMeta(meta), data: { metrics: {}, params: {}, tags } };
  }

  /** Reads a run: its info, the latest value of each metric, its params and tags. */
  async getRun(runId: string): Promise<RunRecord> {
    return this.readRunRecord(await this.findRunDirectory(runId, 'getRun'));
  }

  /** Changes a run's status, end time or name (the name also updates the `mlflow.runName` tag). */
  async updateRun(runId: string, request: UpdateRunRequest): Promise<RunInfo> {
    const dir = await this.activeRunDirectory(runId, 'updateRun');
    const meta = await this.writeRunMeta(dir, (current) => {
      if (request.status !== undefined) current.status = STATUS_TO_NUMBER[request.status];
      if (request.endTime !== undefined) current.end_time = request.endTime;
      if (request.runName !== undefined) current.run_name = request.runName;
    });
    if (request.runName !== undefined)
      await writeFileAtomic(join(dir, 'tags', 'mlflow.runName'), request.runName, dir);
    if (request.status !== undefined && request.status !== 'RUNNING' && request.status !== 'SCHEDULED') {
      this.forgetRun(runId, dir);
    }
    return this.runInfoFromMeta(meta);
  }

  // An ended run is rarely written again: drop what was cached for it, so that a long-lived process
  // (a sweep of thousands of runs) keeps bounded memory. A later write simply looks things up again.
  private forgetRun(runId: string, dir: string): void {
    this.runDirs.delete(runId);
    const prefix = `${dir}/`;
    for (const path of this.checkedMetricFiles)
      if (path.startsWith(prefix)) this.checkedMetricFiles.delete(path);
    for (const path of this.madeDirs) if (path === dir || path.startsWith(prefix)) this.madeDirs.delete(path);
  }

  /** Marks a run deleted (it stays on disk, as in MLflow, until `mlflow gc`). */
  async deleteRun(runId: string): Promise<void> {
    const dir = await this.findRunDirectory(runId, 'deleteRun');
    await this.writeRunMeta(dir, (meta) => {
      meta.lifecycle_stage = 'deleted';
      meta.deleted_time = Date.now();
    });
  }

  /** Marks a deleted run active again. */
  async restoreRun(runId: string): Promise<void> {
    const dir = await this.findRunDirectory(runId, 'restoreRun');
    await this.writeRunMeta(dir, (meta) => {
      meta.lifecycle_stage = 'active';
      meta.deleted_time = null;
    });
  }

  /**
   * Searches runs of some experiments. The filter supports MLflow's grammar joined by `and`:
   * `metrics.<k>`, `params.<k>`, `tags.<k>` and the attributes `run_id`, `run_name`, `status`, `user_id`,
   * `start_time`, `end_time`, `artifact_uri`, `lifecycle_stage`. Default order: `start_time DESC`, then run id.
   */
  async searchRuns(options: SearchRunsOptions): Promise<Page<RunRecord>> {
    const endpoint = 'local searchRuns';
    // Checked before any file is read, so a bad filter fails fast.
    parseFilter(options.filter, endpoint);
    parseOrderBy(options.orderBy, endpoint);
    await this.ensureRoot();
    const records: RunRecord[] = [];
    for (const experimentId of options.experimentIds) {
      const location = await this.experimentDirectory(experimentId);
      if (!location) continue;
      for (const runId of await this.runIdsIn(location.dir)) {
        const dir = join(location.dir, runId);
        this.runDirs.set(runId, dir);
        try {
          records.push(await this.readRunRecord(dir));
        } catch (error) {
          // A run folder another process is creating right now: skip it, as MLflow does.
          if (!isErrno(error, 'ENOENT')) throw error;
        }
      }
    }
    return searchRunRecords(records, options, endpoint);
  }

  /**
   * Writes a batch: params (write-once; the same value again is accepted, another value is
   * `INVALID_PARAMETER_VALUE`), tags (overwritten) and metric points (appended, one line each).
   */
  async logBatch(runId: string, batch: LogBatch): Promise<void> {
    const operation = 'logBatch';
    const metrics = batch.metrics ?? [];
    const params = batch.params ?? [];
    const tags = batch.tags ?? [];
    const seenParams = new Set<string>();
    for (const param of params) {
      checkKey(operation, 'param', param.key);
      if (seenParams.has(param.key)) {
        throw apiError(
          operation,
          'INVALID_PARAMETER_VALUE',
          `Duplicate parameter keys have been submitted: ['${param.key}'].`,
        );
      }
      seenParams.add(param.key);
    }
    for (const tag of tags) checkKey(operation, 'tag', tag.key);
    for (const metric of metrics) {
      checkKey(operation, 'metric', metric.key);
      if (typeof metric.value !== 'number') {
        throw apiError(
          operation,
          'INVALID_PARAMETER_VALUE',
          `Got invalid value ${String(metric.value)} for metric '${metric.key}': it must be a number.`,
        );
      }
      if (!Number.isSafeInteger(metric.timestamp)) {
        throw apiError(
          operation,
          'INVALID_PARAMETER_VALUE',
          `Got invalid timestamp ${metric.timestamp} for metric '${metric.key}': it must be an integer.`,
        );
      }
      if (!Number.isSafeInteger(metric.step)) {
        throw apiError(
          operation,
          'INVALID_PARAMETER_VALUE',
          `Got invalid step ${metric.step} for metric '${metric.key}': it must be an integer.`,
        );
      }
    }
    const dir = await this.activeRunDirectory(runId, operation);

    for (const param of params) {
      const target = join(dir, 'params', ...param.key.split('/'));
      await this.mkdirCached(join(target, '..'));
      if (!(await createFileExclusive(target, param.value, dir))) {
        const existing = await readTextIfExists(target);
        if (existing !== undefined && existing !== param.value) {
          throw apiError(
            operation,
            'INVALID_PARAMETER_VALUE',
            // Values are left out: a param may hold a secret, and messages never carry one.
            `Changing param values is not allowed. Param with key='${param.key}' was already logged with a different value for run ID='${runId}'.`,
          );
        }
      }
    }

    let runName: string | undefined;
    for (const tag of tags) {
      const target = join(dir, 'tags', ...tag.key.split('/'));
      await this.mkdirCached(join(target, '..'));
      await writeFileAtomic(target, tag.value, dir);
      if (tag.key === 'mlflow.runName') runName = tag.value;
    }
    if (runName !== undefined) {
      const name = runName;
      await this.writeRunMeta(dir, (meta) => {
        meta.run_name = name;
      });
    }

    const byKey = new Map<string, string[]>();
    for (const metric of metrics) {
      let lines = byKey.get(metric.key);
      if (!lines) {
        lines = [];
        byKey.set(metric.key, lines);
      }
      lines.push(formatMetricLine(metric));
    }
    for (const [key, lines] of byKey) {
      const target = join(dir, 'metrics', ...key.split('/'));
      await this.mkdirCached(join(target, '..'));
      const checkTail = !this.checkedMetricFiles.has(target);
      await appendLines(target, lines.join(''), checkTail);
      this.checkedMetricFiles.add(target);
    }
  }

  /** Deletes a run tag. Throws `RESOURCE_DOES_NOT_EXIST` when the run has no such tag. */
  async deleteTag(runId: string, key: string): Promise<void> {
    checkKey('deleteTag', 'tag', key);
    const dir = await this.activeRunDirectory(runId, 'deleteTag');
    try {
      await unlink(join(dir, 'tags', ...key.split('/')));
    } catch (error) {
      if (isErrno(error, 'ENOENT'))
        throw notFound('deleteTag', `No tag with name: ${key} in run with id ${runId}`);
      throw error;
    }
  }

  /** One page of a metric's history, ordered by timestamp, step and value. Without `maxResults`, all points. */
  async getMetricHistory(
    runId: string,
    key: string,
    options: { maxResults?: number; pageToken?: string } = {},
  ): Promise<Page<Metric>> {
    const points = await this.readMetricPoints(runId, key);
    points.sort((a, b) => a.timestamp - b.timestamp || a.step - b.step || a.value - b.value);
    return paginate(
      points,
      options.maxResults ?? Number.MAX_SAFE_INTEGER,
      options.pageToken,
      'local getMetricHistory',
    );
  }

  /**
   * Every point of a metric in the order it was written (duplicates included), for tools such as
   * `mlflow-kit sync` that resume by position. Empty when the run has no such metric.
   */
  async readMetricPoints(runId: string, key: string): Promise<Metric[]> {
    checkKey('getMetricHistory', 'metric', key);
    const dir = await this.findRunDirectory(runId, 'getMetricHistory');
    const text = await readTextIfExists(join(dir, 'metrics', ...key.split('/')));
    return parseMetricLines(key, text ?? '');
  }

  /** The metric keys a run has (the files under its `metrics/` folder). */
  async listMetricKeys(runId: string): Promise<string[]> {
    const dir = await this.findRunDirectory(runId, 'listMetricKeys');
    return (await readKeyFiles(join(dir, 'metrics'))).sort();
  }

  // ---------------------------------------------------------------- artifacts

  private artifactPath(operation: string, artifactUri: string, relativePath = ''): string {
    let root: string;
    if (artifactUri.startsWith('file:')) root = fileURLToPath(artifactUri);
    else if (isAbsolute(artifactUri)) root = artifactUri;
    else {
      throw apiError(
        operation,
        'INVALID_PARAMETER_VALUE',
        `The local store reads and writes only file: artifact URIs, not ${artifactUri}; use a tracking server for remote artifact stores.`,
      );
    }
    if (relativePath === '' || relativePath === '.') return root;
    const normalized = posix.normalize(relativePath.replace(/\\/g, '/'));
    if (normalized.startsWith('/') || normalized === '..' || normalized.startsWith('../')) {
      throw apiError(
        operation,
        'INVALID_PARAMETER_VALUE',
        `Invalid artifact path ${JSON.stringify(relativePath)}: it must stay inside the artifact root.`,
      );
    }
    return join(root, ...normalized.split('/').filter((part) => part !== '' && part !== '.'));
  }

  /** Copies a file or writes bytes to `relativePath` under a `file:` artifact root, replacing it atomically. */
  async uploadArtifact(artifactUri: string, relativePath: string, source: ArtifactSource): Promise<void> {
    const target = this.artifactPath('uploadArtifact', artifactUri, relativePath);
    if (target === this.artifactPath('uploadArtifact', artifactUri)) {
      throw apiError(
        'uploadArtifact',
        'INVALID_PARAMETER_VALUE',
        'An artifact needs a file name: the relative path is empty.',
      );
    }
    await mkdir(join(target, '..'), { recursive: true });
    if ('bytes' in source) {
      await writeFileAtomic(target, source.bytes);
      return;
    }
    const temp = tempPathFor(target);
    try {
      await copyFile(source.file, temp);
      await rename(temp, target);
    } catch (error) {
      await unlink(temp).catch(() => undefined);
      throw error;
    }
  }

  /** Lists one level of a `file:` artifact root; paths are relative to the root, files carry their size. */
  async listArtifacts(artifactUri: string, relativePath?: string): Promise<FileInfo[]> {
    const directory = this.artifactPath('listArtifacts', artifactUri, relativePath);
    const entries = await readDirectoryIfExists(directory);
    const prefix = relativePath
      ? posix.normalize(relativePath.replace(/\\/g, '/')).replace(/^\.\/?|\/+$/g, '')
      : '';
    const infos: FileInfo[] = [];
    for (const entry of entries) {
      if (TEMP_FILE.test(entry.name)) continue;
      const path = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
      if (entry.isDirectory()) infos.push({ path, isDir: true });
      else if (entry.isFile())
        infos.push({ path, isDir: false, fileSize: (await stat(join(directory, entry.name))).size });
    }
    return infos.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  /** Reads an artifact file. Throws `RESOURCE_DOES_NOT_EXIST` when there is none. */
  async downloadArtifact(artifactUri: string, relativePath: string): Promise<Uint8Array> {
    const target = this.artifactPath('downloadArtifact', artifactUri, relativePath);
    try {
      return new Uint8Array(await readFile(target));
    } catch (error) {
      if (isErrno(error, 'ENOENT') || isErrno(error, 'EISDIR'))
        throw notFound('downloadArtifact', `No artifact at ${relativePath}`);
      throw error;
    }
  }

  /** There is no UI behind a directory: always `undefined`. */
  runUrl(_experimentId: string, _runId: string): string | undefined {
    return undefined;
  }

  /** Nothing to release: every file is closed after each call. */
  async close(): Promise<void> {}
}
