import type { TrackingOptions } from './settings.js';
import type { DatasetInput, RunStatus } from './types.js';

/** A value accepted as a param. Converted to a string by the rule in {@link Run.logParam}. */
export type ParamValue = string | number | boolean | bigint | null | undefined | Date | object;

/** Options of {@link Run.logMetric} and {@link Run.logMetrics}. */
export interface LogMetricOptions {
  /** Integer step of the point. @defaultValue `0` */
  step?: number;
  /** Unix epoch milliseconds. @defaultValue `Date.now()` at the call */
  timestamp?: number;
}

/** Options of {@link Run.end}. */
export interface EndRunOptions {
  /** Final status. @defaultValue `'FINISHED'` */
  status?: Exclude<RunStatus, 'RUNNING' | 'SCHEDULED'>;
}

/**
 * A table for {@link Run.logTable}: MLflow's own `{ columns, data }` shape, an array of row objects, or an
 * object of equal-length columns (like a pandas `DataFrame` built from a dict).
 */
export type TableInput =
  | { columns: string[]; data: unknown[][] }
  | Record<string, unknown>[]
  | Record<string, unknown[]>;

/** An RGBA image such as a browser `ImageData`: `data` holds `width * height * 4` bytes, row by row. */
export interface ImageDataLike {
  width: number;
  height: number;
  data: Uint8Array | Uint8ClampedArray;
}

/** A canvas whose pixels {@link Run.logImage} reads: an `HTMLCanvasElement` or an `OffscreenCanvas`. */
export interface CanvasLike {
  width: number;
  height: number;
  getContext(contextId: '2d'): {
    getImageData(x: number, y: number, width: number, height: number): ImageDataLike;
  } | null;
}

/**
 * An MLflow run: the handle every adapter logs through. Log calls (`logParam`, `logMetric`, `setTag`, ...)
 * validate their input, queue it and return at once; the queue is sent in batches in the background.
 * They throw only for bad input ({@link MlflowValidationError}), never for transport trouble, which is
 * retried and reported through `diag`. `flush()` and `end()` wait until everything queued is sent.
 *
 * When tracking is off, runs are no-ops: `isRecording` is `false` and every call returns at once.
 */
export interface Run {
  /** The run's id (32 hex characters); `''` for a no-op run. */
  readonly runId: string;
  /** Id of the run's experiment; `''` for a no-op run. */
  readonly experimentId: string;
  /** The run's name (`mlflow.runName`); `''` for a no-op run. */
  readonly runName: string;
  /** Root URI of the run's artifacts; `''` for a no-op run. */
  readonly artifactUri: string;
  /** Whether this run records anything: `false` when tracking is off. */
  readonly isRecording: boolean;
  /** Link to the run in the MLflow UI, when the store has a UI. */
  readonly url: string | undefined;
  /** Id of the parent run, for nested runs. */
  readonly parentRunId: string | undefined;

  /**
   * Logs a param. Params are write-once: logging the same value again is a no-op, a different value throws
   * {@link MlflowValidationError} naming the key, old and new value. Values become strings: strings as is,
   * numbers, booleans and bigints with `String()`, dates as ISO strings, `null` and `undefined` as `None`
   * (MLflow's own spelling), other objects as JSON. Values over 6000 characters are truncated with a
   * warning, as the MLflow server does.
   */
  logParam(key: string, value: ParamValue): void;
  /** Logs several params: {@link Run.logParam} for each entry. */
  logParams(params: Record<string, ParamValue>): void;
  /**
   * Logs one metric point. `value` must be a number (NaN and ±Infinity are valid); `step` an integer.
   */
  logMetric(key: string, value: number, options?: LogMetricOptions): void;
  /** Logs several metrics at the same step and timestamp. */
  logMetrics(metrics: Record<string, number>, options?: LogMetricOptions): void;
  /** Sets a tag; later values overwrite earlier ones. Values are converted like params. */
  setTag(key: string, value: ParamValue): void;
  /** Sets several tags. */
  setTags(tags: Record<string, ParamValue>): void;

  /** Uploads a local file to the run's artifacts, under `artifactPath` if given. */
  logArtifact(localPath: string, artifactPath?: string): Promise<void>;
  /** Uploads every file under a local directory, keeping its layout, under `artifactPath` if given. */
  logArtifacts(localDir: string, artifactPath?: string): Promise<void>;
  /**
   * Writes `bytes` as the artifact file `artifactFile`, as they are (no redaction): the way to upload content
   * held in memory, such as a model saved by an in-memory handler in a web page, where there are no files.
   */
  logBytes(bytes: Uint8Array, artifactFile: string): Promise<void>;
  /** Writes `text` as the artifact file `artifactFile` (a run-relative path such as `notes/summary.txt`). */
  logText(text: string, artifactFile: string): Promise<void>;
  /** Writes `value` as JSON, or as YAML when `artifactFile` ends in `.yaml` or `.yml`. */
  logDict(value: unknown, artifactFile: string): Promise<void>;
  /** Writes a table as MLflow's `{"columns": [...], "data": [[...]]}` JSON, which the UI renders. */
  logTable(table: TableInput, artifactFile: string): Promise<void>;
  /**
   * Writes PNG (or JPEG) bytes, or encodes an RGBA image (an `ImageData`, or `{ width, height, data }`) or the
   * pixels of a 2D canvas to PNG, as `artifactFile`.
   */
  logImage(image: Uint8Array | ImageDataLike | CanvasLike, artifactFile: string): Promise<void>;
  /**
   * Records datasets the run used (MLflow's `mlflow.log_input`; shown under "Datasets" in the UI), each with
   * its input tags such as `{ 'mlflow.data.context': 'train' }`. Resolves once they are on the server or in
   * the spool; never rejects for transport trouble (a refusal is reported through `diag`).
   */
  logInputs(datasets: DatasetInput[]): Promise<void>;

