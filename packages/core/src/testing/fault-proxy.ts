import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type ServerOptions as HttpsServerOptions } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';

/** A request as the {@link FaultProxy} received it. */
export interface ReceivedRequest {
  method: string;
  /** Path and query, as sent. */
  url: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
  /** With `tls`: whether the client presented a certificate the server's `ca` trusts. */
  clientAuthorized?: boolean;
}

/**
 * Answers a request the proxy does not forward (awaited when it returns a promise). `attempt` counts
 * requests since the last {@link FaultProxy.reset}, from 1.
 */
export type FaultHandler = (request: ReceivedRequest, response: ServerResponse, attempt: number) => unknown;

/**
 * What the proxy does to a request a fault applies to:
 * - `status`: answers `status` itself (a JSON `body` when given, else a plain-text one) without forwarding;
 *   `retryAfterSeconds` adds a `Retry-After` header (429 and 503 bursts);
 * - `delay`: waits `ms`, then goes on as if there were no fault (latency, stalls, client timeouts);
 * - `reset-before`: drops the connection before forwarding, so the server never sees the request;
 * - `reset-after`: forwards, then drops the connection instead of answering, so the server applied the
 *   request and the client never hears so (needs a target).
 */
export type Fault =
  | { kind: 'status'; status: number; body?: unknown; retryAfterSeconds?: number }
  | { kind: 'delay'; ms: number }
  | { kind: 'reset-before' }
  | { kind: 'reset-after' };

/** Which requests a fault applies to, and how many times. */
export interface FaultScope {
  /** Applies to requests whose path contains this string, or matches this pattern. @defaultValue every request */
  path?: string | RegExp;
  /** Applies to this many requests, then retires. @defaultValue `Infinity` (until removed) */
  times?: number;
  /**
   * Applies to one in this many of the requests it selects (the `every`-th, then the `2 × every`-th, …), and
   * lets the others through: `every: 2` faults half of the requests, deterministically.
   * @defaultValue 1 (every selected request)
   */
  every?: number;
}

/** A fault added by {@link FaultProxy.inject}. */
export interface InjectedFault {
  readonly fault: Fault;
  /** How many requests it has been applied to. */
  readonly hits: number;
  /** Stops applying it. */
  remove(): void;
}

/** Options of {@link createFaultProxy}. */
export interface FaultProxyOptions {
  /**
   * The server requests are forwarded to, for example a real MLflow server. Without it the proxy is a
   * standalone fake: requests no fault answers go to {@link FaultProxy.handler}.
   * @defaultValue none (standalone fake)
   */
  target?: string;
  /**
   * Serves HTTPS with these options (`key`, `cert`, and `ca` with `requestCert` to check client
   * certificates) instead of HTTP.
   * @defaultValue none (HTTP)
   */
  tls?: HttpsServerOptions;
}

interface ActiveFault {
  fault: Fault;
  path: string | RegExp | undefined;
  remaining: number;
  every: number;
  seen: number;
  hits: number;
}

const HOP_BY_HOP = new Set(['host', 'connection', 'keep-alive', 'transfer-encoding', 'content-length']);
const DECODED = new Set([...HOP_BY_HOP, 'content-encoding']);
const answerEmptyJson: FaultHandler = (_request, response) => {
  response.end('{}');
};

/**
 * An HTTP server on 127.0.0.1 that injects the faults a real MLflow server never shows on cue: 5xx and
 * 429 bursts with `Retry-After`, latency, connections dropped before or after the server applied a
 * request, and refused connections for a while ({@link stop}, then {@link start} on the same port).
 * In front of a real server (`target`) it forwards every request no fault takes; without one it is a
 * standalone fake whose {@link handler} each test scripts. Faults only: never a stand-in for the real
 * server's semantics.
 */
export class FaultProxy {
  /** Every request received since the last {@link reset}, faulted or not. */
  readonly received: ReceivedRequest[] = [];
  /**
   * Answers requests no fault takes. Forwards to the target when there is one; otherwise answers `{}`.
   * Set it to script a standalone fake; {@link reset} restores the default.
   */
  handler: FaultHandler;
  readonly #target: string | undefined;
  readonly #tls: HttpsServerOptions | undefined;
  readonly #faults: ActiveFault[] = [];
  readonly #sockets = new Set<Socket>();
  #server: Server | undefined;
  #port = 0;

  constructor(options: FaultProxyOptions = {}) {
    this.#target = options.target?.replace(/\/+$/, '');
    this.#tls = options.tls;
    this.handler = this.#defaultHandler();
  }

  /** `http(s)://127.0.0.1:<port>`: the URI to point the client at. Empty before the first {@link start}. */
  get uri(): string {
    return this.#port === 0 ? '' : `${this.#tls ? 'https' : 'http'}://127.0.0.1:${this.#port}`;
  }

