import { createRequire } from 'node:module';

/**
 * `@tensorflow/tfjs-node` when it loads here (its native addon built), else `undefined`: the tensorboard
 * side-by-side tests and benchmark compare with it only then.
 */
export function loadTfjsNode<T>(): T | undefined {
  try {
    process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';
    return createRequire(import.meta.url)('@tensorflow/tfjs-node') as T;
  } catch {
    return undefined;
  }
}
