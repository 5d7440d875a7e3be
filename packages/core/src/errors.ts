import { redactError, redactText } from './redact.js';

const ERROR_MARKER = Symbol.for('@mlflow-kit/core/error');
const API_ERROR_MARKER = Symbol.for('@mlflow-kit/core/api-error');
const CONFIG_ERROR_MARKER = Symbol.for('@mlflow-kit/core/config-error');
const VALIDATION_ERROR_MARKER = Symbol.for('@mlflow-kit/core/validation-error');
const RUN_DELETED_ERROR_MARKER = Symbol.for('@mlflow-kit/core/run-deleted-error');

/**
 * Base class of every error thrown by mlflow-kit. Use {@link MlflowKitError.isInstance} rather than
 * `instanceof`, so that two copies of the package in one process still recognise each other's errors.
 *
 * Messages never contain credentials: the message, and every error of its `cause` chain, pass through
 * core's redaction (`redactText`, `redactError`) when the error is made.
 */
export class MlflowKitError extends Error {
  readonly [ERROR_MARKER] = true;

  constructor(message: string, options?: { cause?: unknown }) {
    super(redactText(message), options);
    this.name = 'MlflowKitError';
    if (options?.cause !== undefined) redactError(options.cause);
  }

  /** Whether `error` is an {@link MlflowKitError}, from this or any other copy of the package. */
  static isInstance(error: unknown): error is MlflowKitError {
    return typeof error === 'object' && error !== null && ERROR_MARKER in error;
  }
}

/** Options of {@link MlflowApiError}. */
export interface MlflowApiErrorOptions {
  /** HTTP method and endpoint path, for example `[POST] /api/2.0/mlflow/runs/log-batch`. */
  endpoint: string;
  /** HTTP status, or `undefined` when no response arrived (network error, timeout). */
  status?: number | undefined;
  /** MLflow's `error_code`, such as `INVALID_PARAMETER_VALUE`, when the server sent one. */
  errorCode?: string | undefined;
  /** The server's message, or a description of the network failure. */
  serverMessage: string;
  /** Whether sending the same request again may succeed (network errors, 408, 429, 5xx). */
  retryable: boolean;
  /** The underlying error, if any. */
  cause?: unknown;
}

/**
 * A request to the MLflow server failed. Carries the endpoint, the HTTP status, MLflow's `error_code`
 * and whether the failure is worth retrying. The message reads like
 * `[POST] /api/2.0/mlflow/runs/log-batch: 400 INVALID_PARAMETER_VALUE: <server message>`.
 */
export class MlflowApiError extends MlflowKitError {
  readonly [API_ERROR_MARKER] = true;
  /** HTTP method and path of the request. */
  readonly endpoint: string;
  /** HTTP status, `undefined` for network failures. */
  readonly status: number | undefined;
  /** MLflow error code (`RESOURCE_DOES_NOT_EXIST`, ...), or one derived from the status. */
  readonly errorCode: string | undefined;
  /** The message from the server, without our prefix. */
  readonly serverMessage: string;
  /** Whether the request may succeed if sent again. */
  readonly retryable: boolean;

  constructor(options: MlflowApiErrorOptions) {
    const statusPart = [options.status, options.errorCode].filter((part) => part !== undefined).join(' ');
    super(`${options.endpoint}: ${statusPart ? `${statusPart}: ` : ''}${options.serverMessage}`, {
      cause: options.cause,
    });
    this.name = 'MlflowApiError';
    this.endpoint = options.endpoint;
    this.status = options.status;
    this.errorCode = options.errorCode;
    this.serverMessage = redactText(options.serverMessage);
    this.retryable = options.retryable;
  }

  /** Whether `error` is an {@link MlflowApiError}. */
  static override isInstance(error: unknown): error is MlflowApiError {
    return typeof error === 'object' && error !== null && API_ERROR_MARKER in error;
  }
}

/**
 * A configuration mistake: a bad option or environment variable. The message says how to fix it,
 * for example "pass `trackingUri` or set MLFLOW_TRACKING_URI".
 */
export class MlflowConfigError extends MlflowKitError {
  readonly [CONFIG_ERROR_MARKER] = true;
  /** The option or environment variable at fault, when there is one. */
  readonly setting: string | undefined;

  constructor(message: string, options?: { setting?: string; cause?: unknown }) {
    super(message, options);
    this.name = 'MlflowConfigError';
    this.setting = options?.setting;
  }

