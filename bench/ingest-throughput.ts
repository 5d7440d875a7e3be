// `pnpm bench ingest`: stored points/s of mlflow-kit against the official Python client's three ways of
// logging and against the raw ceiling (maximum-size log-batch requests sent directly with undici), on a
// SQLite-backed and a PostgreSQL-backed server started for the purpose and used by every contestant alike;
// the latency of one logMetric call; peak memory and drain time of a 1,000,000-point outage.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { startRun } from '@mlflow-kit/core';
import { createFaultProxy } from '@mlflow-kit/core/testing';
import { Pool } from 'undici';
import { type MlflowServer, startMlflowServer, venvPython } from '../test/setup/mlflow-env.js';
import { startPostgres } from '../test/setup/postgres.js';

/** Points per throughput contestant; per-point Python requests are slow, so that one logs fewer. */
const POINTS = 20_000;
const PYTHON_PER_POINT = 500;
const PYTHON_ASYNC = 1_000;
const BATCH = 1000;
const IN_FLIGHT = 4;
const OUTAGE_POINTS = 1_000_000;
const KEYS = 5;

interface Backend {
  name: string;
  server: MlflowServer;
  /** SQLAlchemy URI of the server's backend store, to count stored rows without paging through them. */
  dbUri: string;
}

function runPython<T>(code: string, env: Record<string, string> = {}): Promise<T> {
  return new Promise((resolve, reject) => {
    execFile(
      venvPython(),
      ['-c', code],
      {
        env: { ...process.env, MLFLOW_DISABLE_TELEMETRY: 'true', PYTHONWARNINGS: 'ignore', ...env },
        maxBuffer: 64 * 1024 * 1024,
        timeout: 900_000,
      },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`python failed: ${error.message}\n${stderr}`));
        else resolve(JSON.parse(stdout.trim().split('\n').pop() ?? 'null') as T);
      },
    );
  });
}

/** Metric rows the backend store holds for a run, counted in its database. */
async function storedPoints(backend: Backend, runId: string): Promise<number> {
  return runPython<number>(`
import json, sqlalchemy
engine = sqlalchemy.create_engine(${JSON.stringify(backend.dbUri)})
with engine.connect() as c:
    print(json.dumps(c.execute(sqlalchemy.text("select count(*) from metrics where run_uuid = :r"), {"r": "${runId}"}).scalar()))
`);
}

async function createExperiment(uri: string, name: string): Promise<string> {
  const response = await fetch(`${uri}/api/2.0/mlflow/experiments/create`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name }),
  });
  return ((await response.json()) as { experiment_id: string }).experiment_id;
}

async function createRun(uri: string, experimentId: string): Promise<string> {
  const response = await fetch(`${uri}/api/2.0/mlflow/runs/create`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ experiment_id: experimentId, start_time: Date.now() }),
  });
  return ((await response.json()) as { run: { info: { run_id: string } } }).run.info.run_id;
}

/** mlflow-kit: from the first logMetric call until flush() says the server has everything. */
async function oursThroughput(backend: Backend): Promise<{ runId: string; seconds: number }> {
  const run = await startRun({
    enabled: true,
    trackingUri: backend.server.uri,
    experimentName: `bench-ingest-ours-${Date.now()}`,
    exitTimeoutSeconds: 600,
  });
  const start = performance.now();
  for (let i = 0; i < POINTS; i++) run.logMetric(`m${i % KEYS}`, i, { step: Math.floor(i / KEYS) });
  await run.flush();
  const seconds = (performance.now() - start) / 1000;
  await run.end();
  return { runId: run.runId, seconds };
}

/** The official Python client; the script times only its logging, not the interpreter's start. */
function pythonThroughput(
  backend: Backend,
  mode: 'log_metric' | 'log_batch' | 'async',
): Promise<{ runId: string; seconds: number }> {
  const body = {
    log_metric: `
c = MlflowClient()
run_id = c.create_run(experiment_id).info.run_id
start = time.perf_counter()
for i in range(${PYTHON_PER_POINT}):
    c.log_metric(run_id, f"m{i % ${KEYS}}", i, step=i // ${KEYS})
seconds = time.perf_counter() - start
`,
    log_batch: `
c = MlflowClient()
run_id = c.create_run(experiment_id).info.run_id
start = time.perf_counter()
ts = int(time.time() * 1000)
for b in range(0, ${POINTS}, ${BATCH}):
    c.log_batch(run_id, metrics=[Metric(f"m{i % ${KEYS}}", i, ts, i // ${KEYS}) for i in range(b, b + ${BATCH})])
seconds = time.perf_counter() - start
`,
    async: `
run = mlflow.start_run(experiment_id=experiment_id)
run_id = run.info.run_id
start = time.perf_counter()
for i in range(${PYTHON_ASYNC}):
    mlflow.log_metric(f"m{i % ${KEYS}}", i, step=i // ${KEYS}, synchronous=False)
mlflow.flush_async_logging()
seconds = time.perf_counter() - start
mlflow.end_run()
`,
  }[mode];
  return runPython(
    `
import json, time, mlflow
from mlflow import MlflowClient
from mlflow.entities import Metric
experiment_id = MlflowClient().create_experiment("bench-ingest-py-${mode}-" + str(time.time()))
${body}
print(json.dumps({"runId": run_id, "seconds": seconds}))
`,
    { MLFLOW_TRACKING_URI: backend.server.uri },
  );
}

