import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A request as {@link FakeServer} received it. Test-only. */
export interface ReceivedRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

/** Answers one request; `attempt` counts requests since the last reset, from 1. Test-only. */
export type FakeHandler = (req: ReceivedRequest, res: ServerResponse, attempt: number) => void;

/**
 * A local HTTP server on 127.0.0.1 whose answers each unit test scripts, to inject faults the real
 * MLflow server never shows (5xx, Retry-After, HTML bodies, silence). Test-only; never a stand-in for
 * the real server's semantics.
 */
export class FakeServer {
  readonly received: ReceivedRequest[] = [];
  handler: FakeHandler = (_req, res) => res.end('{}');
  uri = '';
  #server: Server | undefined;

  async start(): Promise<void> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const received = {
          method: req.method ?? '',
          url: req.url ?? '',
          headers: req.headers,
          body: Buffer.concat(chunks),
        };
        this.received.push(received);
        this.handler(received, res, this.received.length);
      });
    });
    this.#server = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.uri = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  reset(): void {
    this.received.length = 0;
    this.handler = (_req, res) => res.end('{}');
  }

  async stop(): Promise<void> {
    this.#server?.closeAllConnections();
    await new Promise<void>((resolve) => this.#server?.close(() => resolve()));
  }
}

/** A URI on 127.0.0.1 where nothing listens: the port of a server just closed. Test-only. */
export async function closedPortUri(): Promise<string> {
  const server = new FakeServer();
  await server.start();
  await server.stop();
  return server.uri;
}

/** Writes a JSON answer. Test-only. */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}
