import type { ResolvedSettings } from '../settings.js';
import {
  type HttpClientOptions,
  type HttpResponse,
  RetryingHttpClient,
  type TransportRequest,
} from './http-core.js';

// Headers a page may not set: the browser sends its own (and refusing them silently is the spec's rule).
const BROWSER_HEADERS = new Set(['user-agent', 'content-length']);

async function collect(stream: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let size = 0;
  for await (const part of stream) {
    parts.push(part);
    size += part.byteLength;
  }
  const out = new Uint8Array(size);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}

/**
 * The REST transport over the platform's `fetch` (a web page, a worker, Deno, Node ≥ 18): keep-alive
 * connections as the platform pools them, a per-request timeout through `AbortSignal.timeout`, and the same
 * retry, auth and redaction policy as the Node client ({@link RetryingHttpClient}). CORS is the server's to
 * allow: MLflow answers it for localhost origins, and `mlflow server --cors-allowed-origins` for others.
 */
export class FetchHttpClient extends RetryingHttpClient {
  readonly #fetch: typeof fetch;

  /**
   * @param settings - resolved settings; `trackingUri` must be http(s).
   * @param options - test hooks, and the `fetch` to use (the global one by default).
   */
  constructor(settings: ResolvedSettings, options: HttpClientOptions & { fetch?: typeof fetch } = {}) {
    super(settings, options);
    this.#fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  }

  protected override async transport(req: TransportRequest): Promise<HttpResponse> {
    const headers: Record<string, string> = {};
    for (const [key, value] of Object.entries(req.headers))
      if (!BROWSER_HEADERS.has(key)) headers[key] = value;
    let body: string | Uint8Array | null;
    if (req.body === null || typeof req.body === 'string' || req.body instanceof Uint8Array) body = req.body;
    else body = await collect(req.body);
    const timeoutMs = this.settings.requestTimeoutMs;
    let response: Response;
    try {
      response = await this.#fetch(req.url, {
        method: req.method,
        headers,
        body: body as NonNullable<RequestInit['body']> | null,
        credentials: 'omit',
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      throw transportError(error);
    }
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await response.arrayBuffer());
    } catch (error) {
      throw transportError(error);
    }
    const out: Record<string, string> = {};
    response.headers.forEach((value, key) => {
      out[key] = value;
    });
    return { status: response.status, headers: out, body: bytes };
  }

  /** Nothing to close: the platform owns the connections. */
  override async close(): Promise<void> {}
}

// `AbortSignal.timeout` rejects with a `TimeoutError` DOMException; the shared policy knows timeouts by code.
// Node's fetch wraps the socket error (ECONNREFUSED...) in a bare "fetch failed": the cause says more. A
// browser says only "Failed to fetch" (a refused connection and a CORS refusal look the same to a page).
function transportError(error: unknown): unknown {
  const cause = error instanceof Error ? (error.cause as { code?: unknown } | undefined) : undefined;
  if (cause instanceof Error && typeof cause.code === 'string') return cause;
  if (error instanceof Error && error.name === 'TimeoutError') {
    const timeout = new Error(error.message) as Error & { code: string };
    timeout.name = 'TimeoutError';
    timeout.code = 'FETCH_TIMEOUT';
    return timeout;
  }
  return error;
}