/** Back-to-back maximum-size log-batch requests, bodies built beforehand, `inFlight` at a time. */
async function ceilingThroughput(
  backend: Backend,
  inFlight: number,
): Promise<{ runId: string; seconds: number }> {
  const uri = backend.server.uri;
  const runId = await createRun(
    uri,
    await createExperiment(uri, `bench-ingest-ceiling-${inFlight}-${Date.now()}`),
  );
  const timestamp = Date.now();
  const bodies: string[] = [];
  for (let b = 0; b < POINTS; b += BATCH) {
    const metrics = [];
    for (let i = b; i < b + BATCH; i++)
      metrics.push({ key: `m${i % KEYS}`, value: i, timestamp, step: Math.floor(i / KEYS) });
    bodies.push(JSON.stringify({ run_id: runId, metrics }));
  }
  const pool = new Pool(uri, { connections: inFlight });
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < bodies.length) {
      const body = bodies[next++]!;
      const response = await pool.request({
        path: '/api/2.0/mlflow/runs/log-batch',
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
      await response.body.text();
      if (response.statusCode !== 200) throw new Error(`log-batch answered ${response.statusCode}`);
    }
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: inFlight }, worker));
  const seconds = (performance.now() - start) / 1000;
  await pool.close();
  return { runId, seconds };
}

function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

/** Per-call latency of logMetric in µs: median, p99, p99.9, each call timed on its own. */
function latencies(samples: Float64Array): { median: number; p99: number; p999: number } {
  const sorted = samples.slice().sort();
  return { median: percentile(sorted, 0.5), p99: percentile(sorted, 0.99), p999: percentile(sorted, 0.999) };
}

function timedCalls(log: (i: number) => void, count: number, onEvery?: () => void): Float64Array {
  const samples = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    const t0 = process.hrtime.bigint();
    log(i);
    samples[i] = Number(process.hrtime.bigint() - t0) / 1000;
    if (onEvery && i % 10_000 === 0) onEvery();
  }
  return samples;
}

/** logMetric latency with the server up: 200,000 calls into a run whose queue the server is draining. */
async function latencyServerUp(backend: Backend): Promise<Record<string, number>> {
  const run = await startRun({
    enabled: true,
    trackingUri: backend.server.uri,
    experimentName: `bench-ingest-latency-${Date.now()}`,
    exitTimeoutSeconds: 600,
  });
  const calls = 200_000;
  const samples = timedCalls((i) => run.logMetric(`m${i % KEYS}`, i, { step: Math.floor(i / KEYS) }), calls);
  await run.end();
  const l = latencies(samples);
  return {
    'logMetric µs, server up: median': l.median,
    'logMetric µs, server up: p99': l.p99,
    'logMetric µs, server up: p99.9': l.p999,
  };
}

/**
 * The million-point outage: the run starts through a fault proxy, the proxy stops (connections refused),
 * 1,000,000 points are logged (each call timed), the proxy starts again; drain time runs from then until the
 * backend store holds all the points. RSS is sampled throughout.
 */
