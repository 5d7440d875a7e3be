import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { MlflowApiError } from '../errors.js';
import { latestValue, metricHistoryPage, searchRunRecords } from '../internal/search.js';
import type {
  ArtifactSource,
  CreateRunRequest,
  SearchExperimentsOptions,
  SearchRunsOptions,
  TrackingStore,
  UpdateRunRequest,
} from '../store.js';
import type {
  DatasetInput,
  Experiment,
  FileInfo,
  LogBatch,
  Metric,
  Page,
  RunInfo,
  RunRecord,
} from '../types.js';

interface StoredRun {
  info: RunInfo;
  params: Map<string, string>;
  tags: Map<string, string>;
  metrics: Map<string, Metric[]>;
  inputs?: Map<string, DatasetInput>;
}

function apiError(operation: string, status: number, errorCode: string, message: string): MlflowApiError {
  return new MlflowApiError({
    endpoint: `memory ${operation}`,
    status,
    errorCode,
    serverMessage: message,
    retryable: false,
  });
}

/**
 * An in-memory {@link TrackingStore} with MLflow's semantics (write-once params, deleted runs refuse
 * writes, duplicate experiment names rejected). For tests of adapters: inspect what was logged through
 * {@link MemoryStore.runs} without a server.
 */
export class MemoryStore implements TrackingStore {
  readonly kind = 'memory' as const;
  readonly trackingUri = 'memory:';
  /** Every log-batch call received, in order, for assertions about batching. */
  readonly batches: { runId: string; batch: LogBatch }[] = [];
  /** Artifact bytes by `<artifactUri>/<relativePath>`. */
  readonly artifacts = new Map<string, Uint8Array>();
  private readonly experiments = new Map<string, Experiment>();
  private readonly runsById = new Map<string, StoredRun>();
  private nextExperimentId = 1;

  constructor() {
    this.experiments.set('0', {
      experimentId: '0',
      name: 'Default',
      artifactLocation: 'memory:/0',
      lifecycleStage: 'active',
      tags: {},
    });
  }

  /** Every run in the store, as {@link RunRecord}s with full metric histories. */
  runs(): (RunRecord & { history: Record<string, Metric[]> })[] {
    return [...this.runsById.values()].map((run) => ({
      ...this.toRecord(run),
      history: Object.fromEntries(run.metrics),
    }));
  }

  async getExperiment(experimentId: string): Promise<Experiment> {
    return structuredClone(await this.mutableExperiment(experimentId));
  }

  async getExperimentByName(name: string): Promise<Experiment | undefined> {
    const found = [...this.experiments.values()].find((experiment) => experiment.name === name);
    return found && structuredClone(found);
  }

  async createExperiment(
    name: string,
    options: { artifactLocation?: string; tags?: Record<string, string> } = {},
  ): Promise<string> {
    if (!name)
      throw apiError('createExperiment', 400, 'INVALID_PARAMETER_VALUE', 'Experiment name must not be empty');
    if (await this.getExperimentByName(name)) {
      throw apiError(
        'createExperiment',
        400,
        'RESOURCE_ALREADY_EXISTS',
        `Experiment '${name}' already exists.`,
      );
    }
    const experimentId = String(this.nextExperimentId++);
    this.experiments.set(experimentId, {
      experimentId,
      name,
      artifactLocation: options.artifactLocation ?? `memory:/${experimentId}`,
      lifecycleStage: 'active',
      creationTime: Date.now(),
      lastUpdateTime: Date.now(),
      tags: { ...options.tags },
    });
    return experimentId;
  }

  async searchExperiments(options: SearchExperimentsOptions = {}): Promise<Page<Experiment>> {
    const view = options.viewType ?? 'ACTIVE_ONLY';
    const items = [...this.experiments.values()].filter(
      (experiment) => view === 'ALL' || (view === 'ACTIVE_ONLY') === (experiment.lifecycleStage === 'active'),
    );
    return { items: structuredClone(items) };
  }

