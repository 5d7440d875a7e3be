// Train a small classifier with TensorFlow.js, logging through the tfjs-node-style `tensorBoard()` callback
// and a manual torch-style `SummaryWriter`. The data lands in MLflow (./mlruns unless MLFLOW_TRACKING_URI is
// set) and in TensorBoard event files under ./logs:
//   pnpm --filter @mlflow-kit/example-tensorboard start
//   ~/.cache/mlflow-kit/venv-*/bin/tensorboard --logdir examples/tensorboard/logs
import { createRequire } from 'node:module';
import { startRun } from '@mlflow-kit/core';
import { SummaryWriter, tensorBoard } from '@mlflow-kit/tensorboard';
import * as tfjs from '@tensorflow/tfjs';

/**
 * `@tensorflow/tfjs-node` (native TensorFlow) when it is installed with its addon built (`pnpm setup:tfjs-node`
 * in this repository), else `@tensorflow/tfjs` on its pure-JavaScript backend. The logging is the same on both.
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
    console.log(`@tensorflow/tfjs-node is not available (${reason}); using @tensorflow/tfjs.`);
    return tfjs;
  }
}

const tf = await loadTensorFlow();
console.log(`TensorFlow.js ${tf.version.tfjs} on the "${tf.getBackend()}" backend`);

// Tracking is opt-in; this example exists to show it, so it switches it on itself.
const tracking = { enabled: true, experimentName: 'tensorboard-demo' } as const;

function data(rows = 200): { xs: tfjs.Tensor2D; ys: tfjs.Tensor2D } {
  const features = Array.from({ length: rows }, (_, row) => [
    Math.sin(row),
    Math.cos(row * 0.7),
    (row % 9) / 9,
  ]);
  const labels = features.map(([a = 0, b = 0]) => (a + b > 0 ? 1 : 0));
  return { xs: tf.tensor2d(features), ys: tf.oneHot(tf.tensor1d(labels, 'int32'), 2) as tfjs.Tensor2D };
}

const run = await startRun({ ...tracking, runName: 'tensorboard-example' });
const model = tf.sequential({
  layers: [
    tf.layers.dense({ units: 16, inputShape: [3], activation: 'relu' }),
    tf.layers.dense({ units: 2, activation: 'softmax' }),
  ],
});
model.compile({ optimizer: tf.train.adam(0.02), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
const { xs, ys } = data();

// Both write to the active run: `train/epoch_loss`, `val/epoch_loss`, weight histograms, ...
const history = await model.fit(xs, ys, {
  epochs: 8,
  validationSplit: 0.2,
  callbacks: [tensorBoard('logs', { tf, updateFreq: 'batch', histogramFreq: 2 })],
});

const writer = new SummaryWriter({ logDir: 'logs/extras' });
const predictions = model.predict(xs) as tfjs.Tensor2D;
writer.addHistogram('predicted_p1', predictions.slice([0, 1], [-1, 1]), 8);
writer.addImage(
  'confidence',
  predictions.slice([0, 0], [100, 2]).reshape([10, 10, 2]).slice([0, 0, 1], [10, 10, 1]),
  8,
  undefined,
  'HWC',
);
writer.addText(
  'summary',
  `Trained ${history.epoch.length} epochs; final loss ${history.history.loss?.at(-1)}.`,
  8,
);
writer.addHparams(
  { lr: 0.02, units: 16 },
  { 'hparam/val_acc': Number(history.history.val_acc?.at(-1) ?? 0) },
);
await writer.close();
await run.end();
console.log(`MLflow run ${run.runId}${run.url ? ` (${run.url})` : ''}; TensorBoard logs in ./logs`);
