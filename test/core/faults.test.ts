import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeStores, startRun } from '../../packages/core/src/index.js';
import { python, trackingUri, uniqueName } from '../helpers/python.js';

type Mode = 'pass' | '503' | '429' | 'reset' | 'slow' | 'lose-response';

// A hand-written fault injector in front of the real server: it forwards requests unless told to fail.
let mode: Mode = 'pass';
let proxy: Server;
let proxyUri = '';
const seen: Record<Mode, number> = { pass: 0, '503': 0, '429': 0, reset: 0, slow: 0, 'lose-response': 0 };

async function forward(request: IncomingMessage, body: Buffer): Promise<Response> {
  const headers = new Headers();
  for (const [key, value] of Object.entries(request.headers)) {
    if (typeof value === 'string' && !['host', 'connection', 'content-length'].includes(key))
      headers.set(key, value);
  }
  return fetch(`${trackingUri()}${request.url}`, {
    method: request.method ?? 'GET',
    headers,
    ...(body.length > 0 ? { body } : {}),
  });
}

async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const body = Buffer.concat(chunks);
  const current = request.url?.includes('/runs/log-batch') ? mode : 'pass';
  seen[current]++;
  if (current === '503') {
    response.writeHead(503, { 'content-type': 'text/plain' }).end('upstream unavailable');
    return;
  }
  if (current === '429') {
    response.writeHead(429, { 'retry-after': '0', 'content-type': 'application/json' });
    response.end(JSON.stringify({ error_code: 'REQUEST_LIMIT_EXCEEDED', message: 'slow down' }));
    return;
  }
  if (current === 'reset') {
    request.socket.destroy();
    return;
  }
  if (current === 'slow') await new Promise((r) => setTimeout(r, 300));
  const upstream = await forward(request, body);
  const payload = Buffer.from(await upstream.arrayBuffer());
  if (current === 'lose-response') {
    // The server has written the batch, but the client never hears so: it must resend without duplicating.
    request.socket.destroy();
    return;
  }
  response.writeHead(upstream.status, {
    'content-type': upstream.headers.get('content-type') ?? 'application/json',
  });
  response.end(payload);
}

beforeAll(async () => {
  proxy = createServer((request, response) => {
    handle(request, response).catch(() => response.destroy());
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  proxyUri = `http://127.0.0.1:${(proxy.address() as { port: number }).port}`;
});

afterAll(async () => {
  await closeStores();
  await new Promise<void>((r) => proxy.close(() => r()));
});

describe('transport faults in front of the real server', () => {
  it('loses no metric point and duplicates none through 503s, 429s, resets, stalls and lost responses', async () => {
    const run = await startRun({
      enabled: true,
      trackingUri: proxyUri,
      experimentName: uniqueName('faults'),
      maxRetries: 2,
      backoffFactor: 0.01,
      backoffJitter: 0,
      flushIntervalMs: 20,
    });
    const modes: Mode[] = ['503', 'pass', '429', 'reset', 'pass', 'slow', 'lose-response', '503', 'pass'];
    let step = 0;
    for (const current of modes) {
      mode = current;
      for (let i = 0; i < 600; i++, step++)
        run.logMetric('loss', step / 10, { step, timestamp: 1_700_000_000_000 + step });
      await run.flush();
      if (current !== 'pass') expect(seen[current]).toBeGreaterThan(0);
    }
    mode = 'pass';
    await run.end();

    const history = await python<[number, number][]>(`
import json
from mlflow import MlflowClient
print(json.dumps([[m.step, m.value] for m in MlflowClient().get_metric_history("${run.runId}", "loss")]))
`);
    expect(history).toHaveLength(step);
    expect(history).toEqual(Array.from({ length: step }, (_, s) => [s, s / 10]));
    const status = await python<string>(
      `import json, mlflow; print(json.dumps(mlflow.get_run("${run.runId}").info.status))`,
    );
    expect(status).toBe('FINISHED');
  });
});
