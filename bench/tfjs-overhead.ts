// Overhead of @mlflow-kit/tfjs on model.fit: the same fit with no callback, with tracking off, with
// per-epoch logging and with per-batch logging against a real MLflow server, as ratios from one run, on
// tfjs-node (native TensorFlow, where batches are short and the overhead shows most) and on wasm.
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { closeStores, type Run, startRun } from '@mlflow-kit/core';
import { loadTfjsNode } from '@mlflow-kit/test-support/tfjs-node';
import { logModel, mlflowCallback } from '@mlflow-kit/tfjs';

type Variant = 'none' | 'off' | 'epoch' | 'batch';
const VARIANTS: Variant[] = ['none', 'off', 'epoch', 'batch'];

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

function model(): tf.Sequential {
  const net = tf.sequential({
    layers: [
      tf.layers.dense({ units: 128, activation: 'relu', inputShape: [32] }),
      tf.layers.dense({ units: 128, activation: 'relu' }),
      tf.layers.dense({ units: 10, activation: 'softmax' }),
    ],
  });
  net.compile({ optimizer: tf.train.adam(0.001), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  return net;
}

/**
 * Runs {@link benchOneBackend} on tfjs-node (when its addon is built: `pnpm setup:tfjs-node`) and on wasm;
 * the figures of each are prefixed with the backend name.
 */
export async function benchTfjsOverhead(opts: { trackingUri: string }): Promise<Record<string, number>> {
  // Loading tfjs-node registers its `tensorflow` backend.
  const missing = loadTfjsNode().problem;
  if (missing) process.stderr.write(`tfjs-node is not available (${missing}): wasm only\n`);
  const results: Record<string, number> = {};
  for (const backend of missing ? ['wasm'] : ['tensorflow', 'wasm']) {
    process.stderr.write(`  tfjs on ${backend}...\n`);
    for (const [key, value] of Object.entries(await benchOneBackend(backend, opts))) {
      results[`${backend} ${key}`] = value;
    }
  }
  await closeStores();
  return results;
}

/**
 * Times `model.fit` per variant. Variants are interleaved (in a rotating order) and repeated, and medians
 * are compared, so drift on a shared 2-core machine affects every variant alike. The model itself is not
 * logged (`logModel: false`): its one-time upload is measured separately as `log_model_ms`.
 */
async function benchOneBackend(
  backend: string,
  opts: { trackingUri: string },
): Promise<Record<string, number>> {
  await tf.setBackend(backend);
  await tf.ready();
  const samples = 2048;
  const batchSize = 32;
  const epochs = 5;
  // 21 interleaved rounds: with 7, run-to-run noise on a 2-core machine was about ±2 %, as large as the effect.
  const rounds = Number(process.env.MLFLOW_KIT_BENCH_ROUNDS ?? 21);
  const xs = tf.randomNormal([samples, 32], 0, 1, 'float32', 7);
  const ys = tf.oneHot(tf.randomUniform([samples], 0, 10, 'int32', 7), 10);
  const net = model();
  const experimentName = `bench-tfjs-${backend}-${Date.now()}`;
  const wall: Record<Variant, number[]> = { none: [], off: [], epoch: [], batch: [] };
  const cpu: Record<Variant, number[]> = { none: [], off: [], epoch: [], batch: [] };

  const fitOnce = async (variant: Variant): Promise<{ wall: number; cpu: number }> => {
    let run: Run | undefined;
    if (variant === 'epoch' || variant === 'batch') {
      run = await startRun({
        enabled: true,
        trackingUri: opts.trackingUri,
        experimentName,
        runName: variant,
      });
    }
    const callbacks =
      variant === 'none'
        ? undefined
        : variant === 'off'
          ? mlflowCallback({ tf, enabled: false })
          : mlflowCallback({ tf, ...(run ? { run } : {}), logModel: false, logEvery: variant });
    const cpuStart = process.cpuUsage();
    const start = performance.now();
    await net.fit(xs, ys, {
      epochs,
      batchSize,
      shuffle: false,
      verbose: 0,
      ...(callbacks ? { callbacks } : {}),
    });
    const elapsed = performance.now() - start;
    const used = process.cpuUsage(cpuStart);
    await run?.end();
    return { wall: elapsed, cpu: (used.user + used.system) / 1000 };
  };

  for (const variant of VARIANTS) await fitOnce(variant); // warm-up: kernels, connections
  for (let round = 0; round < rounds; round++) {
    for (let offset = 0; offset < VARIANTS.length; offset++) {
      const variant = VARIANTS[(round + offset) % VARIANTS.length]!;
      const measured = await fitOnce(variant);
      wall[variant].push(measured.wall);
      cpu[variant].push(measured.cpu);
    }
  }

  const logRun = await startRun({
    enabled: true,
    trackingUri: opts.trackingUri,
    experimentName,
    runName: 'log-model',
  });
  const logStart = performance.now();
  await logModel(logRun, net, 'model', { tf });
  const logModelMs = performance.now() - logStart;
  await logRun.end();
  xs.dispose();
  ys.dispose();
  net.dispose();

  const ratio = (times: Record<Variant, number[]>, variant: Variant): number =>
    median(times[variant]) / median(times.none);
  const batches = Math.ceil(samples / batchSize) * epochs;
  // What the callback adds to each batch, in µs of wall time (the difference of medians, spread over batches).
  const addedPerBatch = (variant: Variant): number =>
    ((median(wall[variant]) - median(wall.none)) * 1000) / batches;
  return {
    batches_per_fit: batches,
    batch_us_none: (median(wall.none) * 1000) / batches,
    rounds,
    fit_none_ms: median(wall.none),
    fit_off_ms: median(wall.off),
    fit_epoch_ms: median(wall.epoch),
    fit_batch_ms: median(wall.batch),
    off_vs_none: ratio(wall, 'off'),
    epoch_vs_none: ratio(wall, 'epoch'),
    batch_vs_none: ratio(wall, 'batch'),
    // CPU time of this process: far less sensitive than wall time to other work on a shared machine.
    cpu_off_vs_none: ratio(cpu, 'off'),
    cpu_epoch_vs_none: ratio(cpu, 'epoch'),
    cpu_batch_vs_none: ratio(cpu, 'batch'),
    added_us_per_batch_off: addedPerBatch('off'),
    added_us_per_batch_epoch: addedPerBatch('epoch'),
    added_us_per_batch_batch: addedPerBatch('batch'),
    log_model_ms: logModelMs,
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { startMlflowServer } = await import('../test/setup/mlflow-env.js');
  const server = process.env.MLFLOW_BENCH_TRACKING_URI ? undefined : await startMlflowServer();
  try {
    const results = await benchTfjsOverhead({
      trackingUri: process.env.MLFLOW_BENCH_TRACKING_URI ?? server!.uri,
    });
    console.table(results);
  } finally {
    await server?.stop();
  }
}
