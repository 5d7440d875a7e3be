// Load generator of the serving benchmark, run as its own process so that it does not share the server's event
// loop: `tsx bench/serve-load.ts <url> <concurrency> <seconds>` keeps <concurrency> requests in flight against
// POST <url>/invocations for <seconds> (after a short warm-up) and prints {requests, errors, rps, p50, p99}.
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';

const [url = '', concurrencyText = '1', secondsText = '3'] = process.argv.slice(2);
const concurrency = Number(concurrencyText);
const seconds = Number(secondsText);
const body = JSON.stringify({ inputs: [[5.1, 3.5, 1.4, 0.2]] });
const pool = new Pool(url, { connections: concurrency, pipelining: 1 });

async function worker(
  until: number,
  latencies: number[] | undefined,
  errors: { count: number },
): Promise<void> {
  while (performance.now() < until) {
    const started = performance.now();
    const response = await pool.request({
      path: '/invocations',
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    const text = await response.body.text();
    if (response.statusCode !== 200 || !text.startsWith('{"predictions":')) errors.count++;
    latencies?.push(performance.now() - started);
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? Number.NaN;
}

const errors = { count: 0 };
const warmUp = performance.now() + 500;
await Promise.all(Array.from({ length: concurrency }, () => worker(warmUp, undefined, errors)));
errors.count = 0;
const latencies: number[] = [];
const start = performance.now();
await Promise.all(
  Array.from({ length: concurrency }, () => worker(start + seconds * 1000, latencies, errors)),
);
const elapsed = (performance.now() - start) / 1000;
await pool.close();
latencies.sort((a, b) => a - b);
process.stdout.write(
  `${JSON.stringify({
    requests: latencies.length,
    errors: errors.count,
    rps: latencies.length / elapsed,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
  })}\n`,
);
