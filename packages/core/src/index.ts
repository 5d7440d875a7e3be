export { chunkBatch, createClient, MlflowClient } from './client.js';
export { getActiveRun } from './context.js';
export { type DiagLevel, type DiagLogger, diag, setDiagLogger } from './diag.js';
export {
  MlflowApiError,
  type MlflowApiErrorOptions,
  MlflowConfigError,
  MlflowKitError,
  MlflowValidationError,
} from './errors.js';
export { closeStores, getStore } from './internal/store-factory.js';
export { type TlsConnectOptions, tlsConnectOptions } from './internal/tls.js';
export { NOOP_RUN } from './noop-run.js';
export { RecordingRun, toTable } from './recording-run.js';
export type {
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
  redactUrl,
  resolveEnabled,
  resolveSettings,
  type TrackingOptions,
} from './settings.js';
export {
  RunSpool,
  replaySpool,
  resolveSpoolDir,
  SPOOL_SIDECAR,
  type SpoolReplayer,
  type SpoolRunTarget,
  setSpoolReplayer,
  spoolStoreDir,
  syncCommand,
} from './spool.js';
export { getOrCreateExperiment, startRun, withRun } from './start-run.js';
export type {
  ArtifactSource,
  CreateRunRequest,
  RegistryStore,
  SearchExperimentsOptions,
  SearchRunsOptions,
  TrackingStore,
  UpdateRunRequest,
} from './store.js';
export type {
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
  RunRecord,
  RunStatus,
  ViewType,
} from './types.js';
export {
  type KeyKind,
  keyProblem,
  LIMITS,
  normalizeArtifactPath,
  sanitizeKey,
  toMetricValue,
  toParamString,
  validateKey,
} from './validation.js';
