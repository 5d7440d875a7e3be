export { createClient, MlflowClient } from './client.js';
export { getActiveRun } from './context.js';
export { type DiagLevel, type DiagLogger, diag, setDiagLogger } from './diag.js';
export {
  MlflowApiError,
  type MlflowApiErrorOptions,
  MlflowConfigError,
  MlflowKitError,
  MlflowRunDeletedError,
  type MlflowRunDeletedErrorOptions,
  MlflowValidationError,
} from './errors.js';
export { MAX_DEPTH, toJsonValue } from './internal/json-value.js';
export { closeStores, getStore } from './internal/store-factory.js';
export { NOOP_RUN } from './noop-run.js';
export { RecordingRun, toTable } from './recording-run.js';
export {
  createRedactor,
  defaultRedactor,
  isSecretKey,
  keyWords,
  LEAF_SECRET_WORDS,
  REDACTED,
  type RedactOptions,
  type Redactor,
  redactError,
  redactorFor,
  redactText,
  redactUrl,
  withAllowedKeys,
} from './redact.js';
export {
  type ReplayedRun,
  type ReplayOptions,
  type ReplayProgress,
  type ReplaySummary,
  replayLocalRuns,
  SOURCE_RUN_TAG,
} from './replay-local-runs.js';
export type {
  CanvasLike,
  EndRunOptions,
  ImageDataLike,
  LogMetricOptions,
  ParamValue,
  Run,
  StartRunOptions,
  TableInput,
} from './run.js';
export { RunLogger, type RunLoggerOptions, type RunLoggerStats } from './run-logger.js';
export {
  type EnabledSource,
  parseBooleanEnv,
  type ResolvedSettings,
  resolveEnabled,
  resolveSettings,
  type TrackingOptions,
} from './settings.js';
export {
  RunSpool,
  resolveSpoolDir,
  SPOOL_SIDECAR,
  type SpoolRunTarget,
  spoolStoreDir,
  syncCommand,
} from './spool.js';
export { getOrCreateExperiment, startRun, withRun } from './start-run.js';
export {
  type ArtifactSource,
  type CreateLoggedModelRequest,
  type CreateRunRequest,
  hasOrderedMetrics,
  type LoggedModelStore,
  type OrderedMetricReader,
  type RegistryStore,
  type SearchExperimentsOptions,
  type SearchRunsOptions,
  type StoreCapabilities,
  type StoreKind,
  type TrackingStore,
  type UpdateRunRequest,
} from './store.js';
export type {
  Dataset,
  DatasetInput,
  Experiment,
  FileInfo,
  KeyValue,
  LifecycleStage,
  LogBatch,
  LoggedModel,
  LoggedModelStatus,
  Metric,
  ModelVersion,
  ModelVersionStatus,
  Page,
  RegisteredModel,
  RunData,
  RunInfo,
  RunInputs,
  RunRecord,
  RunStatus,
  ViewType,
} from './types.js';
export {
  isPlausibleTimestamp,
  type KeyKind,
  keyProblem,
  LIMITS,
  normalizeArtifactPath,
  sanitizeKey,
  TIMESTAMP_RANGE,
  toMetricValue,
  toParamString,
  validateKey,
} from './validation.js';