  /** Whether `error` is an {@link MlflowConfigError}. */
  static override isInstance(error: unknown): error is MlflowConfigError {
    return typeof error === 'object' && error !== null && CONFIG_ERROR_MARKER in error;
  }
}

/**
 * A value passed to a log call breaks MLflow's rules (an invalid key, a non-numeric metric, a
 * non-integer step, a changed param value). Names the key and says what to do.
 */
export class MlflowValidationError extends MlflowKitError {
  readonly [VALIDATION_ERROR_MARKER] = true;
  /** The metric, param or tag key at fault. */
  readonly key: string;

  constructor(key: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MlflowValidationError';
    this.key = redactText(key);
  }

  /** Whether `error` is an {@link MlflowValidationError}. */
  static override isInstance(error: unknown): error is MlflowValidationError {
    return typeof error === 'object' && error !== null && VALIDATION_ERROR_MARKER in error;
  }
}

/** Options of {@link MlflowRunDeletedError}. */
export interface MlflowRunDeletedErrorOptions {
  /** Id of the run on the server. */
  runId: string;
  /** The server the run was deleted on (no credentials). */
  trackingUri: string;
  /**
   * `true` when the server no longer knows the run at all (`RESOURCE_DOES_NOT_EXIST`: removed for good, as by
   * `mlflow gc`); `false` when it is only marked deleted and can be restored.
   */
  permanent: boolean;
  /** The command that uploads the run's spool, when its data is kept there. */
  syncCommand?: string | undefined;
  /** The server's answer. */
  cause?: unknown;
}

/**
 * The run was deleted on the server (by `mlflow runs delete`, the UI, or a deleted experiment) while this
 * process was logging to it. The server refuses every write to it, so from the moment it answers so, the
 * run's data goes to the spool instead of being lost; `flush()` and `end()` then reject with this error.
 *
 * The fix: restore the run (`mlflow runs restore --run-id <id>`) and upload the spool with the
 * `mlflow-kit sync` command the message names, or start a new run.
 */
export class MlflowRunDeletedError extends MlflowKitError {
  readonly [RUN_DELETED_ERROR_MARKER] = true;
  /** Id of the deleted run. */
  readonly runId: string;
  /** Whether the run is gone for good (it cannot be restored). */
  readonly permanent: boolean;

  constructor(options: MlflowRunDeletedErrorOptions) {
    const kept = options.syncCommand
      ? `What it logged since is kept in the spool; it was not sent.`
      : 'What it logged since was not written.';
    const fix = options.permanent
      ? options.syncCommand
        ? `Upload the kept data into a new run with \`${options.syncCommand}\`, or start a new run.`
        : 'Start a new run.'
      : options.syncCommand
        ? `Restore the run with \`mlflow runs restore --run-id ${options.runId}\` (restore its experiment first if that was deleted too), then upload the kept data with \`${options.syncCommand}\`; or start a new run.`
        : `Restore the run with \`mlflow runs restore --run-id ${options.runId}\`, or start a new run.`;
    super(
      `Run ${options.runId} was ${options.permanent ? 'removed' : 'deleted'} on ${options.trackingUri} while this process was logging to it, and the server refuses its data. ${kept} ${fix}`,
      { cause: options.cause },
    );
    this.name = 'MlflowRunDeletedError';
    this.runId = options.runId;
    this.permanent = options.permanent;
  }

  /** Whether `error` is an {@link MlflowRunDeletedError}. */
  static override isInstance(error: unknown): error is MlflowRunDeletedError {
    return typeof error === 'object' && error !== null && RUN_DELETED_ERROR_MARKER in error;
  }

  /**
   * Whether `error` is the server's answer to a write into a deleted run: `400 INVALID_PARAMETER_VALUE`
   * "must be in the 'active' state" (MLflow 3.x), or `RESOURCE_DOES_NOT_EXIST` for a run removed for good.
   * Returns `'deleted'`, `'removed'` or `undefined`.
   */
  static answerOf(error: unknown): 'deleted' | 'removed' | undefined {
    if (!MlflowApiError.isInstance(error) || error.retryable) return undefined;
    if (error.errorCode === 'RESOURCE_DOES_NOT_EXIST') return 'removed';
    if (
      error.errorCode === 'INVALID_PARAMETER_VALUE' &&
      /must be in the 'active' state/.test(error.serverMessage)
    )
      return 'deleted';
    return undefined;
  }
}
