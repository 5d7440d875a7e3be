import { homedir } from 'node:os';
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { MlflowConfigError } from './errors.js';
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
  /** Turns on mlflow-kit's diagnostics on the console (`info` level). Falls back to `MLFLOW_KIT_DEBUG`. @defaultValue `false` */
  debug?: boolean;
  /** A store to use instead of one built from the URI (tests, custom backends). */
  store?: TrackingStore;
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
  /** `rest` for http(s), `local` for a path or `file:` URI. */
  storeKind: 'rest' | 'local';
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
}

type Env = Record<string, string | undefined>;

const TRUE_WORDS = new Set(['1', 'true', 'yes', 'on']);
const FALSE_WORDS = new Set(['0', 'false', 'no', 'off', '']);

/** Parses a boolean environment variable, or throws a {@link MlflowConfigError} naming it. */
export function parseBooleanEnv(name: string, value: string | undefined): boolean | undefined {
  if (value === undefined) return undefined;
  const word = value.trim().toLowerCase();
  if (TRUE_WORDS.has(word)) return true;
  if (FALSE_WORDS.has(word)) return false;
  throw new MlflowConfigError(
    `${name}=${JSON.stringify(value)} is not a boolean: set it to 1, true or yes to turn it on, or 0, false or no to turn it off.`,
    { setting: name },
  );
}

/** Parses a numeric environment variable, or throws a {@link MlflowConfigError} naming it and the fix. */
export function parseNumberEnv(
  name: string,
  value: string | undefined,
  { min, integer }: { min: number; integer: boolean },
): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed < min || (integer && !Number.isInteger(parsed))) {
    throw new MlflowConfigError(
      `${name}=${JSON.stringify(value)} is not valid: set it to ${integer ? 'a whole number' : 'a number'} of at least ${min}.`,
      { setting: name },
    );
  }
  return parsed;
}

function checkNumberOption(
  name: string,
  value: number | undefined,
  min: number,
  integer: boolean,
): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isFinite(value) || value < min || (integer && !Number.isInteger(value))) {
    throw new MlflowConfigError(
      `Option \`${name}\` is ${value}: pass ${integer ? 'a whole number' : 'a number'} of at least ${min}.`,
      {
        setting: name,
      },
    );
  }
  return value;
}

/** Whether tracking is on for these options and environment, and why. Cheap: reads no files. */
export function resolveEnabled(
  options: Pick<TrackingOptions, 'enabled'> = {},
  env: Env = process.env,
): {
  enabled: boolean;
  source: EnabledSource;
} {
  if (options.enabled !== undefined) return { enabled: options.enabled, source: 'option' };
  const fromEnv = parseBooleanEnv('MLFLOW_KIT_ENABLED', env.MLFLOW_KIT_ENABLED);
  if (fromEnv !== undefined) return { enabled: fromEnv, source: 'MLFLOW_KIT_ENABLED' };
  return { enabled: false, source: 'default' };
}

/** Removes `user:password@` from a URL so it can appear in messages. */
export function redactUrl(uri: string): string {
  return uri.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@\s]*@/i, '$1***@');
}

/**
 * Applies environment variables and defaults to `options`. Throws {@link MlflowConfigError} for a
 * setting that cannot work (an unknown URI scheme, both TLS options, a malformed number).
 */
