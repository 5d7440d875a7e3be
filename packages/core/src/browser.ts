/**
 * `@mlflow-kit/core` in a web page (the `browser` export condition, which bundlers pick by themselves): the same
 * run API as in Node (`startRun`, `withRun`, `getActiveRun`, `Run`, the batching logger, redaction, typed
 * errors) over `fetch`, with the same retry policy. Tracking is on only with `enabled: true`, and
 * `trackingUri` is required: a page has no environment variables and no local store. A page's spool is
 * IndexedDB ({@link replayPageSpool}). Node-only parts (the client and stores by URI, the spool on disk, its
 * replay and `sync`, system metrics, exit hooks) are not here.
 *
 * @packageDocumentation
 */

export { PAGE_SPOOL_DATABASE } from './browser/page-spool-store.js';
export {
  type PageSpoolReplaySummary,
  type ReplayPageSpoolOptions,
  replayPageSpool,
} from './browser/replay-page-spool.js';
export { resolveBrowserSettings } from './browser/settings.js';
export { startRun, withRun } from './browser/start-run.js';
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
export { getOrCreateExperiment } from './internal/place-run.js';
export { parseBooleanEnv, resolveEnabled } from './internal/setting-parsers.js';
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
export type { EnabledSource, ResolvedSettings, TrackingOptions } from './settings.js';
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
