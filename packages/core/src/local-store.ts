import * as artifacts from './internal/local-artifacts.js';
import * as experiments from './internal/local-experiments.js';
import { writeDatasetInputsSync } from './internal/local-inputs.js';
import { LocalLayout } from './internal/local-layout.js';
import * as batches from './internal/local-log-batch.js';
import { LocalLoggedModels } from './internal/local-logged-models.js';
import * as runs from './internal/local-runs.js';
import type {
  ArtifactSource,
  CreateRunRequest,
  LoggedModelStore,
  OrderedMetricReader,
  SearchExperimentsOptions,
  SearchRunsOptions,
  StoreCapabilities,
  TrackingStore,
  UpdateRunRequest,
} from './store.js';
import type {
  DatasetInput,
  Experiment,
  FileInfo,
  LogBatch,
  Metric,
  Page,
  RunInfo,
  RunRecord,
} from './types.js';

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
 * MLflow 3 logged models are kept as FileStore keeps them ({@link LocalStore.loggedModels}); the model
 * registry is not available on the local store. It declares the `orderedMetrics`
 * capability: {@link OrderedMetricReader} reads metric files in written order, duplicates included.
 *
 * Users get it from a path or `file:` tracking URI rather than by name:
 *
 * @example
 * ```ts
 * import { getStore, resolveSettings } from '@mlflow-kit/core';
 * const store = await getStore(resolveSettings({ enabled: true, trackingUri: './mlruns' }));
 * const experimentId = await store.createExperiment('demo');
 * const run = await store.createRun({ experimentId, startTime: Date.now(), userId: 'me', tags: {} });
 * await store.logBatch(run.info.runId, { metrics: [{ key: 'loss', value: 0.5, timestamp: Date.now(), step: 0 }] });
 * ```
 */
export class LocalStore implements TrackingStore, OrderedMetricReader {
  /** Always `local`. */
  readonly kind = 'local' as const;
  /** Reads metric files in written order ({@link OrderedMetricReader}). */
  readonly capabilities: StoreCapabilities = { orderedMetrics: true };
  /** The `file://` URI of the root directory. */
  readonly trackingUri: string;
  /** Absolute path of the root directory. */
  readonly rootDir: string;
  private readonly layout: LocalLayout;
  /** MLflow 3 logged models, in MLflow's FileStore layout (`<experiment>/models/<model_id>/`). */
  readonly loggedModels: LoggedModelStore;

  /**
   * @param rootDir - the store's directory, as a path (relative paths resolve against the working
   * directory) or a `file:` URI. It is created on first use, with the `Default` experiment `0`.
   */
  constructor(rootDir: string) {
    this.layout = new LocalLayout(rootDir);
    this.rootDir = this.layout.rootDir;
    this.trackingUri = this.layout.trackingUri;
    this.loggedModels = new LocalLoggedModels(this.layout);
  }

  /** Reads an experiment, active or deleted. Throws `RESOURCE_DOES_NOT_EXIST` when there is none. */
  getExperiment(experimentId: string): Promise<Experiment> {
    return experiments.getExperiment(this.layout, experimentId);
  }

  /** The experiment with this name (the active one if a deleted one has the same name), or `undefined`. */
  getExperimentByName(name: string): Promise<Experiment | undefined> {
    return experiments.getExperimentByName(this.layout, name);
  }

  /**
   * Creates an experiment with a random 18-digit id, as MLflow's FileStore does. Safe against other
   * processes creating the same name at the same time: one wins, the others get `RESOURCE_ALREADY_EXISTS`.
   */
  createExperiment(
    name: string,
    options: { artifactLocation?: string; tags?: Record<string, string> } = {},
  ): Promise<string> {
    return experiments.createExperiment(this.layout, name, options);
  }

  /** Searches experiments; the filter supports `name`, `experiment_id`, `creation_time`, `last_update_time` and `tags.<key>`. */
  searchExperiments(options: SearchExperimentsOptions = {}): Promise<Page<Experiment>> {
    return experiments.searchExperiments(this.layout, options);
  }

  /**
   * Deletes an experiment as MLflow does: marks it and its runs deleted and moves its folder to `.trash`.
   * The `Default` experiment `0` cannot be deleted.
   */
  deleteExperiment(experimentId: string): Promise<void> {
    return experiments.deleteExperiment(this.layout, experimentId);
  }

  /** Restores a deleted experiment and the runs that were deleted with it. */
  restoreExperiment(experimentId: string): Promise<void> {
    return experiments.restoreExperiment(this.layout, experimentId);
  }

  /** Sets an experiment tag (`<experiment>/tags/<key>`). */
  setExperimentTag(experimentId: string, key: string, value: string): Promise<void> {
    return experiments.setExperimentTag(this.layout, experimentId, key, value);
  }

