import { isAbsolute, resolve } from 'node:path';
import { MlflowConfigError } from './errors.js';
import {
  booleanSetting,
  processEnv,
  resolveEnabled,
  resolveTransportSettings,
} from './internal/setting-parsers.js';
import { exitTimeoutMs } from './internal/spool-settings.js';
import { resolveStoreUri, type UriStoreKind } from './internal/store-kinds.js';
import { type RedactOptions, type Redactor, redactUrl } from './redact.js';
import type { TrackingStore } from './store.js';

/**
 * Connection and switch options shared by `startRun`, `createClient` and every adapter. Each falls back
 * to the MLflow environment variable named in its doc, then to the default.
 */
export interface TrackingOptions {
  /**
   * Whether tracking is on. Falls back to `MLFLOW_KIT_ENABLED` (`1`/`true`/`yes` or `0`/`false`/`no`).
   * When off, every run is a no-op: no network, no timers, no files.
   * @defaultValue `false`
   */
  enabled?: boolean;
  /**
   * Where runs go: `http(s)://host:port[/prefix]` for a tracking server, or a path or `file:` URI for
   * MLflow's local format. Falls back to `MLFLOW_TRACKING_URI`.
   * @defaultValue `'./mlruns'`
   */
  trackingUri?: string;
  /** Basic-auth user. Falls back to `MLFLOW_TRACKING_USERNAME`. */
  username?: string;
  /** Basic-auth password. Falls back to `MLFLOW_TRACKING_PASSWORD`. */
  password?: string;
  /** Bearer token. Falls back to `MLFLOW_TRACKING_TOKEN`. Basic auth wins when both are set, as in MLflow. */
  token?: string;
  /** Skip TLS certificate verification. Falls back to `MLFLOW_TRACKING_INSECURE_TLS`. @defaultValue `false` */
  insecureTls?: boolean;
  /** CA bundle (PEM) to verify the server with. Falls back to `MLFLOW_TRACKING_SERVER_CERT_PATH`. */
  serverCertPath?: string;
  /** Client certificate and key (PEM) for mutual TLS. Falls back to `MLFLOW_TRACKING_CLIENT_CERT_PATH`. */
  clientCertPath?: string;
  /** Per-request timeout in seconds, as in Python. Falls back to `MLFLOW_HTTP_REQUEST_TIMEOUT`. @defaultValue `120` */
  requestTimeoutSeconds?: number;
  /** Retries of a failed request. Falls back to `MLFLOW_HTTP_REQUEST_MAX_RETRIES`. @defaultValue `7` */
  maxRetries?: number;
  /** Backoff factor in seconds. Falls back to `MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR`. @defaultValue `2` */
  backoffFactor?: number;
  /** Random extra wait per retry, in seconds. Falls back to `MLFLOW_HTTP_REQUEST_BACKOFF_JITTER`. @defaultValue `1` */
  backoffJitter?: number;
  /** Extra HTTP headers sent with every request. */
  headers?: Record<string, string>;
  /** Sends mlflow-kit's diagnostics to the console at `debug` level, the most verbose. Falls back to `MLFLOW_KIT_DEBUG`. @defaultValue `false` */
  debug?: boolean;
  /** A store to use instead of one built from the URI (tests, custom backends). */
  store?: TrackingStore;
  /**
   * How params and tags are redacted before they leave the process (see core's README for the rules):
   * `true` for the built-in rules, an options object to add key or value patterns and to allow keys, or
   * `false` to store params and tags verbatim (a warning says so once per run; errors, diagnostics and
   * the URI stay redacted whatever this says).
   * @defaultValue `true`
   */
  redact?: boolean | RedactOptions;
}

/** How tracking was switched on or off, for `mlflow-kit doctor` and debug output. */
export type EnabledSource = 'option' | 'MLFLOW_KIT_ENABLED' | 'default';

/** {@link TrackingOptions} with environment variables and defaults applied. */
export interface ResolvedSettings {
  enabled: boolean;
  enabledSource: EnabledSource;
  /** The tracking URI as given (credentials removed), or the default local path as a `file:` URI. */
  trackingUri: string;
  /** Where the URI came from. */
  trackingUriSource: 'option' | 'MLFLOW_TRACKING_URI' | 'default';
  /** `rest` for http(s), `local` for a path or `file:` URI (see the table in `internal/store-kinds.ts`). */
  storeKind: UriStoreKind;
  /** Absolute directory of the local store, when `storeKind` is `local`. */
  localPath?: string;
  username?: string;
  password?: string;
  token?: string;
  insecureTls: boolean;
  serverCertPath?: string;
  clientCertPath?: string;
  requestTimeoutMs: number;
  maxRetries: number;
  backoffFactorMs: number;
  backoffJitterMs: number;
  headers: Record<string, string>;
  debug: boolean;
  /** The redactor for params and tags, or `false` when the user turned redaction off. */
  redactor: Redactor | false;
}

