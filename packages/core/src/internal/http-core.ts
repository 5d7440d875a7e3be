import packageJson from '../../package.json' with { type: 'json' };
import { diag } from '../diag.js';
import { MlflowApiError } from '../errors.js';
import type { ResolvedSettings } from '../settings.js';

/** Version sent in the `User-Agent` header. Kept in step with `packages/core/package.json` at release. */
export const CLIENT_VERSION: string = packageJson.version;

/** HTTP methods the MLflow REST API uses. */
export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** Query parameters of a GET request: arrays become repeated keys, booleans `true`/`false`. */
export type QueryParams = Record<
  string,
  string | number | boolean | readonly (string | number | boolean)[] | undefined
>;

/** A raw request body, built again for every attempt so that streams can be retried. */
export interface RawBody {
  /** Bytes, or a stream of them (a Node `Readable` in the Node transport). */
  body: Uint8Array | AsyncIterable<Uint8Array>;
  contentType: string;
  contentLength?: number;
}

/** One request to the server. */
export interface HttpRequest {
  method: HttpMethod;
  /** A path under the tracking URI (`/api/2.0/mlflow/...`) or an absolute http(s) URL. */
  path: string;
  query?: QueryParams;
  /** A JSON body, already made JSON-safe (NaN and ±Infinity as strings). */
  json?: unknown;
  /** A raw body factory, called once per attempt. */
  body?: () => RawBody;
}

/** A successful response, read whole. */
export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Uint8Array;
}

/** Options of {@link HttpClient} beyond the settings, for tests. */
export interface HttpClientOptions {
  /** Waits between retries. @defaultValue a `setTimeout` promise */
  sleep?: (ms: number) => Promise<void>;
  /** Source of backoff jitter in [0, 1). @defaultValue `Math.random` */
  random?: () => number;
}

/** Statuses the Python client retries (`_TRANSIENT_FAILURE_RESPONSE_CODES`). */
const RETRY_STATUSES = new Set([408, 429, 500, 502, 503, 504]);
/** Statuses on which urllib3 honours `Retry-After`. */
const RETRY_AFTER_STATUSES = new Set([413, 429, 503]);
const MAX_BACKOFF_MS = 120_000;

/** Python's `HTTP_STATUS_TO_ERROR_CODE`, for bodies that carry no `error_code`. */
const STATUS_TO_ERROR_CODE: Record<number, string> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'ENDPOINT_NOT_FOUND',
  409: 'ALREADY_EXISTS',
  429: 'RESOURCE_EXHAUSTED',
  499: 'CANCELLED',
  500: 'INTERNAL_ERROR',
  501: 'NOT_IMPLEMENTED',
  503: 'TEMPORARILY_UNAVAILABLE',
  504: 'DEADLINE_EXCEEDED',
};

/** The MLflow error code Python derives from an HTTP status when the body has none. */
export function errorCodeForStatus(status: number): string {
  return STATUS_TO_ERROR_CODE[status] ?? 'INTERNAL_ERROR';
}

/**
 * The wait before retry number `retry` (1-based), as urllib3 computes it: nothing before the first
 * retry, then `factor × 2^(retry−1)` plus up to `jitter`, capped at 120 s.
 */
export function backoffDelayMs(
  retry: number,
  factorMs: number,
  jitterMs: number,
  random: () => number = Math.random,
): number {
  if (retry <= 1) return 0;
  const delay = factorMs * 2 ** (retry - 1) + random() * jitterMs;
  return Math.max(0, Math.min(MAX_BACKOFF_MS, delay));
}

/** Parses a `Retry-After` header (seconds or an HTTP date) into milliseconds, if valid. */
export function parseRetryAfterMs(value: string | undefined, now: number = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.min(MAX_BACKOFF_MS, Number(trimmed) * 1000);
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.min(MAX_BACKOFF_MS, Math.max(0, date - now));
}

/** Encodes query parameters the way the MLflow server reads them. */
export function encodeQuery(query: QueryParams | undefined): string {
  if (!query) return '';
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined) continue;
    const values = Array.isArray(value) ? value : [value];
    for (const item of values)
      search.append(key, typeof item === 'boolean' ? (item ? 'true' : 'false') : String(item));
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}

/** The first value of a header that may repeat. */
export function firstHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** What a transport hands to {@link RetryingHttpClient.transport} for one attempt. */
export interface TransportRequest {
  url: URL;
  method: HttpMethod;
  headers: Record<string, string>;
  body: string | Uint8Array | AsyncIterable<Uint8Array> | null;
}

const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function base64(text: string): string {
  let binary = '';
  for (const byte of new TextEncoder().encode(text)) binary += String.fromCharCode(byte);
  return btoa(binary);
}