async function outage(backend: Backend): Promise<Record<string, number>> {
  const proxy = await createFaultProxy({ target: backend.server.uri });
  const rssBefore = process.memoryUsage.rss();
  let rssPeak = rssBefore;
  const sample = (): void => {
    rssPeak = Math.max(rssPeak, process.memoryUsage.rss());
  };
  const sampler = setInterval(sample, 20);
  try {
    const run = await startRun({
      enabled: true,
      trackingUri: proxy.uri,
      experimentName: `bench-ingest-outage-${Date.now()}`,
      exitTimeoutSeconds: 600,
    });
    await proxy.stop();
    const samples = timedCalls(
      (i) => run.logMetric(`m${i % KEYS}`, i, { step: Math.floor(i / KEYS) }),
      OUTAGE_POINTS,
      sample,
    );
    // Let the failing sends and the spool do their work during the outage, as a real outage would.
    await new Promise((r) => setTimeout(r, 5000));
    await proxy.start();
    const drainStart = performance.now();
    const deadline = drainStart + 900_000;
    let stored = 0;
    void run.flush();
    while (performance.now() < deadline) {
      // The proxy keeps every request it forwards; dropping them keeps its memory out of the RSS figure.
      proxy.received.length = 0;
      stored = await storedPoints(backend, run.runId);
      if (stored >= OUTAGE_POINTS) break;
      await new Promise((r) => setTimeout(r, 1000));
    }
    const drainSeconds = (performance.now() - drainStart) / 1000;
    await run.end();
    const l = latencies(samples);
    return {
      'outage: logMetric µs, median': l.median,
      'outage: logMetric µs, p99': l.p99,
      'outage: logMetric µs, p99.9': l.p999,
      'outage: RSS before, MiB': rssBefore / 1048576,
      'outage: peak RSS, MiB': rssPeak / 1048576,
      'outage: RSS growth, MiB': (rssPeak - rssBefore) / 1048576,
      'outage: points stored of 1,000,000': stored,
      'outage: drain time after the server returns, s': drainSeconds,
    };
  } finally {
    clearInterval(sampler);
    await proxy.stop();
  }
}

async function throughputRows(backend: Backend): Promise<Record<string, number>> {
  const rows: Record<string, number> = {};
  const contestants: [string, () => Promise<{ runId: string; seconds: number }>][] = [
    ['ceiling, 1 in flight', () => ceilingThroughput(backend, 1)],
    [`ceiling, ${IN_FLIGHT} in flight`, () => ceilingThroughput(backend, IN_FLIGHT)],
    ['mlflow-kit', () => oursThroughput(backend)],
    ['python log_metric per point', () => pythonThroughput(backend, 'log_metric')],
    ['python log_batch', () => pythonThroughput(backend, 'log_batch')],
    ['python async logging', () => pythonThroughput(backend, 'async')],
  ];
  const rate: Record<string, number> = {};
  for (const [name, measure] of contestants) {
    process.stderr.write(`  ${backend.name}: ${name}...\n`);
    const { runId, seconds } = await measure();
    rate[name] = (await storedPoints(backend, runId)) / seconds;
    rows[`${backend.name}: stored points/s, ${name}`] = rate[name];
    process.stderr.write(`    ${rate[name].toFixed(0)} points/s\n`);
  }
  const ours = rate['mlflow-kit']!;
  const bestCeiling = Math.max(rate['ceiling, 1 in flight']!, rate[`ceiling, ${IN_FLIGHT} in flight`]!);
  const bestPython = Math.max(
    rate['python log_metric per point']!,
    rate['python log_batch']!,
    rate['python async logging']!,
  );
  rows[`${backend.name}: ratio mlflow-kit / best ceiling (target >= 0.9)`] = ours / bestCeiling;
  rows[`${backend.name}: ratio mlflow-kit / best Python mode (target >= 1)`] = ours / bestPython;
  return rows;
}

/**
 * Runs the ingest benchmark on its own two servers (SQLite and PostgreSQL backends); the tracking URI
 * `pnpm bench` passes is not used, so every contestant meets the same fresh, identically started server.
 * `BENCH_INGEST_PARTS` (comma-separated: sqlite, latency, outage, postgres) runs only those parts.
 */
export async function benchIngest(_opts: { trackingUri: string }): Promise<Record<string, number>> {
  const results: Record<string, number> = {};
  // BENCH_INGEST_PARTS=sqlite,latency,outage,postgres (the default: all) runs some of it.
  const parts = new Set(
    (process.env.BENCH_INGEST_PARTS ?? 'sqlite,latency,outage,postgres').split(',').map((p) => p.trim()),
  );
  const sqlite = await startMlflowServer();
  const backends: Backend[] = [
    { name: 'SQLite', server: sqlite, dbUri: `sqlite:///${join(sqlite.dir, 'mlflow.db')}` },
  ];
  const postgres = await startPostgres();
  try {
    const pgServer = await startMlflowServer({ backendStoreUri: postgres.uri });
    backends.push({ name: 'PostgreSQL', server: pgServer, dbUri: postgres.uri });
    if (parts.has('sqlite')) Object.assign(results, await throughputRows(backends[0]!));
    if (parts.has('latency')) {
      process.stderr.write('  latency...\n');
      Object.assign(results, await latencyServerUp(backends[0]!));
    }
    if (parts.has('outage')) {
      process.stderr.write('  outage of 1,000,000 points...\n');
      Object.assign(results, await outage(backends[0]!));
      process.stderr.write(`${JSON.stringify(results)}\n`);
    }
    if (parts.has('postgres')) Object.assign(results, await throughputRows(backends[1]!));
  } finally {
    for (const backend of backends) await backend.server.stop();
    await postgres.stop();
  }
  return results;
}
