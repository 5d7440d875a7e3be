import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { beforeAll, beforeEach, describe } from 'vitest';
import { loadTfjsNode, tfjsNodeRequired } from './tfjs-node.js';

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

/**
 * Declares a suite that needs tfjs-node, which failed to load for `problem` (`undefined`: it loads, or the
 * suite does not need it). Then
 * the suite is skipped with the reason and the fix in its name — unless tfjs-node is required
 * (`MLFLOW_KIT_REQUIRE_TFJS_NODE=1`, CI), where every test fails by name instead.
 */
function describeNeedingTfjsNode(name: string, problem: string | undefined, body: () => void): void {
  if (problem === undefined) {
    describe(name, body);
  } else if (!tfjsNodeRequired()) {
    describe.skip(
      `${name} — skipped: tfjs-node does not load (${problem}); build it with \`pnpm setup:tfjs-node\``,
      body,
    );
  } else {
    describe(name, () => {
      beforeEach(() => {
        throw new Error(
          `tfjs-node is required here (MLFLOW_KIT_REQUIRE_TFJS_NODE=1) but does not load: ${problem}`,
        );
      });
      body();
    });
  }
}

/**
 * Declares a suite that runs with `@tensorflow/tfjs-node`, passed to `body`. Where its addon does not load,
 * the suite is skipped (or, in CI, fails) as {@link describeBackends} does for its tfjs-node suite.
 */
export function describeWithTfjsNode<T>(name: string, body: (tf: T) => void): void {
  const load = loadTfjsNode<T>();
  // Where it does not load, the tests are only collected (and skipped or failed): no property is ever real.
  describeNeedingTfjsNode(name, load.problem, () =>
    body(load.tf ?? (new Proxy({}, { get: () => undefined }) as T)),
  );
}

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
  const tfjsNodeProblem = loadTfjsNode().problem;
  for (const backend of BACKENDS) {
    const suite = `${name} on ${backend.label}`;
    const problem = backend.name === 'tensorflow' ? tfjsNodeProblem : undefined;
    describeNeedingTfjsNode(suite, problem, () => {
      if (problem === undefined) beforeAll(() => useBackend(backend), 60_000);
      body(backend);
    });
  }
}