const decoder = new TextDecoder();

/**
 * MLflow's REST client policy, whatever carries the bytes: auth headers (basic wins over bearer, as in
 * MLflow; credentials only to the tracking server's origin), the Python client's retry policy (network
 * errors, 408, 429 and 5xx, urllib3's backoff and `Retry-After`), and errors whose message, `cause` and diag
 * lines never contain a credential. Subclasses supply one attempt: undici in Node (`HttpClient`), `fetch` in
 * a page (`FetchHttpClient`).
 */
export abstract class RetryingHttpClient {
  readonly #settings: ResolvedSettings;
  readonly #base: URL;
  readonly #headers: Record<string, string>;
  readonly #secrets = new Set<string>();
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #random: () => number;

  /**
   * @param settings - resolved settings; `trackingUri` must be http(s).
   * @param options - test hooks.
   */
  constructor(settings: ResolvedSettings, options: HttpClientOptions = {}) {
    this.#settings = settings;
    this.#base = new URL(settings.trackingUri);
    this.#sleep = options.sleep ?? defaultSleep;
    this.#random = options.random ?? Math.random;

    const headers: Record<string, string> = {
      'user-agent': `mlflow-kit/${CLIENT_VERSION}`,
      ...Object.fromEntries(
        Object.entries(settings.headers).map(([key, value]) => [key.toLowerCase(), value]),
      ),
    };
    if (settings.username && settings.password) {
      const encoded = base64(`${settings.username}:${settings.password}`);
      headers.authorization = `Basic ${encoded}`;
      this.#secrets.add(encoded);
    } else if (settings.token) {
      headers.authorization = `Bearer ${settings.token}`;
    }
    if (settings.password) this.#secrets.add(settings.password);
    if (settings.token) this.#secrets.add(settings.token);
    for (const [key, value] of Object.entries(settings.headers)) {
      // Custom auth headers are secrets too.
      if (/auth|token|key|secret|cookie/i.test(key) && value.length >= 4) this.#secrets.add(value);
    }
    this.#headers = headers;
  }

  /** Sends a JSON request (query string for GET, JSON body otherwise) and parses the JSON answer. */
  async json<T>(method: HttpMethod, path: string, payload?: Record<string, unknown>): Promise<T> {
    const req: HttpRequest =
      method === 'GET'
        ? { method, path, ...(payload ? { query: payload as QueryParams } : {}) }
        : { method, path, json: payload ?? {} };
    const response = await this.send(req);
    const text = decoder.decode(response.body).trim();
    if (text === '') return {} as T;
    try {
      return JSON.parse(text) as T;
    } catch (cause) {
      throw new MlflowApiError({
        endpoint: this.#endpoint(method, path),
        status: response.status,
        errorCode: 'INTERNAL_ERROR',
        serverMessage: `the response body is not JSON: ${this.#redact(text.slice(0, 200))}`,
        retryable: false,
        cause: this.#safeCause(cause),
      });
    }
  }

  /** Sends a request with MLflow's retry policy and returns the successful response, read whole. */
  async send(req: HttpRequest): Promise<HttpResponse> {
    const url = this.#url(req);
    const endpoint = this.#endpoint(req.method, req.path);
    const sameOrigin = url.origin === this.#base.origin;
    const maxRetries = this.#settings.maxRetries;
    for (let attempt = 0; ; attempt++) {
      const started = Date.now();
      let failure: MlflowApiError;
      let waitMs: number | undefined;
      try {
        const headers: Record<string, string> = { ...this.#headers };
        // Credentials go only to the tracking server's origin, never to another artifact host.
        if (!sameOrigin) delete headers.authorization;
        let body: TransportRequest['body'] = null;
        if (req.body) {
          const raw = req.body();
          headers['content-type'] = raw.contentType;
          if (raw.contentLength !== undefined) headers['content-length'] = String(raw.contentLength);
          body = raw.body;
        } else if (req.json !== undefined) {
          headers['content-type'] = 'application/json';
          body = JSON.stringify(req.json);
        }
        const response = await this.transport({ url, method: req.method, headers, body });
        diag.debug(`${endpoint}: ${response.status} in ${Date.now() - started} ms`);
        if (response.status >= 200 && response.status < 300) return response;
        failure = this.#httpError(endpoint, response.status, response.body);
        if (RETRY_AFTER_STATUSES.has(response.status)) {
          waitMs = parseRetryAfterMs(firstHeader(response.headers['retry-after']));
        }
      } catch (error) {
        failure = this.#networkError(endpoint, error);
      }
      if (!failure.retryable || attempt >= maxRetries) throw failure;
      const delay =
        waitMs ??
        backoffDelayMs(
          attempt + 1,
          this.#settings.backoffFactorMs,
          this.#settings.backoffJitterMs,
          this.#random,
        );
      diag.debug(`${failure.message}; retry ${attempt + 1}/${maxRetries} in ${Math.round(delay)} ms`);
      if (delay > 0) await this.#sleep(delay);
    }
  }

  /**
   * One attempt: sends the request and reads the whole answer, whatever its status. Throws on transport
   * failure; an error whose `code` contains `TIMEOUT` is reported as no answer in time.
   */
  protected abstract transport(request: TransportRequest): Promise<HttpResponse>;

  /** Closes the connections. */
  abstract close(): Promise<void>;

  /** The resolved settings this client was made with. */
  protected get settings(): ResolvedSettings {
    return this.#settings;
  }

  #redact(text: string): string {
    let out = text;
    for (const secret of this.#secrets) if (secret) out = out.split(secret).join('***');
    return out;
  }

  #url(req: HttpRequest): URL {
    const query = encodeQuery(req.query);
    if (/^https?:\/\//i.test(req.path)) return new URL(`${req.path}${query}`);
    return new URL(`${this.#settings.trackingUri.replace(/\/+$/, '')}${req.path}${query}`);
  }

  #endpoint(method: HttpMethod, path: string): string {
    const bare = /^https?:\/\//i.test(path) ? new URL(path).pathname : (path.split('?')[0] ?? path);
    return `[${method}] ${this.#redact(bare)}`;
  }

