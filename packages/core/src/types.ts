/** Status of an MLflow run, as MLflow names it. */
export type RunStatus = 'RUNNING' | 'SCHEDULED' | 'FINISHED' | 'FAILED' | 'KILLED';

/** Lifecycle of an experiment or run: `deleted` ones are hidden until restored. */
export type LifecycleStage = 'active' | 'deleted';

/** Which experiments or runs a search returns. */
export type ViewType = 'ACTIVE_ONLY' | 'DELETED_ONLY' | 'ALL';

/** One metric point. `timestamp` is Unix epoch milliseconds; `step` an integer. */
export interface Metric {
  key: string;
  /** Any double, NaN and ±Infinity included. */
  value: number;
  timestamp: number;
  step: number;
}

/** A key/value pair, as MLflow sends params and tags. */
export interface KeyValue {
  key: string;
  value: string;
}

/** An MLflow experiment. */
export interface Experiment {
  experimentId: string;
  name: string;
  artifactLocation: string;
  lifecycleStage: LifecycleStage;
  creationTime?: number | undefined;
  lastUpdateTime?: number | undefined;
  tags: Record<string, string>;
}

/** Metadata of a run. */
export interface RunInfo {
  runId: string;
  runName: string;
  experimentId: string;
  userId: string;
  status: RunStatus;
  /** Unix epoch milliseconds. */
  startTime: number;
  /** Unix epoch milliseconds, `undefined` while running. */
  endTime?: number | undefined;
  /** Root of the run's artifacts, such as `mlflow-artifacts:/1/<run_id>/artifacts` or `file:///.../artifacts`. */
  artifactUri: string;
  lifecycleStage: LifecycleStage;
}

/** What a run holds: the latest value of each metric, its params and its tags. */
export interface RunData {
  /** Latest value of each metric (MLflow's choice: the point with the highest `(step, timestamp, value)`). */
  metrics: Record<string, number>;
  params: Record<string, string>;
  tags: Record<string, string>;
}

/** A run as the server returns it: the counterpart of Python's `mlflow.entities.Run`. */
export interface RunRecord {
  info: RunInfo;
  data: RunData;
  /** The datasets the run used (`run.inputs.dataset_inputs` in Python), where the store reports them. */
  inputs?: RunInputs | undefined;
}

/**
 * A dataset as MLflow records it (`mlflow.entities.Dataset`): `(name, digest)` identifies it within an
 * experiment. `source`, `schema` and `profile` are JSON strings, as MLflow's `Dataset.to_dict()` writes them.
 */
export interface Dataset {
  /** Such as `dataset` (MLflow's default name) or `iris_train`. */
  name: string;
  /** A short fingerprint of the data, such as the 8 hex characters of MLflow's numpy digest. */
  digest: string;
  /** Kind of source: `code`, `local`, `http`, ... (MLflow's `DatasetSource._get_source_type()`). */
  sourceType: string;
  /** JSON of the source, such as `{"tags": {...}}` for a `code` source. */
  source: string;
  /** JSON of the schema, such as MLflow's `{"mlflow_tensorspec": {...}}`. */
  schema?: string | undefined;
  /** JSON of summary figures, such as row counts and shapes. */
  profile?: string | undefined;
}

/** A dataset used by a run, with the input's tags (`mlflow.data.context` = `train`, `eval`, ...). */
export interface DatasetInput {
  dataset: Dataset;
  /** Tags of the input, such as `{ 'mlflow.data.context': 'train' }`. @defaultValue `{}` */
  tags?: Record<string, string> | undefined;
}

/** The inputs of a run. */
export interface RunInputs {
  datasetInputs: DatasetInput[];
}

/** One entry of an artifact listing. `path` is relative to the run's artifact root. */
export interface FileInfo {
  path: string;
  isDir: boolean;
  fileSize?: number | undefined;
}

/** A page of results and the token for the next page, if any. */
export interface Page<T> {
  items: T[];
  nextPageToken?: string | undefined;
}

/** A batch of data for one run. The store sends it as given: callers keep it within MLflow's limits. */
export interface LogBatch {
  metrics?: Metric[];
  params?: KeyValue[];
  tags?: KeyValue[];
}

/** Status of a registered model version. */
export type ModelVersionStatus = 'PENDING_REGISTRATION' | 'FAILED_REGISTRATION' | 'READY';

/** A registered model in the MLflow model registry. */
export interface RegisteredModel {
  name: string;
  creationTimestamp?: number | undefined;
  lastUpdatedTimestamp?: number | undefined;
  description?: string | undefined;
  tags: Record<string, string>;
  aliases: Record<string, string>;
  latestVersions: ModelVersion[];
}

/** One version of a registered model. */
export interface ModelVersion {
  name: string;
  version: string;
  creationTimestamp?: number | undefined;
  lastUpdatedTimestamp?: number | undefined;
  currentStage?: string | undefined;
  description?: string | undefined;
  source: string;
  runId?: string | undefined;
  modelId?: string | undefined;
  status: ModelVersionStatus;
  statusMessage?: string | undefined;
  tags: Record<string, string>;
  aliases: string[];
}

/** Status of an MLflow 3 logged model. */
export type LoggedModelStatus = 'LOGGED_MODEL_PENDING' | 'LOGGED_MODEL_READY' | 'LOGGED_MODEL_UPLOAD_FAILED';

/** An MLflow 3 logged model: a model entity of an experiment, with its own artifact root. */
export interface LoggedModel {
  modelId: string;
  experimentId: string;
  name: string;
  artifactUri: string;
  status: LoggedModelStatus;
  sourceRunId?: string | undefined;
  modelType?: string | undefined;
  tags: Record<string, string>;
  params: Record<string, string>;
  /** The model's metrics (points logged with its `model_id`), as the server returns them. */
  metrics: Metric[];
}
