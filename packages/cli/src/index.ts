export {
  type DoctorCheck,
  type DoctorOptions,
  type DoctorReport,
  type DoctorStatus,
  formatDoctorReport,
  runDoctor,
} from './doctor.js';
export { formatProgress, type ProgressStream, type SyncProgress } from './progress.js';
export { formatRunsTable, type ListedRun, type ListRunsOptions, listRuns } from './runs.js';
export {
  formatSyncSummary,
  SOURCE_RUN_TAG,
  type SyncedRun,
  type SyncOptions,
  type SyncSummary,
  syncLocalRuns,
} from './sync.js';