  #httpError(endpoint: string, status: number, bytes: Uint8Array): MlflowApiError {
    const text = decoder.decode(bytes).trim();
    let errorCode: string | undefined;
    let message: string | undefined;
    if (text.startsWith('{')) {
      try {
        const parsed = JSON.parse(text) as { error_code?: unknown; message?: unknown };
        if (typeof parsed.error_code === 'string') errorCode = parsed.error_code;
        if (typeof parsed.message === 'string') message = parsed.message;
      } catch {
        // Not JSON after all: treated as plain text below.
      }
    }
    if (message === undefined) {
      // Plain-text and HTML bodies (auth failures, proxies) are shown briefly and without markup.
      const plain = text
        .replace(/<(script|style)[^>]*>[\s\S]*?<\/\1>/gi, ' ')
        .replace(/<[^>]+>/g, ' ')
        .replace(/\s+/g, ' ')
        .trim();
      message = plain
        ? plain.length > 300
          ? `${plain.slice(0, 300)}…`
          : plain
        : `HTTP ${status} with an empty body`;
    }
    return new MlflowApiError({
      endpoint,
      status,
      errorCode: errorCode ?? errorCodeForStatus(status),
      serverMessage: this.#redact(message),
      retryable: RETRY_STATUSES.has(status),
    });
  }

  #networkError(endpoint: string, error: unknown): MlflowApiError {
    if (MlflowApiError.isInstance(error)) return error;
    const code =
      typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : undefined;
    const raw = error instanceof Error ? error.message : String(error);
    const timedOut = code !== undefined && /TIMEOUT/i.test(code);
    // A certificate the client does not trust stays untrusted: retrying would only delay the answer.
    const badCertificate =
      code !== undefined && /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER/.test(code);
    let what: string;
    if (timedOut) what = `no answer within ${this.#settings.requestTimeoutMs} ms (${code})`;
    else if (badCertificate) {
      what =
        `the TLS certificate of ${this.#base.origin} is not trusted: ${raw} (${code}). Pass \`serverCertPath\` or set ` +
        'MLFLOW_TRACKING_SERVER_CERT_PATH to the CA bundle that signed it, or (only for testing) set MLFLOW_TRACKING_INSECURE_TLS=true.';
    } else
      what = `could not reach the server at ${this.#base.origin}: ${raw}${code && !raw.includes(code) ? ` (${code})` : ''}`;
    return new MlflowApiError({
      endpoint,
      serverMessage: this.#redact(what),
      retryable: !badCertificate,
      cause: this.#safeCause(error),
    });
  }

  /** A copy of `error` that keeps its name, code and message (redacted) but no request options or headers. */
  #safeCause(error: unknown): Error {
    const source = error instanceof Error ? error : new Error(String(error));
    const copy = new Error(this.#redact(source.message));
    copy.name = source.name;
    const code = (source as { code?: unknown }).code;
    if (typeof code === 'string') (copy as Error & { code?: string }).code = code;
    const inner = (source as { cause?: unknown }).cause;
    if (inner instanceof Error) copy.cause = this.#safeCause(inner);
    copy.stack = this.#redact(source.stack ?? '');
    return copy;
  }
}
