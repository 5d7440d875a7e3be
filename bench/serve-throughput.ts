// Serving benchmark: the demo's iris classifier, logged to the server and served by `mlflow-kit serve` in its own
// process, loaded from a second process on 127.0.0.1 (bench/serve-load.ts) at concurrency 1, 8, 32 and 128 —
// with micro-batching on (the default) and off (--max-batch-size 1). Figures: requests/s, p50 and p99 latency
// in ms, and the on/off ratio of requests/s at each concurrency.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { closeStores, createClient, startRun } from '@mlflow-kit/core';
import { REPO_ROOT, TSX_ARGS } from '@mlflow-kit/test-support/tsx';
import { logModel } from '@mlflow-kit/tfjs';
import * as tf from '@tensorflow/tfjs';

/** The CLI's source entry, found by package name. */
const CLI_SOURCE = join(
  dirname(createRequire(import.meta.url).resolve('@mlflow-kit/cli/package.json')),
  'src/bin.ts',
);

const here = dirname(fileURLToPath(import.meta.url));
const CONCURRENCY = [1, 8, 32, 128];
const SECONDS = Number(process.env.MLFLOW_KIT_BENCH_SERVE_SECONDS ?? 4);

interface Load {
  requests: number;
  errors: number;
  rps: number;
  p50: number;
  p99: number;
}

/** The demo's model (examples/tfjs-autolog): 4 features, 16 relu units, 3 classes. */
function demoModel(): tf.Sequential {
  const model = tf.sequential({
    layers: [
      tf.layers.dense({ units: 16, activation: 'relu', inputShape: [4] }),
      tf.layers.dense({ units: 3, activation: 'softmax' }),
    ],
  });
  model.compile({ optimizer: tf.train.adam(0.05), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  return model;
}

async function startServer(
  modelUri: string,
  trackingUri: string,
  extra: string[],
): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(
    process.execPath,
    [...TSX_ARGS, CLI_SOURCE, 'serve', '--model-uri', modelUri, '--port', '0', ...extra],
    {
      cwd: REPO_ROOT,
      env: { ...process.env, MLFLOW_TRACKING_URI: trackingUri },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  const url = await new Promise<string>((resolve, reject) => {
    let seen = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      const match = seen.match(/at (http:\/\/127\.0\.0\.1:\d+)/);
      if (match?.[1]) resolve(match[1]);
    });
    child.once('exit', (code) => reject(new Error(`mlflow-kit serve exited (${code}):\n${seen}`)));
  });
  return { url, child };
}

async function stopServer(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

async function load(url: string, concurrency: number): Promise<Load> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [...TSX_ARGS, join(here, 'serve-load.ts'), url, String(concurrency), String(SECONDS)],
    { cwd: REPO_ROOT },
  );
  return JSON.parse(stdout) as Load;
}

/** Runs the serving benchmark against the tracking server at `trackingUri`. */
export async function benchServeThroughput(opts: { trackingUri: string }): Promise<Record<string, number>> {
  await tf.ready(); // the wasm backend another benchmark registered, else cpu: only to build and log the model
  const name = `bench-serve-iris-${Date.now()}`;
  const run = await startRun({ trackingUri: opts.trackingUri, enabled: true, experimentName: 'bench-serve' });
  const info = await logModel(run, demoModel(), 'model', { registeredModelName: name, tf });
  await run.end();
  await createClient({ trackingUri: opts.trackingUri }).setRegisteredModelAlias(
    name,
    'champion',
    info?.registeredModelVersion ?? '1',
  );
  await closeStores();
  const modelUri = `models:/${name}@champion`;
  const results: Record<string, number> = {};
  const rps: Record<string, number> = {};
  for (const [mode, extra] of [
    ['batching on', []],
    ['batching off', ['--max-batch-size', '1']],
  ] as const) {
    const server = await startServer(modelUri, opts.trackingUri, [...extra]);
    try {
      for (const concurrency of CONCURRENCY) {
        process.stderr.write(`  serve ${mode}, concurrency ${concurrency}...\n`);
        const figures = await load(server.url, concurrency);
        if (figures.errors > 0)
          throw new Error(`${figures.errors} failed requests (${mode}, c=${concurrency})`);
        rps[`${mode} c=${concurrency}`] = figures.rps;
        results[`${mode} c=${concurrency} req/s`] = figures.rps;
        results[`${mode} c=${concurrency} p50 ms`] = figures.p50;
        results[`${mode} c=${concurrency} p99 ms`] = figures.p99;
      }
    } finally {
      await stopServer(server.child);
    }
  }
  for (const concurrency of CONCURRENCY) {
    results[`req/s on/off c=${concurrency}`] =
      (rps[`batching on c=${concurrency}`] ?? Number.NaN) /
      (rps[`batching off c=${concurrency}`] ?? Number.NaN);
  }
  return results;
}