export function resolveSettings(options: TrackingOptions = {}, env: Env = process.env): ResolvedSettings {
  const { enabled, source: enabledSource } = resolveEnabled(options, env);

  let trackingUri = options.trackingUri ?? env.MLFLOW_TRACKING_URI;
  const trackingUriSource =
    options.trackingUri !== undefined
      ? 'option'
      : env.MLFLOW_TRACKING_URI !== undefined
        ? 'MLFLOW_TRACKING_URI'
        : 'default';
  if (trackingUri !== undefined && trackingUri.trim() === '') trackingUri = undefined;
  trackingUri ??= './mlruns';

  let username = options.username ?? env.MLFLOW_TRACKING_USERNAME;
  let password = options.password ?? env.MLFLOW_TRACKING_PASSWORD;
  const token = options.token ?? env.MLFLOW_TRACKING_TOKEN;

  let storeKind: 'rest' | 'local';
  let localPath: string | undefined;
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(trackingUri)?.[1]?.toLowerCase();
  if (scheme === 'http' || scheme === 'https') {
    storeKind = 'rest';
    let url: URL;
    try {
      url = new URL(trackingUri);
    } catch (cause) {
      throw new MlflowConfigError(
        `The tracking URI ${redactUrl(trackingUri)} is not a valid URL: pass \`trackingUri\` or set MLFLOW_TRACKING_URI to http(s)://host:port.`,
        {
          setting: 'trackingUri',
          cause,
        },
      );
    }
    if (url.username || url.password) {
      // Credentials in the URI are honoured but never kept in the URI we show.
      username ??= decodeURIComponent(url.username);
      password ??= decodeURIComponent(url.password);
      url.username = '';
      url.password = '';
    }
    trackingUri = url.toString().replace(/\/+$/, '');
  } else if (
    scheme === 'file' ||
    scheme === undefined ||
    (scheme.length === 1 && process.platform === 'win32')
  ) {
    storeKind = 'local';
    const path = scheme === 'file' ? new URL(trackingUri).pathname : trackingUri;
    localPath = resolve(path.startsWith('~') ? path.replace(/^~/, homedir()) : path);
    trackingUri = pathToFileURL(localPath).href;
  } else {
    throw new MlflowConfigError(
      `The tracking URI scheme "${scheme}:" is not supported by mlflow-kit: use http(s):// for an MLflow server ` +
        `(for a SQL database, run \`mlflow server --backend-store-uri ${scheme}:...\` and point at it), or a path / file: URI for the local store.`,
      { setting: 'trackingUri' },
    );
  }

  const insecureTls =
    options.insecureTls ??
    parseBooleanEnv('MLFLOW_TRACKING_INSECURE_TLS', env.MLFLOW_TRACKING_INSECURE_TLS) ??
    false;
  const serverCertPath = options.serverCertPath ?? env.MLFLOW_TRACKING_SERVER_CERT_PATH;
  if (insecureTls && serverCertPath) {
    throw new MlflowConfigError(
      'Both insecure TLS (MLFLOW_TRACKING_INSECURE_TLS) and a server certificate (MLFLOW_TRACKING_SERVER_CERT_PATH) are set: they contradict each other, keep only one.',
      { setting: 'insecureTls' },
    );
  }
  const clientCertPath = options.clientCertPath ?? env.MLFLOW_TRACKING_CLIENT_CERT_PATH;

  const timeoutSeconds =
    checkNumberOption('requestTimeoutSeconds', options.requestTimeoutSeconds, 0.001, false) ??
    parseNumberEnv('MLFLOW_HTTP_REQUEST_TIMEOUT', env.MLFLOW_HTTP_REQUEST_TIMEOUT, {
      min: 0.001,
      integer: false,
    }) ??
    120;
  const maxRetries = Math.min(
    10,
    checkNumberOption('maxRetries', options.maxRetries, 0, true) ??
      parseNumberEnv('MLFLOW_HTTP_REQUEST_MAX_RETRIES', env.MLFLOW_HTTP_REQUEST_MAX_RETRIES, {
        min: 0,
        integer: true,
      }) ??
      7,
  );
  const backoffFactor = Math.min(
    120,
    checkNumberOption('backoffFactor', options.backoffFactor, 0, false) ??
      parseNumberEnv('MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR', env.MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR, {
        min: 0,
        integer: false,
      }) ??
      2,
  );
  const backoffJitter =
    checkNumberOption('backoffJitter', options.backoffJitter, 0, false) ??
    parseNumberEnv('MLFLOW_HTTP_REQUEST_BACKOFF_JITTER', env.MLFLOW_HTTP_REQUEST_BACKOFF_JITTER, {
      min: 0,
      integer: false,
    }) ??
    1;

  const debug = options.debug ?? parseBooleanEnv('MLFLOW_KIT_DEBUG', env.MLFLOW_KIT_DEBUG) ?? false;

  const resolved: ResolvedSettings = {
    enabled,
    enabledSource,
    trackingUri,
    trackingUriSource,
    storeKind,
    insecureTls,
    requestTimeoutMs: timeoutSeconds * 1000,
    maxRetries,
    backoffFactorMs: backoffFactor * 1000,
    backoffJitterMs: backoffJitter * 1000,
    headers: { ...options.headers },
    debug,
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
