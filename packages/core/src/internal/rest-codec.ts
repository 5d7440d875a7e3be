import type {
  DatasetInput,
  Experiment,
  FileInfo,
  KeyValue,
  LifecycleStage,
  LoggedModel,
  LoggedModelStatus,
  Metric,
  ModelVersion,
  ModelVersionStatus,
  RegisteredModel,
  RunInfo,
  RunRecord,
  RunStatus,
} from '../types.js';

/** An int64 or double as the server may send it: a number, or a string (`"NaN"`, `"12"`). */
export type WireNumber = number | string;

/** A `{key, value}` pair on the wire; `value` may be absent for an empty string. */
export interface WireKeyValue {
  key?: string;
  value?: string;
}

/** `Experiment` in `service.proto`. */
export interface WireExperiment {
  experiment_id?: string;
  name?: string;
  artifact_location?: string;
  lifecycle_stage?: string;
  creation_time?: WireNumber;
  last_update_time?: WireNumber;
  tags?: WireKeyValue[];
}

/** `RunInfo` in `service.proto`. */
export interface WireRunInfo {
  run_id?: string;
  run_uuid?: string;
  run_name?: string;
  experiment_id?: string;
  user_id?: string;
  status?: string;
  start_time?: WireNumber;
  end_time?: WireNumber;
  artifact_uri?: string;
  lifecycle_stage?: string;
}

/** `Metric` in `service.proto`. */
export interface WireMetric {
  key?: string;
  value?: WireNumber;
  timestamp?: WireNumber;
  step?: WireNumber;
}

/** `Run` in `service.proto`. */
export interface WireRun {
  info?: WireRunInfo;
  data?: { metrics?: WireMetric[]; params?: WireKeyValue[]; tags?: WireKeyValue[] };
  inputs?: { dataset_inputs?: WireDatasetInput[] };
}

/** `Dataset` in `service.proto`. */
export interface WireDataset {
  name?: string;
  digest?: string;
  source_type?: string;
  source?: string;
  schema?: string;
  profile?: string;
}

/** `DatasetInput` in `service.proto`. */
export interface WireDatasetInput {
  tags?: WireKeyValue[];
  dataset?: WireDataset;
}

/** A dataset input as `log-inputs` takes it. */
export function encodeDatasetInput(input: DatasetInput): WireDatasetInput {
  const { dataset } = input;
  return {
    tags: encodeTags(input.tags ?? {}),
    dataset: {
      name: dataset.name,
      digest: dataset.digest,
      source_type: dataset.sourceType,
      source: dataset.source,
      ...(dataset.schema !== undefined ? { schema: dataset.schema } : {}),
      ...(dataset.profile !== undefined ? { profile: dataset.profile } : {}),
    },
  };
}

/** A dataset input from a response. */
export function decodeDatasetInput(wire: WireDatasetInput): DatasetInput {
  const dataset = wire.dataset ?? {};
  return {
    tags: decodeTags(wire.tags),
    dataset: {
      name: dataset.name ?? '',
      digest: dataset.digest ?? '',
      sourceType: dataset.source_type ?? '',
      source: dataset.source ?? '',
      schema: dataset.schema,
      profile: dataset.profile,
    },
  };
}

/** `FileInfo` of the artifact APIs. */
export interface WireFileInfo {
  path?: string;
  is_dir?: boolean;
  file_size?: WireNumber;
}

/** `ModelVersion` in `model_registry.proto`. */
export interface WireModelVersion {
  name?: string;
  version?: WireNumber;
  creation_timestamp?: WireNumber;
  last_updated_timestamp?: WireNumber;
  current_stage?: string;
  description?: string;
  source?: string;
  run_id?: string;
  model_id?: string;
  status?: string;
  status_message?: string;
  tags?: WireKeyValue[];
  aliases?: string[];
}

/** `RegisteredModel` in `model_registry.proto`. */
export interface WireRegisteredModel {
  name?: string;
  creation_timestamp?: WireNumber;
  last_updated_timestamp?: WireNumber;
  description?: string;
  tags?: WireKeyValue[];
  aliases?: { alias?: string; version?: WireNumber }[];
  latest_versions?: WireModelVersion[];
}

/** `LoggedModel` in `service.proto`. */
export interface WireLoggedModel {
  info?: {
    model_id?: string;
    experiment_id?: string;
    name?: string;
    artifact_uri?: string;
    status?: string;
    source_run_id?: string;
    model_type?: string;
    tags?: WireKeyValue[];
  };
  data?: { params?: WireKeyValue[]; metrics?: WireMetric[] };
}

/** A request body without its `undefined` fields, which the server would otherwise see as `null`. */
export function dropUndefined(body: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(body)) if (value !== undefined) out[key] = value;
  return out;
}

/** A double as protobuf JSON wants it: NaN and ±Infinity become strings. */
export function encodeDouble(value: number): number | string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Number.POSITIVE_INFINITY) return 'Infinity';
  if (value === Number.NEGATIVE_INFINITY) return '-Infinity';
  return value;
}

/** Reads a double or int64 that may arrive as a number or a string (`"NaN"`, `"-Infinity"`, `"42"`). */
export function decodeNumber(value: WireNumber | undefined): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'number') return value;
  switch (value) {
    case 'NaN':
      return Number.NaN;
    case 'Infinity':
      return Number.POSITIVE_INFINITY;
    case '-Infinity':
      return Number.NEGATIVE_INFINITY;
    default:
      return value.trim() === '' ? undefined : Number(value);
  }
}