  async deleteExperiment(experimentId: string): Promise<void> {
    (await this.mutableExperiment(experimentId)).lifecycleStage = 'deleted';
  }

  async restoreExperiment(experimentId: string): Promise<void> {
    (await this.mutableExperiment(experimentId)).lifecycleStage = 'active';
  }

  async setExperimentTag(experimentId: string, key: string, value: string): Promise<void> {
    (await this.mutableExperiment(experimentId)).tags[key] = value;
  }

  async createRun(request: CreateRunRequest): Promise<RunRecord> {
    const experimentId = request.experimentId || '0';
    const experiment = await this.mutableExperiment(experimentId);
    if (experiment.lifecycleStage !== 'active') {
      throw apiError('createRun', 400, 'INVALID_PARAMETER_VALUE', `Experiment ${experimentId} is deleted`);
    }
    const runId = randomUUID().replaceAll('-', '');
    const runName = request.runName ?? request.tags['mlflow.runName'] ?? `run-${runId.slice(0, 6)}`;
    const run: StoredRun = {
      info: {
        runId,
        runName,
        experimentId,
        userId: request.userId,
        status: 'RUNNING',
        startTime: request.startTime,
        artifactUri: `${experiment.artifactLocation}/${runId}/artifacts`,
        lifecycleStage: 'active',
      },
      params: new Map(),
      tags: new Map(Object.entries({ ...request.tags, 'mlflow.runName': runName })),
      metrics: new Map(),
    };
    this.runsById.set(runId, run);
    return this.toRecord(run);
  }

  async getRun(runId: string): Promise<RunRecord> {
    return this.toRecord(this.storedRun(runId, 'getRun'));
  }

  async updateRun(runId: string, request: UpdateRunRequest): Promise<RunInfo> {
    const run = this.activeRun(runId, 'updateRun');
    if (request.status) run.info.status = request.status;
    if (request.endTime !== undefined) run.info.endTime = request.endTime;
    if (request.runName) {
      run.info.runName = request.runName;
      run.tags.set('mlflow.runName', request.runName);
    }
    return structuredClone(run.info);
  }

  async deleteRun(runId: string): Promise<void> {
    this.storedRun(runId, 'deleteRun').info.lifecycleStage = 'deleted';
  }

  async restoreRun(runId: string): Promise<void> {
    this.storedRun(runId, 'restoreRun').info.lifecycleStage = 'active';
  }

  async searchRuns(options: SearchRunsOptions): Promise<Page<RunRecord>> {
    const records = [...this.runsById.values()]
      .filter((run) => options.experimentIds.includes(run.info.experimentId))
      .map((run) => this.toRecord(run));
    return searchRunRecords(records, options, 'memory searchRuns');
  }

  async logBatch(runId: string, batch: LogBatch): Promise<void> {
    const run = this.activeRun(runId, 'logBatch');
    this.batches.push({ runId, batch: structuredClone(batch) });
    const seen = new Set<string>();
    for (const param of batch.params ?? []) {
      if (seen.has(param.key)) {
        throw apiError(
          'logBatch',
          400,
          'INVALID_PARAMETER_VALUE',
          `Duplicate parameter keys have been submitted: ${param.key}`,
        );
      }
      seen.add(param.key);
      const existing = run.params.get(param.key);
      if (existing !== undefined && existing !== param.value) {
        throw apiError(
          'logBatch',
          400,
          'INVALID_PARAMETER_VALUE',
          `Changing param values is not allowed. Param with key='${param.key}' was already logged with value='${existing}'`,
        );
      }
      run.params.set(param.key, param.value);
    }
    for (const tag of batch.tags ?? []) run.tags.set(tag.key, tag.value);
    for (const metric of batch.metrics ?? []) {
      const points = run.metrics.get(metric.key) ?? [];
      points.push({ ...metric });
      run.metrics.set(metric.key, points);
    }
  }

  async deleteTag(runId: string, key: string): Promise<void> {
    const run = this.activeRun(runId, 'deleteTag');
    if (!run.tags.delete(key))
      throw apiError('deleteTag', 404, 'RESOURCE_DOES_NOT_EXIST', `No tag with name: ${key}`);
  }

