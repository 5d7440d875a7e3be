import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { closedPortUri, createFaultProxy, type FaultProxy, sendJson } from './fault-proxy.js';

// The upstream is itself a standalone fake, so that forwarding is checked without an MLflow server.
let upstream: FaultProxy;
let proxy: FaultProxy;

beforeAll(async () => {
  upstream = await createFaultProxy();
  proxy = await createFaultProxy({ target: upstream.uri });
});

afterAll(async () => {
  await proxy.stop();
  await upstream.stop();
});

afterEach(async () => {
  proxy.reset();
  upstream.reset();
  await proxy.start();
});

function post(path: string, body = '{"a":1}'): Promise<Response> {
  return fetch(`${proxy.uri}${path}`, {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/json' },
  });
}

describe('FaultProxy', () => {
  it('forwards a request and its answer unchanged when no fault applies', async () => {
    upstream.handler = (request, response) => sendJson(response, 201, { echoed: request.body.toString() });
    const response = await post('/api/2.0/mlflow/runs/log-batch?x=1');
    expect(response.status).toBe(201);
    expect(await response.json()).toEqual({ echoed: '{"a":1}' });
    expect(upstream.received.map((request) => [request.method, request.url])).toEqual([
      ['POST', '/api/2.0/mlflow/runs/log-batch?x=1'],
    ]);
    expect(proxy.received).toHaveLength(1);
  });

  it('answers a burst of 429 with Retry-After for the matching path only, then forwards again', async () => {
    const burst = proxy.inject(
      { kind: 'status', status: 429, retryAfterSeconds: 3, body: { error_code: 'REQUEST_LIMIT_EXCEEDED' } },
      { path: '/runs/log-batch', times: 2 },
    );
    const other = await post('/api/2.0/mlflow/runs/create');
    const first = await post('/api/2.0/mlflow/runs/log-batch');
    const second = await post('/api/2.0/mlflow/runs/log-batch');
    const third = await post('/api/2.0/mlflow/runs/log-batch');
    expect([other.status, first.status, second.status, third.status]).toEqual([200, 429, 429, 200]);
    expect(first.headers.get('retry-after')).toBe('3');
    expect(await first.json()).toEqual({ error_code: 'REQUEST_LIMIT_EXCEEDED' });
    expect(burst.hits).toBe(2);
    expect(upstream.received.map((request) => request.url)).toEqual([
      '/api/2.0/mlflow/runs/create',
      '/api/2.0/mlflow/runs/log-batch',
    ]);
  });

  it('answers 503 until the fault is removed', async () => {
    const outage = proxy.inject({ kind: 'status', status: 503 });
    expect((await post('/a')).status).toBe(503);
    expect((await post('/b')).status).toBe(503);
    outage.remove();
    expect((await post('/c')).status).toBe(200);
    expect(outage.hits).toBe(2);
  });

  it('faults one in `every` selected requests and forwards the others', async () => {
    const half = proxy.inject({ kind: 'status', status: 503 }, { path: '/runs/log-batch', every: 2 });
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await post('/api/2.0/mlflow/runs/log-batch')).status);
    expect(statuses).toEqual([200, 503, 200, 503, 200, 503]);
    expect(half.hits).toBe(3);
    expect(() => proxy.inject({ kind: 'reset-before' }, { every: 0 })).toThrow(RangeError);
  });

  it('adds latency before forwarding', async () => {
    proxy.inject({ kind: 'delay', ms: 150 }, { times: 1 });
    const started = performance.now();
    expect((await post('/slow')).status).toBe(200);
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
    expect(upstream.received).toHaveLength(1);
  });

  it('drops the connection before forwarding: the server never sees the request', async () => {
    proxy.inject({ kind: 'reset-before' }, { times: 1 });
    await expect(post('/lost')).rejects.toThrow();
    expect(upstream.received).toHaveLength(0);
  });

  it('drops the connection after forwarding: the server applied the request, the client never hears', async () => {
    proxy.inject({ kind: 'reset-after' }, { times: 1 });
    await expect(post('/applied')).rejects.toThrow();
    expect(upstream.received.map((request) => request.url)).toEqual(['/applied']);
  });

  it('refuses connections while stopped, and accepts them on the same URI once started again', async () => {
    const uri = proxy.uri;
    await proxy.stop();
    await expect(fetch(`${uri}/down`)).rejects.toThrow();
    await proxy.start();
    expect(proxy.uri).toBe(uri);
    expect((await fetch(`${uri}/up`)).status).toBe(200);
  });

  it('is a standalone fake without a target: the handler answers, counting attempts', async () => {
    const fake = await createFaultProxy();
    try {
      fake.handler = (_request, response, attempt) =>
        sendJson(response, attempt === 1 ? 503 : 200, { attempt });
      expect((await fetch(`${fake.uri}/x`)).status).toBe(503);
      expect(await (await fetch(`${fake.uri}/x`)).json()).toEqual({ attempt: 2 });
      expect(() => fake.inject({ kind: 'reset-after' })).toThrow(/needs a target/);
    } finally {
      await fake.stop();
    }
  });

  it('gives a URI where connections are refused', async () => {
    await expect(fetch(`${await closedPortUri()}/x`)).rejects.toThrow();
  });
});
