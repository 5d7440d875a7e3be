// The README demo: train a small iris classifier with TensorFlow.js and let @mlflow-kit/tfjs log it to MLflow.
// Run it with `pnpm demo` from the repository root. Without MLFLOW_TRACKING_URI it writes to ./mlruns.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createClient, withRun } from '@mlflow-kit/core';
import { autolog, loadModel } from '@mlflow-kit/tfjs';
import * as tfjs from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';

const SPECIES = ['setosa', 'versicolor', 'virginica'];
const EXPERIMENT = 'tfjs-autolog-demo';
// Tracking is opt-in (off unless `enabled` or MLFLOW_KIT_ENABLED says otherwise). This demo exists to show
// tracking, so it switches it on itself; your own training code would leave that to the environment.
const tracking = { enabled: true } as const;

/** Reads the iris CSV that ships with the example: four measurements and the species per row. */
function readIris(): { features: number[][]; labels: number[] } {
  const file = fileURLToPath(new URL('../data/iris.csv', import.meta.url));
  const [, ...rows] = readFileSync(file, 'utf8').trim().split('\n');
  const features: number[][] = [];
  const labels: number[] = [];
  for (const row of rows) {
    const cells = row.split(',');
    features.push(cells.slice(0, 4).map(Number));
    labels.push(SPECIES.indexOf(cells[4] ?? ''));
  }
  return { features, labels };
}

/** A seeded shuffle, so every run of the demo sees the same train/test split. */
function shuffled<T>(items: T[], seed: number): T[] {
  const out = [...items];
  let state = seed;
  for (let index = out.length - 1; index > 0; index--) {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    const other = state % (index + 1);
    [out[index], out[other]] = [out[other]!, out[index]!];
  }
  return out;
}

/**
 * `@tensorflow/tfjs-node` (native TensorFlow) when it is installed with its addon built (`pnpm setup:tfjs-node`
 * in this repository), else `@tensorflow/tfjs` on the wasm backend.
 */
async function loadTensorFlow(): Promise<typeof tfjs> {
  process.env.TF_CPP_MIN_LOG_LEVEL ??= '2'; // TensorFlow's CPU-feature banner
  try {
    const tfNode = createRequire(import.meta.url)('@tensorflow/tfjs-node') as typeof tfjs;
    await tfNode.setBackend('tensorflow');
    await tfNode.ready();
    return tfNode;
  } catch (error) {
    const reason = (error instanceof Error ? error.message : String(error)).split('\n')[0];
    console.log(`@tensorflow/tfjs-node is not available (${reason}); using @tensorflow/tfjs on wasm.`);
    await tfjs.setBackend('wasm');
    await tfjs.ready();
    return tfjs;
  }
}

const tf = await loadTensorFlow();
console.log(`TensorFlow.js ${tf.version.tfjs} on the "${tf.getBackend()}" backend`);

const { features, labels } = readIris();
const order = shuffled(
  features.map((_, index) => index),
  42,
);
const split = Math.round(order.length * 0.8);
const pick = (indices: number[]) => ({
  xs: tf.tensor2d(indices.map((index) => features[index]!)),
  ys: tf.oneHot(
    tf.tensor1d(
      indices.map((index) => labels[index]!),
      'int32',
    ),
    SPECIES.length,
  ),
});
const train = pick(order.slice(0, split));
const test = pick(order.slice(split));
// Standardize with the training set's statistics.
const { mean, variance } = tf.moments(train.xs, 0);
const scale = (xs: tfjs.Tensor) => xs.sub(mean).div(variance.sqrt());

const model = tf.sequential({
  layers: [
    tf.layers.dense({ units: 16, activation: 'relu', inputShape: [4] }),
    tf.layers.dense({ units: 3, activation: 'softmax' }),
  ],
});
model.compile({ optimizer: tf.train.adam(0.05), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });

// One line turns on autologging for every model.fit in the program.
// With a tracking server (the registry needs one) the model is also registered, as a new version of
// iris-classifier: `mlflow-kit models set-alias iris-classifier champion <version>` then promotes it.
const registeredModelName =
  createClient(tracking).settings.storeKind === 'local' ? undefined : 'iris-classifier';
const disable = autolog({
  tf,
  ...tracking,
  experimentName: EXPERIMENT,
  ...(registeredModelName ? { registeredModelName } : {}),
});

const run = await withRun(
  { ...tracking, experimentName: EXPERIMENT, runName: 'iris-mlp' },
  async (active) => {
    await model.fit(scale(train.xs), train.ys, {
      epochs: 60,
      batchSize: 16,
      validationData: [scale(test.xs), test.ys],
      callbacks: [tf.callbacks.earlyStopping({ monitor: 'val_loss', patience: 8 })],
    });
    return active;
  },
);
disable();

// Read back what was logged, as any MLflow client would.
const client = createClient(tracking);
const record = await client.getRun(run.runId);
const loaded = await loadModel(`runs:/${run.runId}/model`, { tf, ...tracking });
const predicted = (loaded.predict(scale(test.xs)) as tfjs.Tensor).argMax(-1);
const reloadedAccuracy = predicted.equal(test.ys.argMax(-1)).mean().dataSync()[0] ?? 0;

console.log(`\nMLflow run ${run.runId} (experiment "${EXPERIMENT}", ${client.settings.trackingUri})\n`);
console.table(
  Object.fromEntries(
    Object.entries(record.data.metrics)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([key, value]) => [key, { value: Number(value.toFixed(4)) }]),
  ),
);
console.log(`Accuracy of the logged model, loaded back with loadModel: ${reloadedAccuracy.toFixed(4)}\n`);
if (client.settings.storeKind === 'local') {
  console.log('View the run in the MLflow UI:');
  console.log(
    `  MLFLOW_ALLOW_FILE_STORE=true mlflow ui --backend-store-uri ${resolve(client.settings.localPath ?? 'mlruns')}`,
  );
  console.log('  then open http://127.0.0.1:5000');
} else if (run.url) {
  console.log(`View the run in the MLflow UI: ${run.url}`);
}
if (registeredModelName) {
  const versions = await client.searchModelVersions({ filter: `run_id = '${run.runId}'` });
  for (const version of versions.items)
    console.log(
      `Registered as models:/${version.name}/${version.version} (mlflow-kit models show ${version.name})`,
    );
}
