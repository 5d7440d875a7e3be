import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { syncLocalRuns } from '@mlflow-kit/cli';
import { closeStores, startRun } from '@mlflow-kit/core';
import { venvPython } from '../test/setup/mlflow-env.js';

const RUNS = 4;
const POINTS = 10_000;

/**
 * `mlflow-kit sync` throughput against the same server as a baseline from the same run: MLflow's own
 * Python client writing the same number of points with `log_batch` in batches of 1000, as fast as it can.
 */
export async function benchSyncThroughput(opts: { trackingUri: string }): Promise<Record<string, number>> {
  const dir = mkdtempSync(join(tmpdir(), 'mlflow-kit-bench-sync-'));
  const mlruns = join(dir, 'mlruns');
  try {
    for (let r = 0; r < RUNS; r++) {
      const run = await startRun({
        enabled: true,
        trackingUri: mlruns,
        experimentName: 'bench-sync',
        flushIntervalMs: 60_000,
      });
      for (let step = 0; step < POINTS; step++)
        run.logMetric('loss', 1 / (step + 1), { step, timestamp: 1_700_000_000_000 + step });
      await run.end();
    }
    // A fresh server answers its first few dozen batches about twice as slowly (measured: 11.6 s, then
    // 5.4 s for the same 40 batches), so both contenders are timed against a warmed-up server.
    const warmUp = await startRun({
      enabled: true,
      trackingUri: opts.trackingUri,
      experimentName: 'bench-sync-warm-up',
    });
    for (let step = 0; step < 40_000; step++) warmUp.logMetric('warm_up', step, { step });
    await warmUp.end();
    await closeStores();

    const started = performance.now();
    const summary = await syncLocalRuns({ from: mlruns, to: opts.trackingUri });
    const syncSeconds = (performance.now() - started) / 1000;
    const again = performance.now();
    const resync = await syncLocalRuns({ from: mlruns, to: opts.trackingUri });
    const resyncSeconds = (performance.now() - again) / 1000;

    const pythonSeconds = Number(
      execFileSync(
        venvPython(),
        [
          '-c',
          `
import time
from mlflow import MlflowClient
from mlflow.entities import Metric
c = MlflowClient()
e = c.create_experiment("bench-python-%d" % int(time.time() * 1000))
start = time.perf_counter()
for r in range(${RUNS}):
    run = c.create_run(e)
    points = [Metric("loss", 1 / (s + 1), 1700000000000 + s, s) for s in range(${POINTS})]
    for i in range(0, len(points), 1000):
        c.log_batch(run.info.run_id, metrics=points[i:i + 1000])
    c.set_terminated(run.info.run_id)
print(time.perf_counter() - start)
`,
        ],
        {
          env: {
            ...process.env,
            MLFLOW_TRACKING_URI: opts.trackingUri,
            MLFLOW_DISABLE_TELEMETRY: 'true',
            // set_terminated prints the run's UI link to stdout; the timing is the last line either way.
            MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT: 'true',
          },
          encoding: 'utf8',
        },
      )
        .trim()
        .split('\n')
        .pop(),
    );
    const total = RUNS * POINTS;
    return {
      'points synced': summary.pointsUploaded,
      'points uploaded by a second sync': resync.pointsUploaded,
      'sync points/s': total / syncSeconds,
      'Python MlflowClient.log_batch points/s (baseline)': total / pythonSeconds,
      'sync / Python client throughput ratio': pythonSeconds / syncSeconds,
      're-sync with nothing new, seconds': resyncSeconds,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