  /** Listens: on a free port the first time, on the same port after a {@link stop}. */
  async start(): Promise<void> {
    if (this.#server) return;
    const serve = (request: IncomingMessage, response: ServerResponse): void => {
      this.#serve(request, response).catch(() => response.destroy());
    };
    const server: Server = this.#tls ? createHttpsServer(this.#tls, serve) : createServer(serve);
    server.on('connection', (socket: Socket) => {
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.#port, '127.0.0.1', () => resolve());
    });
    this.#server = server;
    this.#port = (server.address() as AddressInfo).port;
  }

  /**
   * Stops listening and drops open connections: until the next {@link start}, connections to {@link uri}
   * are refused, as when the server is down.
   */
  async stop(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    this.#server = undefined;
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /**
   * Applies `fault` to the requests `scope` selects, before any fault added later. Returns a handle that
   * counts the requests it was applied to.
   *
   * @example
   * ```ts
   * const burst = proxy.inject({ kind: 'status', status: 429, retryAfterSeconds: 0 }, { path: '/runs/log-batch', times: 3 });
   * await run.flush();
   * expect(burst.hits).toBe(3);
   * ```
   */
  inject(fault: Fault, scope: FaultScope = {}): InjectedFault {
    if (fault.kind === 'reset-after' && this.#target === undefined) {
      throw new Error('A reset-after fault needs a target to forward to: pass `target` to createFaultProxy.');
    }
    const every = scope.every ?? 1;
    if (!Number.isInteger(every) || every < 1)
      throw new RangeError(`every must be a positive integer, not ${every}.`);
    const active: ActiveFault = {
      fault,
      path: scope.path,
      remaining: scope.times ?? Infinity,
      every,
      seen: 0,
      hits: 0,
    };
    this.#faults.push(active);
    const faults = this.#faults;
    return {
      fault,
      get hits() {
        return active.hits;
      },
      remove() {
        const index = faults.indexOf(active);
        if (index >= 0) faults.splice(index, 1);
      },
    };
  }

  /** Forgets received requests, removes every fault and restores the default {@link handler}. */
  reset(): void {
    this.received.length = 0;
    this.#faults.length = 0;
    this.handler = this.#defaultHandler();
  }

  #defaultHandler(): FaultHandler {
    return this.#target === undefined
      ? answerEmptyJson
      : (request, response) => this.#forward(request, response);
  }

  #take(url: string): Fault | undefined {
    const path = url.split('?')[0] ?? url;
    const active = this.#faults.find(
      ({ path: wanted }) =>
        wanted === undefined || (typeof wanted === 'string' ? path.includes(wanted) : wanted.test(path)),
    );
    if (!active) return undefined;
    if (++active.seen % active.every !== 0) return undefined;
    active.hits++;
    if (--active.remaining <= 0) this.#faults.splice(this.#faults.indexOf(active), 1);
    return active.fault;
  }

  async #serve(incoming: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of incoming) chunks.push(chunk as Buffer);
    const request: ReceivedRequest = {
      method: incoming.method ?? 'GET',
      url: incoming.url ?? '/',
      headers: incoming.headers,
      body: Buffer.concat(chunks),
      ...(this.#tls ? { clientAuthorized: (incoming.socket as TLSSocket).authorized } : {}),
    };
    this.received.push(request);
    const attempt = this.received.length;
    const fault = this.#take(request.url);
    switch (fault?.kind) {
      case 'status':
        if (fault.body === undefined) {
          response.writeHead(fault.status, { 'content-type': 'text/plain', ...retryAfter(fault) });
          response.end(`fault injected: ${fault.status}`);
        } else sendJson(response, fault.status, fault.body, retryAfter(fault));
        return;
      case 'reset-before':
        incoming.socket.destroy();
        return;
      case 'reset-after':
        await this.#forward(request, undefined);
        incoming.socket.destroy();
        return;
      case 'delay':
        await new Promise((resolve) => setTimeout(resolve, fault.ms));
        break;
    }
    await this.handler(request, response, attempt);
  }

  /** Sends `request` to the target, and its answer to `response` when there is one. */
  async #forward(request: ReceivedRequest, response: ServerResponse | undefined): Promise<void> {
    const headers = new Headers();
    for (const [name, value] of Object.entries(request.headers)) {
      if (typeof value === 'string' && !HOP_BY_HOP.has(name)) headers.set(name, value);
    }
    const upstream = await fetch(`${this.#target}${request.url}`, {
      method: request.method,
      headers,
      ...(request.body.length > 0 ? { body: request.body } : {}),
    });
    const payload = Buffer.from(await upstream.arrayBuffer());
    if (!response) return;
    const answerHeaders: Record<string, string> = {};
    upstream.headers.forEach((value, name) => {
      if (!DECODED.has(name)) answerHeaders[name] = value;
    });
    response.writeHead(upstream.status, answerHeaders);
    response.end(payload);
  }
}

function retryAfter(fault: { retryAfterSeconds?: number }): Record<string, string> {
  return fault.retryAfterSeconds === undefined ? {} : { 'retry-after': String(fault.retryAfterSeconds) };
}

/**
 * A started {@link FaultProxy}: in front of `options.target`, or a standalone fake without one.
 *
 * @example
 * ```ts
 * import { createFaultProxy } from '@mlflow-kit/core/testing';
 *
 * const proxy = await createFaultProxy({ target: 'http://127.0.0.1:5000' });
 * proxy.inject({ kind: 'status', status: 503 }, { path: '/runs/log-batch', times: 2 });
 * const run = await startRun({ enabled: true, trackingUri: proxy.uri });
 * // ... log, flush, then read back from the real server
 * await proxy.stop();
 * ```
 */
export async function createFaultProxy(options: FaultProxyOptions = {}): Promise<FaultProxy> {
  const proxy = new FaultProxy(options);
  await proxy.start();
  return proxy;
}

/** A URI on 127.0.0.1 where nothing listens (the port of a server just stopped): connections are refused. */
export async function closedPortUri(): Promise<string> {
  const proxy = await createFaultProxy();
  await proxy.stop();
  return proxy.uri;
}

/** Writes a JSON answer, for a {@link FaultHandler}. */
export function sendJson(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  response.writeHead(status, { 'content-type': 'application/json', ...headers });
  response.end(JSON.stringify(body));
}
