import { createRequire } from 'node:module';
import { join } from 'node:path';
import { diag, MlflowConfigError } from '@mlflow-kit/core';
import type { ServingTfLike } from './serving-types.js';

const localRequire = createRequire(import.meta.url);

/** Requires `name` from the working directory (the user's project) first, then from this package. */
function requireFromProject(name: string): unknown {
  let first: unknown;
  for (const load of [createRequire(join(process.cwd(), 'package.json')), localRequire]) {
    try {
      return load(name);
    } catch (error) {
      first ??= error;
    }
  }
  throw first;
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '';
}

/**
 * The TensorFlow.js to serve with: `@tensorflow/tfjs-node` (native TensorFlow) when it loads, else
 * `@tensorflow/tfjs` on the wasm backend (`@tensorflow/tfjs-backend-wasm`), else on its cpu backend with a
 * warning. Throws a {@link MlflowConfigError} naming the packages to install when there is none.
 */
export async function loadServingTfjs(): Promise<ServingTfLike> {
  process.env.TF_CPP_MIN_LOG_LEVEL ??= '2'; // TensorFlow's CPU-feature banner on stderr
  let nodeProblem: string;
  try {
    const tf = requireFromProject('@tensorflow/tfjs-node') as ServingTfLike;
    await tf.ready?.();
    return tf;
  } catch (error) {
    nodeProblem = firstLine(error);
  }
  let tf: ServingTfLike;
  try {
    tf = requireFromProject('@tensorflow/tfjs') as ServingTfLike;
  } catch (error) {
    throw new MlflowConfigError(
      `Serving a model needs TensorFlow.js: install @tensorflow/tfjs-node (native, fastest) or @tensorflow/tfjs with @tensorflow/tfjs-backend-wasm. (@tensorflow/tfjs-node: ${nodeProblem}; @tensorflow/tfjs: ${firstLine(error)})`,
      { setting: 'tf', cause: error },
    );
  }
  try {
    requireFromProject('@tensorflow/tfjs-backend-wasm');
    if (!(await tf.setBackend?.('wasm'))) throw new Error('the wasm backend did not initialise');
  } catch (error) {
    diag.warn(
      `Serving on the tfjs cpu backend, the slowest: install @tensorflow/tfjs-node or @tensorflow/tfjs-backend-wasm (${firstLine(error)}).`,
    );
  }
  await tf.ready?.();
  return tf;
}