  /**
   * Waits until everything logged so far has been sent, at most the exit timeout (`MLFLOW_KIT_EXIT_TIMEOUT`,
   * 5 s by default); what is not sent by then goes to the spool. Never rejects for transport trouble.
   * Rejects with {@link MlflowRunDeletedError} once the server answered that the run was deleted (someone ran
   * `mlflow runs delete` or deleted it in the UI): its data is then kept in the spool, for `mlflow-kit sync`
   * after `mlflow runs restore`.
   */
  flush(): Promise<void>;
  /**
   * Flushes (bounded, as {@link Run.flush}), then ends the run with `status` and the current time. When part
   * of the run's data is in the spool, the status goes there too and reaches the server after the data.
   * A second call does nothing; logging after it throws {@link MlflowKitError}. Ending a parent run does not
   * end its children. On a run deleted on the server meanwhile, the status goes to the spool with the data and
   * `end()` rejects with {@link MlflowRunDeletedError} (the run stays RUNNING, deleted, on the server until it is
   * restored and synced).
   */
  end(options?: EndRunOptions): Promise<void>;
}

/** Options of `startRun` and `withRun`. */
export interface StartRunOptions extends TrackingOptions {
  /** Resume this run instead of creating one. Falls back to `MLFLOW_RUN_ID` (used once, then ignored). */
  runId?: string;
  /** Experiment by name, created if missing. Falls back to `MLFLOW_EXPERIMENT_NAME`. */
  experimentName?: string;
  /** Experiment by id; must exist. Falls back to `MLFLOW_EXPERIMENT_ID`. @defaultValue `'0'` */
  experimentId?: string;
  /** Name of the new run; the server picks one when omitted. */
  runName?: string;
  /**
   * Start the run as a child of the active run. Without it, starting a run while another is active
   * throws, as in MLflow. @defaultValue `false`
   */
  nested?: boolean;
  /** Parent run id for a nested run, when it is not the active one. */
  parentRunId?: string;
  /** Extra tags for the new run. */
  tags?: Record<string, string>;
  /** Run description, shown in the UI (`mlflow.note.content`). */
  description?: string;
  /** Milliseconds between background flushes. @defaultValue `1000` */
  flushIntervalMs?: number;
  /**
   * Longest wait, in seconds, of `flush()`, `end()` and the end of the process for the server; what is not
   * sent by then goes to the spool. Falls back to `MLFLOW_KIT_EXIT_TIMEOUT`. @defaultValue `5`
   */
  exitTimeoutSeconds?: number;
  /**
   * Longest wait, in seconds, for the server when the run starts; past it (or when the server cannot be
   * reached) the run records into the spool and is created on the server later. Falls back to
   * `MLFLOW_KIT_START_TIMEOUT`; in a web page (no variables) the option alone, the spool being the page's
   * IndexedDB. @defaultValue `5`
   */
  startTimeoutSeconds?: number;
  /**
   * For a run started offline, seconds between tries of the server; once it answers, the run is created
   * there and its spool uploaded, and then again every interval (at least) until the run ends. `0` leaves
   * it all to `end()` and `mlflow-kit sync` (in a web page, to `end()` and the next visit). Falls back to
   * `MLFLOW_KIT_OFFLINE_PROBE_INTERVAL` (not in a web page).
   * @defaultValue `30`
   */
  offlineProbeIntervalSeconds?: number;
  /**
   * Directory of the spool: where data goes that the server cannot take. Falls back to
   * `MLFLOW_KIT_SPOOL_DIR`. @defaultValue `~/.cache/mlflow-kit/spool`
   */
  spoolDir?: string;
  /**
   * Whether the run has a spool, where data goes that the server cannot take: in Node the directory
   * {@link StartRunOptions.spoolDir}; in a web page the origin's IndexedDB database `mlflow-kit-spool` (which
   * also takes everything still in memory when the page is hidden or goes away), uploaded when the server
   * answers again or on the next visit. `false` keeps such data in memory only (bounded by
   * `maxPendingBytes`, lost when the process or page ends), and the server must answer when the run starts
   * (no offline start). @defaultValue `true`
   */
  spool?: boolean;
  /** Most bytes of unsent data kept in memory; past it the oldest goes to the spool. @defaultValue `64 MiB` */
  maxPendingBytes?: number;
  /**
   * Samples CPU, memory, disk and network usage in the background while the run is active and logs them as
   * MLflow's `system/...` metrics (the UI's "System metrics" tab), as `mlflow.start_run(log_system_metrics=True)`
   * does. Off, nothing is loaded and no timer runs.
   * @defaultValue `MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING` (`true`/`false`), else `false`
   */
  logSystemMetrics?: boolean;
  /**
   * Seconds between two samples of the system metrics.
   * @defaultValue `MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL`, else 10 (MLflow's default)
   */
  systemMetricsSamplingInterval?: number;
  /**
   * Samples averaged into each logged point of the system metrics.
   * @defaultValue `MLFLOW_SYSTEM_METRICS_SAMPLES_BEFORE_LOGGING`, else 1 (MLflow's default)
   */
  systemMetricsSamplesBeforeLogging?: number;
}
