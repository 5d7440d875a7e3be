import { AsyncLocalStorage } from 'node:async_hooks';
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { Agent, buildConnector, request } from 'undici';
import type { ResolvedSettings } from '../settings.js';
import { isBackground, setBackgroundMarker } from './background.js';
import {
  type HttpClientOptions,
  type HttpResponse,
  RetryingHttpClient,
  type TransportRequest,
} from './http-core.js';
import { tlsConnectOptions } from './tls.js';

export {
  backoffDelayMs,
  CLIENT_VERSION,
  encodeQuery,
  errorCodeForStatus,
  type HttpClientOptions,
  type HttpMethod,
  type HttpRequest,
  type HttpResponse,
  parseRetryAfterMs,
  type QueryParams,
  type RawBody,
} from './http-core.js';

const background = new AsyncLocalStorage<true>();
setBackgroundMarker({
  run: (work) => background.run(true, work),
  active: () => background.getStore() === true,
});

const sleepWithTimer = (ms: number): Promise<void> =>
  new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    // A retry wait of background work does not keep the process alive (see `isBackground`).
    if (isBackground()) timer.unref();
  });

/**
 * An undici connector whose sockets never keep the process alive: undici refs a socket while a request is
 * under way, so `ref` is made a no-op. For background work only: a caller awaiting such a request must hold
 * the process open itself (the run queue's bounded waits do, with a timer).
 */
function unrefConnector(options: buildConnector.BuildOptions): buildConnector.connector {
  const connect = buildConnector(options);
  return (connectOptions, callback) =>
    connect(connectOptions, (error, socket) => {
      if (socket) {
        const plain = socket as Socket;
        plain.unref();
        plain.ref = () => plain;
      }
      (callback as (error: Error | null, socket: Socket | null) => void)(error, socket as Socket | null);
    });
}

/**
 * The REST transport in Node: one keep-alive undici `Agent` per store, TLS from the settings, and the shared
 * retry and auth policy of {@link RetryingHttpClient}.
 */
export class HttpClient extends RetryingHttpClient {
  readonly #agent: Agent;
  /** The pool for background work, whose sockets do not keep the process alive; made on first use. */
  #backgroundAgent: Agent | undefined;
  readonly #connect: buildConnector.BuildOptions;

  /**
   * @param settings - resolved settings; `trackingUri` must be http(s).
   * @param options - test hooks.
   */
  constructor(settings: ResolvedSettings, options: HttpClientOptions = {}) {
    super(settings, { sleep: sleepWithTimer, ...options });
    const connect: NonNullable<Agent.Options['connect']> & Record<string, unknown> = {
      timeout: settings.requestTimeoutMs,
      ...tlsConnectOptions(settings),
    };
    this.#connect = connect as buildConnector.BuildOptions;
    this.#agent = new Agent({ connect, keepAliveTimeout: 30_000, connections: 10 });
  }

  protected override async transport(req: TransportRequest): Promise<HttpResponse> {
    const response = await request(req.url, {
      method: req.method,
      headers: req.headers,
      body: req.body as string | Uint8Array | Readable | null,
      dispatcher: isBackground() ? this.#background() : this.#agent,
      headersTimeout: this.settings.requestTimeoutMs,
      bodyTimeout: this.settings.requestTimeoutMs,
    });
    const body = new Uint8Array(await response.body.arrayBuffer());
    return { status: response.statusCode, headers: response.headers, body };
  }

  /** Closes the connection pools. */
  override async close(): Promise<void> {
    await Promise.all([this.#agent.close(), this.#backgroundAgent?.close()]);
  }

  #background(): Agent {
    this.#backgroundAgent ??= new Agent({
      connect: unrefConnector(this.#connect),
      keepAliveTimeout: 30_000,
      connections: 10,
    });
    return this.#backgroundAgent;
  }
}