  /**
   * Creates a run in an active experiment (`''` means the `Default` experiment `0`). Without a run name
   * or `mlflow.runName` tag, a random `adjective-noun-NNN` name is chosen, as MLflow does.
   */
  createRun(request: CreateRunRequest): Promise<RunRecord> {
    return runs.createRun(this.layout, request);
  }

  /** Reads a run: its info, the latest value of each metric, its params and tags. */
  getRun(runId: string): Promise<RunRecord> {
    return runs.getRun(this.layout, runId);
  }

  /** Changes a run's status, end time or name (the name also updates the `mlflow.runName` tag). */
  updateRun(runId: string, request: UpdateRunRequest): Promise<RunInfo> {
    return runs.updateRun(this.layout, runId, request);
  }

  /** Marks a run deleted (it stays on disk, as in MLflow, until `mlflow gc`). */
  deleteRun(runId: string): Promise<void> {
    return runs.setRunLifecycle(this.layout, runId, 'deleted');
  }

  /** Marks a deleted run active again. */
  restoreRun(runId: string): Promise<void> {
    return runs.setRunLifecycle(this.layout, runId, 'active');
  }

  /**
   * Searches runs of some experiments. The filter supports MLflow's grammar joined by `and`:
   * `metrics.<k>`, `params.<k>`, `tags.<k>` and the attributes `run_id`, `run_name`, `status`, `user_id`,
   * `start_time`, `end_time`, `artifact_uri`, `lifecycle_stage`. Default order: `start_time DESC`, then run id.
   */
  searchRuns(options: SearchRunsOptions): Promise<Page<RunRecord>> {
    return runs.searchRuns(this.layout, options);
  }

  /**
   * Writes a batch: params (write-once; the same value again is accepted, another value is
   * `INVALID_PARAMETER_VALUE`), tags (overwritten) and metric points (appended, one line each).
   */
  logBatch(runId: string, batch: LogBatch): Promise<void> {
    return batches.logBatch(this.layout, runId, batch);
  }

  /** Deletes a run tag. Throws `RESOURCE_DOES_NOT_EXIST` when the run has no such tag. */
  deleteTag(runId: string, key: string): Promise<void> {
    return runs.deleteTag(this.layout, runId, key);
  }

  /**
   * Records datasets the run used, as MLflow's FileStore does: `<experiment>/datasets/<id>/meta.yaml` and
   * `<run>/inputs/<id>/meta.yaml`, which MLflow's own reader shows as `run.inputs.dataset_inputs`.
   */
  async logInputs(runId: string, datasets: DatasetInput[]): Promise<void> {
    const dir = await this.layout.activeRunDirectory(runId, 'logInputs');
    writeDatasetInputsSync(dir, runId, datasets);
  }

  /** One page of a metric's history, ordered by timestamp, step and value. Without `maxResults`, all points. */
  getMetricHistory(
    runId: string,
    key: string,
    options: { maxResults?: number; pageToken?: string } = {},
  ): Promise<Page<Metric>> {
    return batches.getMetricHistory(this.layout, runId, key, options);
  }

  /**
   * Every point of a metric in the order it was written (duplicates included), for tools such as
   * `mlflow-kit sync` that resume by position. Empty when the run has no such metric.
   */
  readMetricPoints(runId: string, key: string): Promise<Metric[]> {
    return batches.readMetricPoints(this.layout, runId, key);
  }

  /** The metric keys a run has (the files under its `metrics/` folder). */
  listMetricKeys(runId: string): Promise<string[]> {
    return batches.listMetricKeys(this.layout, runId);
  }

  /** Copies a file or writes bytes to `relativePath` under a `file:` artifact root, replacing it atomically. */
  uploadArtifact(artifactUri: string, relativePath: string, source: ArtifactSource): Promise<void> {
    return artifacts.uploadArtifact(artifactUri, relativePath, source);
  }

  /** Lists one level of a `file:` artifact root; paths are relative to the root, files carry their size. */
  listArtifacts(artifactUri: string, relativePath?: string): Promise<FileInfo[]> {
    return artifacts.listArtifacts(artifactUri, relativePath);
  }

  /** Reads an artifact file. Throws `RESOURCE_DOES_NOT_EXIST` when there is none. */
  downloadArtifact(artifactUri: string, relativePath: string): Promise<Uint8Array> {
    return artifacts.downloadArtifact(artifactUri, relativePath);
  }

  /** There is no UI behind a directory: always `undefined`. */
  runUrl(_experimentId: string, _runId: string): string | undefined {
    return undefined;
  }

  /** Nothing to release: every file is closed after each call. */
  async close(): Promise<void> {}
}
