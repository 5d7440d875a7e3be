export {
  type DownloadArtifactsOptions,
  type DownloadedArtifacts,
  downloadRunArtifacts,
  formatArtifactList,
  type ListArtifactsOptions,
  listRunArtifacts,
} from './artifacts.js';
export {
  type DoctorCheck,
  type DoctorOptions,
  type DoctorReport,
  type DoctorStatus,
  formatDoctorReport,
  runDoctor,
} from './doctor.js';
export { formatExperimentsTable, type ListExperimentsOptions, listExperiments } from './experiments.js';
export { formatMetricChart, formatNumber, type MetricChartOptions } from './metric-chart.js';
export {
  formatModelDetails,
  formatModelsTable,
  getModelDetails,
  type ListModelsOptions,
  listModels,
  type ModelDetails,
  setModelAlias,
} from './models.js';
export { formatDuration, formatProgress, type ProgressStream, type SyncProgress } from './progress.js';
export {
  type FormatRunDetailsOptions,
  formatRunDetails,
  formatRunsTable,
  getRunDetails,
  type ListedRun,
  type ListRunsOptions,
  listRuns,
  type MetricSummary,
  type RunDetails,
  type RunDetailsOptions,
} from './runs.js';
export { type ServeModelOptions, type ServingInfo, serveModel } from './serve.js';
export {
  formatSyncSummary,
  SOURCE_RUN_TAG,
  type SyncedRun,
  type SyncOptions,
  type SyncSummary,
  syncLocalRuns,
} from './sync.js';