type Env = Record<string, string | undefined>;

export { parseBooleanEnv, resolveEnabled } from './internal/setting-parsers.js';
export { redactUrl } from './redact.js';

/** `127.0.0.1:5000`, `localhost:5000/prefix`, `mlflow.internal:443`: a server address without `http://`. */
const HOST_PORT = /^(?:[a-z0-9-]+(?:\.[a-z0-9-]+)*|\[[0-9a-f:.]+\]):\d{1,5}(?:[/?#]|$)/i;

function checkTrackingUri(uri: string, source: string): void {
  const fix = source === 'trackingUri' ? 'pass `trackingUri` as' : 'set MLFLOW_TRACKING_URI to';
  if (uri.trim() !== uri) {
    throw new MlflowConfigError(
      `The tracking URI from ${source} has spaces or line breaks at its start or end: ${fix} the URI alone, such as http://127.0.0.1:5000.`,
      { setting: source },
    );
  }
  if (HOST_PORT.test(uri)) {
    throw new MlflowConfigError(
      `The tracking URI from ${source} looks like host:port without a scheme: ${fix} http://${redactUrl(uri)} (or https://), or use a path such as ./mlruns for the local store.`,
      { setting: source },
    );
  }
}

/**
 * Applies environment variables and defaults to `options`. Throws {@link MlflowConfigError} for a
 * setting that cannot work (an unknown URI scheme, a URI without a scheme, both TLS options, a malformed
 * number or boolean, a password without a user name).
 */
export function resolveSettings(options: TrackingOptions = {}, env: Env = processEnv()): ResolvedSettings {
  const { enabled, source: enabledSource } = resolveEnabled(options, env);

  let trackingUri = options.trackingUri ?? env.MLFLOW_TRACKING_URI;
  const trackingUriSource =
    options.trackingUri !== undefined
      ? 'option'
      : env.MLFLOW_TRACKING_URI !== undefined
        ? 'MLFLOW_TRACKING_URI'
        : 'default';
  if (trackingUri !== undefined && trackingUri.trim() === '') trackingUri = undefined;
  if (trackingUri !== undefined)
    checkTrackingUri(trackingUri, trackingUriSource === 'option' ? 'trackingUri' : 'MLFLOW_TRACKING_URI');
  trackingUri ??= './mlruns';

  let username = options.username ?? env.MLFLOW_TRACKING_USERNAME;
  let password = options.password ?? env.MLFLOW_TRACKING_PASSWORD;
  const token = options.token ?? env.MLFLOW_TRACKING_TOKEN;

  const {
    kind: storeKind,
    localPath,
    trackingUri: storeUri,
    username: uriUsername,
    password: uriPassword,
  } = resolveStoreUri(trackingUri);
  trackingUri = storeUri;
  username ??= uriUsername;
  password ??= uriPassword;

  if (password && !username) {
    throw new MlflowConfigError(
      'A tracking password is set (MLFLOW_TRACKING_PASSWORD or `password`) without a user name: set MLFLOW_TRACKING_USERNAME (or pass `username`) too, or use MLFLOW_TRACKING_TOKEN for a bearer token.',
      { setting: 'MLFLOW_TRACKING_USERNAME' },
    );
  }

  const insecureTls =
    booleanSetting(options.insecureTls, 'insecureTls', 'MLFLOW_TRACKING_INSECURE_TLS', env) ?? false;
  const serverCertPath = options.serverCertPath ?? env.MLFLOW_TRACKING_SERVER_CERT_PATH;
  if (insecureTls && serverCertPath) {
    throw new MlflowConfigError(
      'Both insecure TLS (MLFLOW_TRACKING_INSECURE_TLS) and a server certificate (MLFLOW_TRACKING_SERVER_CERT_PATH) are set: they contradict each other, keep only one.',
      { setting: 'insecureTls' },
    );
  }
  const clientCertPath = options.clientCertPath ?? env.MLFLOW_TRACKING_CLIENT_CERT_PATH;

  const transport = resolveTransportSettings(options, env);
  // Checked now so a typo fails at start, not when the program exits.
  exitTimeoutMs(undefined, env);

  const resolved: ResolvedSettings = {
    enabled,
    enabledSource,
    trackingUri,
    trackingUriSource,
    storeKind,
    insecureTls,
    ...transport,
  };
  if (localPath !== undefined) resolved.localPath = localPath;
  if (username) resolved.username = username;
  if (password) resolved.password = password;
  if (token) resolved.token = token;
  if (serverCertPath)
    resolved.serverCertPath = isAbsolute(serverCertPath) ? serverCertPath : resolve(serverCertPath);
  if (clientCertPath)
    resolved.clientCertPath = isAbsolute(clientCertPath) ? clientCertPath : resolve(clientCertPath);
  return resolved;
}
