import type { UriStoreKind } from './internal/store-kinds.js';
import type {
  DatasetInput,
  Experiment,
  FileInfo,
  LogBatch,
  LoggedModel,
  LoggedModelStatus,
  Metric,
  ModelVersion,
  Page,
  RegisteredModel,
  RunInfo,
  RunRecord,
  RunStatus,
  ViewType,
} from './types.js';

/**
 * What kind of store a {@link TrackingStore} is: one of the kinds a tracking URI selects (`rest` for
 * `http(s):`, `local` for a path or `file:`), or `memory` for the in-memory store of
 * `@mlflow-kit/core/testing`.
 */
export type StoreKind = UriStoreKind | 'memory';

/**
 * Optional abilities a store declares, so that callers check a flag instead of probing for methods.
 * An absent flag means the store lacks the ability.
 */
export interface StoreCapabilities {
  /** The store implements {@link OrderedMetricReader} (the local store does). */
  orderedMetrics?: boolean;
}

/**
 * Reads metric points in the order they were written, duplicates included: what a replay needs to
 * resume by position. Declared by {@link StoreCapabilities.orderedMetrics}; check with {@link hasOrderedMetrics}.
 */
export interface OrderedMetricReader {
  /** Every point of a metric in written order; empty when the run has no such metric. */
  readMetricPoints(runId: string, key: string): Promise<Metric[]>;
  /** The metric keys a run has, sorted. */
  listMetricKeys(runId: string): Promise<string[]>;
}

/** Whether a store declares {@link StoreCapabilities.orderedMetrics} and so implements {@link OrderedMetricReader}. */
export function hasOrderedMetrics(store: TrackingStore): store is TrackingStore & OrderedMetricReader {
  return store.capabilities?.orderedMetrics === true;
}

/** Where the bytes of an artifact come from. */
export type ArtifactSource = { bytes: Uint8Array } | { file: string };

/** Options of {@link TrackingStore.searchExperiments}. */
export interface SearchExperimentsOptions {
  filter?: string;
  orderBy?: string[];
  viewType?: ViewType;
  /** @defaultValue 1000 */
  maxResults?: number;
  pageToken?: string;
}

/** Options of {@link TrackingStore.searchRuns}. */
export interface SearchRunsOptions {
  experimentIds: string[];
  /** MLflow filter string, for example `metrics.loss < 0.5 and params.lr = '0.01'`. */
  filter?: string;
  orderBy?: string[];
  viewType?: ViewType;
  /** @defaultValue 1000 */
  maxResults?: number;
  pageToken?: string;
}

/** What {@link TrackingStore.createRun} needs. */
export interface CreateRunRequest {
  experimentId: string;
  /** Unix epoch milliseconds. */
  startTime: number;
  runName?: string | undefined;
  userId: string;
  tags: Record<string, string>;
}

/** Fields {@link TrackingStore.updateRun} may change. */
export interface UpdateRunRequest {
  status?: RunStatus;
  endTime?: number;
  runName?: string;
}

/**
 * The one interface between runs and where they are kept. Two implementations ship: the REST store
 * (an MLflow tracking server) and the local store (MLflow's FileStore layout in `./mlruns`);
 * `@mlflow-kit/core/testing` adds an in-memory one and a contract suite all of them pass.
 *
 * Stores are low level: they send what they are given and throw {@link MlflowApiError} (REST) or
 * {@link MlflowKitError} on failure. Batching, retries of whole batches and validation happen above them.
 */
export interface TrackingStore {
  /** The tracking URI this store serves, without credentials. */
  readonly trackingUri: string;
  /** `rest`, `local` or `memory`. */
  readonly kind: StoreKind;
  /** Optional abilities beyond this interface; see {@link StoreCapabilities}. */
  readonly capabilities?: StoreCapabilities;

  getExperiment(experimentId: string): Promise<Experiment>;
  /** The experiment with this name, or `undefined` if there is none. */
  getExperimentByName(name: string): Promise<Experiment | undefined>;
  /** Creates an experiment and returns its id. Fails with `RESOURCE_ALREADY_EXISTS` if the name is taken. */
  createExperiment(
    name: string,
    options?: { artifactLocation?: string; tags?: Record<string, string> },
  ): Promise<string>;
  searchExperiments(options?: SearchExperimentsOptions): Promise<Page<Experiment>>;
  deleteExperiment(experimentId: string): Promise<void>;
  restoreExperiment(experimentId: string): Promise<void>;
  setExperimentTag(experimentId: string, key: string, value: string): Promise<void>;

  createRun(request: CreateRunRequest): Promise<RunRecord>;
  getRun(runId: string): Promise<RunRecord>;
  updateRun(runId: string, request: UpdateRunRequest): Promise<RunInfo>;
  deleteRun(runId: string): Promise<void>;
  restoreRun(runId: string): Promise<void>;
  searchRuns(options: SearchRunsOptions): Promise<Page<RunRecord>>;
  /** Sends one batch as is: at most 1000 metrics, 100 params, 100 tags, 1000 items in all. */
  logBatch(runId: string, batch: LogBatch): Promise<void>;
  deleteTag(runId: string, key: string): Promise<void>;
  /**
   * Records datasets the run used (MLflow's `log-inputs`), each with its input tags such as
   * `mlflow.data.context`. Logging the same dataset again is a no-op.
   */
  logInputs(runId: string, datasets: DatasetInput[]): Promise<void>;
  /** One page of a metric's history, ordered by timestamp, step, value. */
  getMetricHistory(
    runId: string,
    key: string,
    options?: { maxResults?: number; pageToken?: string },
  ): Promise<Page<Metric>>;

