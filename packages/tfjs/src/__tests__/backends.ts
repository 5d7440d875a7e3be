import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { beforeAll, beforeEach, describe } from 'vitest';

/** A tfjs backend the tests run on: tfjs-node's native `tensorflow`, or `wasm` (pure npm). */
export interface TestBackend {
  /** The name tfjs reports (`tf.getBackend()`), and the `tfjs.backend` tag. */
  name: 'tensorflow' | 'wasm';
  /** The package behind it, for test names. */
  label: '@tensorflow/tfjs-node' | '@tensorflow/tfjs-backend-wasm';
}

const BACKENDS: TestBackend[] = [
  { name: 'tensorflow', label: '@tensorflow/tfjs-node' },
  { name: 'wasm', label: '@tensorflow/tfjs-backend-wasm' },
];

/** Why tfjs-node does not load here, or `undefined` when it does (it registers the `tensorflow` backend). */
function tfjsNodeProblem(): string | undefined {
  process.env.TF_CPP_MIN_LOG_LEVEL ??= '2'; // TensorFlow's CPU-feature banner
  try {
    createRequire(import.meta.url)('@tensorflow/tfjs-node');
    return undefined;
  } catch (error) {
    return (error instanceof Error ? error.message : String(error)).split('\n')[0];
  }
}

const tfjsNodeMissing = tfjsNodeProblem();
// .ci/run sets it: CI must prove tfjs-node, so there a missing addon fails the tests instead of skipping them.
const tfjsNodeRequired = process.env.MLFLOW_KIT_REQUIRE_TFJS_NODE === '1';

/** Switches the shared tfjs engine to `backend` and returns the `tf` module the test models are built with. */
export async function useBackend(backend: TestBackend): Promise<typeof tf> {
  if (tf.getBackend() !== backend.name) await tf.setBackend(backend.name);
  await tf.ready();
  await warmUp();
  return tf;
}

/**
 * One tiny fit, so the first test does not pay for the backend's first kernels (seconds on a busy machine,
 * close to vitest's 5 s test timeout).
 */
async function warmUp(): Promise<void> {
  const model = tf.sequential({
    layers: [tf.layers.dense({ units: 2, inputShape: [4], activation: 'softmax' })],
  });
  model.compile({ optimizer: tf.train.adam(0.01), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  const xs = tf.ones([8, 4]);
  const ys = tf.oneHot(tf.tensor1d([0, 1, 0, 1, 0, 1, 0, 1], 'int32'), 2);
  await model.fit(xs, ys, { epochs: 1, batchSize: 4, validationSplit: 0.25, verbose: 0 });
  tf.dispose([xs, ys]);
  model.dispose();
}

/**
 * Declares the suite once per backend: `describe('<name> on <package>')`, switched to that backend before its
 * tests. Where tfjs-node's addon is not built (and not required), its suite is skipped with the reason and the
 * fix in its name.
 */
export function describeBackends(name: string, body: (backend: TestBackend) => void): void {
  for (const backend of BACKENDS) {
    if (backend.name === 'tensorflow' && tfjsNodeMissing && !tfjsNodeRequired) {
      describe.skip(`${name} on ${backend.label} — skipped: tfjs-node does not load (${tfjsNodeMissing}); build it with \`pnpm setup:tfjs-node\``, () =>
        body(backend));
      continue;
    }
    describe(`${name} on ${backend.label}`, () => {
      if (backend.name === 'tensorflow' && tfjsNodeMissing) {
        // Required (CI): every test fails, by name, rather than the suite being skipped.
        beforeEach(() => {
          throw new Error(
            `tfjs-node is required here (MLFLOW_KIT_REQUIRE_TFJS_NODE=1) but does not load: ${tfjsNodeMissing}`,
          );
        });
      } else {
        beforeAll(() => useBackend(backend), 60_000);
      }
      body(backend);
    });
  }
}
