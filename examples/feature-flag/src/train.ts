/**
 * Tracking behind a feature flag: the same training script with tracking off (the default) and on.
 *
 *   pnpm --filter @mlflow-kit/example-feature-flag start                      # off: no run, no files, no network
 *   MLFLOW_KIT_ENABLED=1 pnpm --filter @mlflow-kit/example-feature-flag start # on: ./mlruns, or MLFLOW_TRACKING_URI
 *   MLFLOW_KIT_ENABLED=1 pnpm --filter @mlflow-kit/example-feature-flag start -- --epochs 10 model.activation=tanh
 *
 * With the flag on, one run records the validated config (flat params plus config.json/config.yaml, with the
 * secret redacted), everything `model.fit` reports (autologging) and a final metric. With it off, `startRun`
 * returns a frozen no-op run, `logConfig` only validates, and the tfjs adapter is never even imported.
 */
import { loadConfig, logConfig, secret } from '@mlflow-kit/config';
import { resolveEnabled, startRun } from '@mlflow-kit/core';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { z } from 'zod';

const Config = z.object({
  epochs: z.number().int().positive().default(5),
  batchSize: z.number().int().positive().default(32),
  learningRate: z.number().positive().default(0.05),
  model: z
    .object({
      hidden: z.array(z.number().int().positive()).default([16, 8]),
      activation: z.enum(['relu', 'tanh']).default('relu'),
    })
    .default({ hidden: [16, 8], activation: 'relu' }),
  data: z
    .object({ rows: z.number().int().positive().default(256), seed: z.number().int().default(7) })
    .default({ rows: 256, seed: 7 }),
  // Set with TRAIN_HUB_TOKEN: used by the script, never logged (params and artifacts show ***).
  hubToken: secret(z.string()).optional(),
});

// Defaults, then TRAIN_* variables (TRAIN_EPOCHS=3, TRAIN_MODEL__ACTIVATION=tanh), then the command line.
const config = await loadConfig({ schema: Config, envPrefix: 'TRAIN_' });

// The flag: MLFLOW_KIT_ENABLED=1 (or the `enabled` option). Off, the adapter is not loaded at all.
const tracking = resolveEnabled({}).enabled;
let stopAutolog = (): void => {};
if (tracking) {
  const { autolog } = await import('@mlflow-kit/tfjs');
  stopAutolog = autolog({ tf });
}

const run = await startRun({
  experimentName: process.env.MLFLOW_EXPERIMENT_NAME ?? 'feature-flag-example',
  runName: `mlp-${config.model.activation}`,
});
await logConfig(Config, config, { run, artifact: 'both' });

await tf.setBackend('wasm');
await tf.ready();

/** Two noisy interleaved half-moons: a small problem a tiny MLP learns in a few epochs. */
function dataset(rows: number, seed: number): { xs: tf.Tensor2D; ys: tf.Tensor2D } {
  let state = seed;
  const random = (): number => {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    return state / 2_147_483_648;
  };
  const points: number[][] = [];
  const labels: number[] = [];
  for (let row = 0; row < rows; row++) {
    const label = row % 2;
    const angle = Math.PI * random();
    const x = label === 0 ? Math.cos(angle) : 1 - Math.cos(angle);
    const y = label === 0 ? Math.sin(angle) : 0.5 - Math.sin(angle);
    points.push([x + (random() - 0.5) * 0.2, y + (random() - 0.5) * 0.2]);
    labels.push(label);
  }
  return { xs: tf.tensor2d(points), ys: tf.tensor2d(labels, [rows, 1]) };
}

const model = tf.sequential();
config.model.hidden.forEach((units, index) => {
  model.add(
    tf.layers.dense({
      units,
      activation: config.model.activation,
      ...(index === 0 ? { inputShape: [2] } : {}),
    }),
  );
});
model.add(tf.layers.dense({ units: 1, activation: 'sigmoid' }));
model.compile({
  optimizer: tf.train.adam(config.learningRate),
  loss: 'binaryCrossentropy',
  metrics: ['accuracy'],
});

const { xs, ys } = dataset(config.data.rows, config.data.seed);
// Autologging (when on) logs params, per-epoch metrics and the model summary of this call.
const history = await model.fit(xs, ys, {
  epochs: config.epochs,
  batchSize: config.batchSize,
  validationSplit: 0.25,
  verbose: 0,
});
const finalLoss = history.history.loss?.at(-1) as number;
run.logMetric('final_loss', finalLoss);

await run.end();
stopAutolog();
tf.dispose([xs, ys]);
model.dispose();

console.log(JSON.stringify({ tracking, runId: run.runId, epochs: config.epochs, finalLoss }));
