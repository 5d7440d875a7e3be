import { createRequire } from 'node:module';

/** `@tensorflow/tfjs-node` when it loads here (its native addon built), or why it does not. */
export type TfjsNodeLoad<T> = { tf: T; problem?: undefined } | { tf?: undefined; problem: string };

/**
 * `@tensorflow/tfjs-node` when it loads here (its native addon built: `pnpm setup:tfjs-node`), else the first
 * line of the reason. Loading it registers the `tensorflow` backend with the shared tfjs engine.
 */
export function loadTfjsNode<T>(): TfjsNodeLoad<T> {
  process.env.TF_CPP_MIN_LOG_LEVEL ??= '2'; // TensorFlow's CPU-feature banner
  try {
    return { tf: createRequire(import.meta.url)('@tensorflow/tfjs-node') as T };
  } catch (error) {
    return { problem: (error instanceof Error ? error.message : String(error)).split('\n')[0] as string };
  }
}

/**
 * Whether a missing tfjs-node fails the tests instead of skipping them: `MLFLOW_KIT_REQUIRE_TFJS_NODE=1`, which
 * `.ci/run` sets because CI must prove tfjs-node.
 */
export function tfjsNodeRequired(): boolean {
  return process.env.MLFLOW_KIT_REQUIRE_TFJS_NODE === '1';
}