/** `Record` → `[{key, value}]`. */
export function encodeTags(tags: Record<string, string> | undefined): KeyValue[] {
  return Object.entries(tags ?? {}).map(([key, value]) => ({ key, value }));
}

/** `[{key, value}]` → `Record`, treating a missing list as empty. */
export function decodeTags(tags: WireKeyValue[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const tag of tags ?? []) if (tag.key !== undefined) out[tag.key] = tag.value ?? '';
  return out;
}

/** A metric point for a request body. */
export function encodeMetric(metric: Metric): {
  key: string;
  value: number | string;
  timestamp: number;
  step: number;
} {
  return {
    key: metric.key,
    value: encodeDouble(metric.value),
    timestamp: metric.timestamp,
    step: metric.step,
  };
}

/** A metric point from a response. */
export function decodeMetric(metric: WireMetric): Metric {
  return {
    key: metric.key ?? '',
    value: decodeNumber(metric.value) ?? 0,
    timestamp: decodeNumber(metric.timestamp) ?? 0,
    step: decodeNumber(metric.step) ?? 0,
  };
}

function lifecycle(stage: string | undefined): LifecycleStage {
  return stage === 'deleted' ? 'deleted' : 'active';
}

/** An experiment from a response. */
export function decodeExperiment(wire: WireExperiment): Experiment {
  return {
    experimentId: String(wire.experiment_id ?? ''),
    name: wire.name ?? '',
    artifactLocation: wire.artifact_location ?? '',
    lifecycleStage: lifecycle(wire.lifecycle_stage),
    creationTime: decodeNumber(wire.creation_time),
    lastUpdateTime: decodeNumber(wire.last_update_time),
    tags: decodeTags(wire.tags),
  };
}

/** Run info from a response. */
export function decodeRunInfo(wire: WireRunInfo): RunInfo {
  return {
    runId: wire.run_id ?? wire.run_uuid ?? '',
    runName: wire.run_name ?? '',
    experimentId: String(wire.experiment_id ?? ''),
    userId: wire.user_id ?? '',
    status: (wire.status ?? 'RUNNING') as RunStatus,
    startTime: decodeNumber(wire.start_time) ?? 0,
    endTime: decodeNumber(wire.end_time),
    artifactUri: wire.artifact_uri ?? '',
    lifecycleStage: lifecycle(wire.lifecycle_stage),
  };
}

/** A run from a response. */
export function decodeRun(wire: WireRun): RunRecord {
  const metrics: Record<string, number> = {};
  for (const metric of wire.data?.metrics ?? []) {
    if (metric.key !== undefined) metrics[metric.key] = decodeNumber(metric.value) ?? 0;
  }
  const info = decodeRunInfo(wire.info ?? {});
  const tags = decodeTags(wire.data?.tags);
  if (!info.runName && tags['mlflow.runName']) info.runName = tags['mlflow.runName'];
  return {
    info,
    data: { metrics, params: decodeTags(wire.data?.params), tags },
    inputs: { datasetInputs: (wire.inputs?.dataset_inputs ?? []).map(decodeDatasetInput) },
  };
}

/** An artifact listing entry; `prefix` makes a basename relative to the artifact root. */
export function decodeFileInfo(wire: WireFileInfo, prefix: string): FileInfo {
  const name = wire.path ?? '';
  return {
    path: prefix ? `${prefix}/${name}` : name,
    isDir: wire.is_dir ?? false,
    fileSize: wire.is_dir ? undefined : decodeNumber(wire.file_size),
  };
}

/** A model version from a response. */
export function decodeModelVersion(wire: WireModelVersion): ModelVersion {
  return {
    name: wire.name ?? '',
    version: String(wire.version ?? ''),
    creationTimestamp: decodeNumber(wire.creation_timestamp),
    lastUpdatedTimestamp: decodeNumber(wire.last_updated_timestamp),
    currentStage: wire.current_stage,
    description: wire.description,
    source: wire.source ?? '',
    runId: wire.run_id || undefined,
    modelId: wire.model_id || undefined,
    status: (wire.status ?? 'READY') as ModelVersionStatus,
    statusMessage: wire.status_message || undefined,
    tags: decodeTags(wire.tags),
    aliases: wire.aliases ?? [],
  };
}

/** A registered model from a response. */
export function decodeRegisteredModel(wire: WireRegisteredModel): RegisteredModel {
  const aliases: Record<string, string> = {};
  for (const alias of wire.aliases ?? [])
    if (alias.alias !== undefined) aliases[alias.alias] = String(alias.version ?? '');
  return {
    name: wire.name ?? '',
    creationTimestamp: decodeNumber(wire.creation_timestamp),
    lastUpdatedTimestamp: decodeNumber(wire.last_updated_timestamp),
    description: wire.description,
    tags: decodeTags(wire.tags),
    aliases,
    latestVersions: (wire.latest_versions ?? []).map(decodeModelVersion),
  };
}

/** A logged model from a response. */
export function decodeLoggedModel(wire: WireLoggedModel): LoggedModel {
  const info = wire.info ?? {};
  return {
    modelId: info.model_id ?? '',
    experimentId: String(info.experiment_id ?? ''),
    name: info.name ?? '',
    artifactUri: info.artifact_uri ?? '',
    status: (info.status ?? 'LOGGED_MODEL_PENDING') as LoggedModelStatus,
    sourceRunId: info.source_run_id || undefined,
    modelType: info.model_type || undefined,
    tags: decodeTags(info.tags),
    params: decodeTags(wire.data?.params),
    metrics: (wire.data?.metrics ?? []).map(decodeMetric),
  };
}