  /**
   * Writes one artifact file at `relativePath` under the artifact root `artifactUri` (a run's or a
   * logged model's), overwriting an existing file.
   */
  uploadArtifact(artifactUri: string, relativePath: string, source: ArtifactSource): Promise<void>;
  /** Lists one directory level under the artifact root; paths are relative to the root. */
  listArtifacts(artifactUri: string, relativePath?: string): Promise<FileInfo[]>;
  /** Reads one artifact file. */
  downloadArtifact(artifactUri: string, relativePath: string): Promise<Uint8Array>;

  /** The UI link of a run, or `undefined` where there is no UI to link to. */
  runUrl(experimentId: string, runId: string): string | undefined;
  /** Releases connections and file handles. */
  close(): Promise<void>;

  /** The model registry and MLflow 3 logged models, where the store supports them. */
  readonly registry?: RegistryStore;
  /**
   * MLflow 3 logged models, where the store supports them (the REST store; the same object as `registry`).
   * A server before MLflow 3 answers its calls with 404 `ENDPOINT_NOT_FOUND`.
   */
  readonly loggedModels?: LoggedModelStore;
}

/** What {@link LoggedModelStore.createLoggedModel} needs. */
export interface CreateLoggedModelRequest {
  experimentId: string;
  /** Name of the model, such as `model`; the server picks one when omitted. */
  name?: string;
  modelType?: string;
  /** The run that produced the model. */
  sourceRunId?: string;
  /** At most 100 params; more go through {@link LoggedModelStore.logLoggedModelParams}. */
  params?: Record<string, string>;
  tags?: Record<string, string>;
}

/** MLflow 3 logged-model calls: a model entity of an experiment, with its own artifact root. */
export interface LoggedModelStore {
  createLoggedModel(request: CreateLoggedModelRequest): Promise<LoggedModel>;
  getLoggedModel(modelId: string): Promise<LoggedModel>;
  /** One page of the logged models of experiments, for example with the filter `name = 'model'`. */
  searchLoggedModels(options: {
    experimentIds: string[];
    filter?: string;
    /** @defaultValue 100 */
    maxResults?: number;
    pageToken?: string;
  }): Promise<Page<LoggedModel>>;
  finalizeLoggedModel(
    modelId: string,
    status: Exclude<LoggedModelStatus, 'LOGGED_MODEL_PENDING'>,
  ): Promise<LoggedModel>;
  /** Adds params to a logged model: at most 100 per call. */
  logLoggedModelParams(modelId: string, params: Record<string, string>): Promise<void>;
  /**
   * Logs metric points of a run that also belong to a logged model (MLflow's `model_id` on a metric): they
   * show on the model's page and on the run. At most 1000 points per call.
   */
  logLoggedModelMetrics(runId: string, modelId: string, metrics: Metric[]): Promise<void>;
  /** Records that a run produced a logged model at a step (`POST /runs/outputs`). */
  logOutputs(runId: string, models: { modelId: string; step: number }[]): Promise<void>;
}

/** Model registry and logged-model calls (REST store only). */
export interface RegistryStore extends LoggedModelStore {
  createRegisteredModel(
    name: string,
    options?: { description?: string; tags?: Record<string, string> },
  ): Promise<RegisteredModel>;
  getRegisteredModel(name: string): Promise<RegisteredModel>;
  deleteRegisteredModel(name: string): Promise<void>;
  searchRegisteredModels(options?: {
    filter?: string;
    maxResults?: number;
    pageToken?: string;
  }): Promise<Page<RegisteredModel>>;
  createModelVersion(request: {
    name: string;
    source: string;
    runId?: string;
    modelId?: string;
    description?: string;
    tags?: Record<string, string>;
  }): Promise<ModelVersion>;
  getModelVersion(name: string, version: string): Promise<ModelVersion>;
  deleteModelVersion(name: string, version: string): Promise<void>;
  searchModelVersions(options?: {
    filter?: string;
    maxResults?: number;
    pageToken?: string;
  }): Promise<Page<ModelVersion>>;
  getLatestVersions(name: string, stages?: string[]): Promise<ModelVersion[]>;
  transitionModelVersionStage(
    name: string,
    version: string,
    stage: string,
    archiveExistingVersions?: boolean,
  ): Promise<ModelVersion>;
  getModelVersionDownloadUri(name: string, version: string): Promise<string>;
  setRegisteredModelAlias(name: string, alias: string, version: string): Promise<void>;
  deleteRegisteredModelAlias(name: string, alias: string): Promise<void>;
  getModelVersionByAlias(name: string, alias: string): Promise<ModelVersion>;
  renameRegisteredModel(name: string, newName: string): Promise<RegisteredModel>;
  updateRegisteredModel(name: string, description: string): Promise<RegisteredModel>;
  setRegisteredModelTag(name: string, key: string, value: string): Promise<void>;
  deleteRegisteredModelTag(name: string, key: string): Promise<void>;
  updateModelVersion(name: string, version: string, description: string): Promise<ModelVersion>;
  setModelVersionTag(name: string, version: string, key: string, value: string): Promise<void>;
  deleteModelVersionTag(name: string, version: string, key: string): Promise<void>;
}
