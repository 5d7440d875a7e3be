import { createServer, request, type Server } from 'node:http';

/** An HTTP proxy in front of the real server that answers as a server before MLflow 3 does. */
export interface Mlflow2Proxy {
  /** `http://127.0.0.1:<port>`. */
  readonly uri: string;
  /** How many requests were refused with 404. */
  readonly refused: number;
  close(): Promise<void>;
}

/**
 * Starts a proxy to `target` (`http://host:port`) that answers every logged-model route with Flask's 404 page,
 * as an MLflow 2 server (which has no such routes) does, and passes everything else through.
 */
export async function startMlflow2Proxy(target: string): Promise<Mlflow2Proxy> {
  const upstream = new URL(target);
  let refused = 0;
  const server: Server = createServer((incoming, outgoing) => {
    if ((incoming.url ?? '').includes('/logged-models') || (incoming.url ?? '').includes('/runs/outputs')) {
      refused++;
      outgoing.writeHead(404, { 'content-type': 'text/html; charset=utf-8' });
      outgoing.end('<!doctype html><title>404 Not Found</title><h1>Not Found</h1>');
      return;
    }
    const forward = request(
      {
        hostname: upstream.hostname,
        port: upstream.port,
        path: incoming.url,
        method: incoming.method,
        headers: { ...incoming.headers, host: upstream.host },
      },
      (answer) => {
        outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(outgoing);
      },
    );
    forward.on('error', () => outgoing.destroy());
    incoming.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    uri: `http://127.0.0.1:${port}`,
    get refused() {
      return refused;
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