  async logInputs(runId: string, datasets: DatasetInput[]): Promise<void> {
    const run = this.activeRun(runId, 'logInputs');
    run.inputs ??= new Map();
    for (const input of datasets) {
      const key = `${input.dataset.name}\u0000${input.dataset.digest}`;
      if (!run.inputs.has(key)) run.inputs.set(key, structuredClone(input));
    }
  }

  async getMetricHistory(
    runId: string,
    key: string,
    options: { maxResults?: number; pageToken?: string } = {},
  ): Promise<Page<Metric>> {
    const points = [...(this.storedRun(runId, 'getMetricHistory').metrics.get(key) ?? [])];
    return metricHistoryPage(points, options, 'memory getMetricHistory');
  }

  async uploadArtifact(artifactUri: string, relativePath: string, source: ArtifactSource): Promise<void> {
    const bytes = 'bytes' in source ? source.bytes : new Uint8Array(await readFile(source.file));
    this.artifacts.set(`${artifactUri}/${relativePath}`, new Uint8Array(bytes));
  }

  async listArtifacts(artifactUri: string, relativePath = ''): Promise<FileInfo[]> {
    const prefix = `${artifactUri}/${relativePath ? `${relativePath.replace(/\/+$/, '')}/` : ''}`;
    const entries = new Map<string, FileInfo>();
    for (const [path, bytes] of this.artifacts) {
      if (!path.startsWith(prefix)) continue;
      const rest = path.slice(prefix.length);
      const [head, ...tail] = rest.split('/');
      const child = `${prefix.slice(artifactUri.length + 1)}${head}`;
      entries.set(
        child,
        tail.length > 0
          ? { path: child, isDir: true }
          : { path: child, isDir: false, fileSize: bytes.length },
      );
    }
    return [...entries.values()].sort((a, b) => a.path.localeCompare(b.path));
  }

  async downloadArtifact(artifactUri: string, relativePath: string): Promise<Uint8Array> {
    const bytes = this.artifacts.get(`${artifactUri}/${relativePath}`);
    if (!bytes)
      throw apiError('downloadArtifact', 404, 'RESOURCE_DOES_NOT_EXIST', `No artifact at ${relativePath}`);
    return bytes;
  }

  runUrl(): string | undefined {
    return undefined;
  }

  async close(): Promise<void> {}

  private async mutableExperiment(experimentId: string): Promise<Experiment> {
    const experiment = this.experiments.get(experimentId);
    if (!experiment)
      throw apiError(
        'getExperiment',
        404,
        'RESOURCE_DOES_NOT_EXIST',
        `No experiment with id ${experimentId}`,
      );
    return experiment;
  }

  private storedRun(runId: string, operation: string): StoredRun {
    const run = this.runsById.get(runId);
    if (!run) throw apiError(operation, 404, 'RESOURCE_DOES_NOT_EXIST', `Run '${runId}' not found`);
    return run;
  }

  private activeRun(runId: string, operation: string): StoredRun {
    const run = this.storedRun(runId, operation);
    if (run.info.lifecycleStage !== 'active') {
      throw apiError(
        operation,
        400,
        'INVALID_PARAMETER_VALUE',
        `The run ${runId} must be in the 'active' state. Current state is deleted.`,
      );
    }
    return run;
  }

  private toRecord(run: StoredRun): RunRecord {
    const metrics: Record<string, number> = {};
    for (const [key, points] of run.metrics) metrics[key] = latestValue(points)!;
    return {
      info: structuredClone(run.info),
      data: { metrics, params: Object.fromEntries(run.params), tags: Object.fromEntries(run.tags) },
      inputs: { datasetInputs: structuredClone([...(run.inputs?.values() ?? [])]) },
    };
  }
}

/** Creates an empty {@link MemoryStore}. Pass it as the `store` option of `startRun` in tests. */
export function createMemoryStore(): MemoryStore {
  return new MemoryStore();
}
