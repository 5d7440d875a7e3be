import { createRequire } from 'node:module';
import { beforeEach, describe } from 'vitest';

/** `@tensorflow/tfjs-node` when it loads here (its native addon built), or why it does not. */
export type TfjsNodeLoad<T> = { tf: T; problem?: undefined } | { tf?: undefined; problem: string };

/**
 * `@tensorflow/tfjs-node` when it loads here (its native addon built: `pnpm setup:tfjs-node`), else the first
 * line of the reason: the tensorboard side-by-side tests and benchmark compare with it only then.
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
 * Declares a suite that needs tfjs-node. Where its addon does not load, the suite is skipped with the reason
 * and the fix in its name — unless `MLFLOW_KIT_REQUIRE_TFJS_NODE=1` (CI, `.ci/run`), where every test fails
 * by name instead (the pattern of packages/tfjs/src/__tests__/backends.ts).
 */
export function describeWithTfjsNode<T>(name: string, body: (tf: T) => void): void {
  const load = loadTfjsNode<T>();
  if (load.tf) {
    describe(name, () => body(load.tf as T));
    return;
  }
  if (process.env.MLFLOW_KIT_REQUIRE_TFJS_NODE !== '1') {
    describe.skip(`${name} — skipped: tfjs-node does not load (${load.problem}); build it with \`pnpm setup:tfjs-node\``, () =>
      body(undefined as T));
    return;
  }
  describe(name, () => {
    beforeEach(() => {
      throw new Error(
        `tfjs-node is required here (MLFLOW_KIT_REQUIRE_TFJS_NODE=1) but does not load: ${load.problem}`,
      );
    });
    body(new Proxy({}, { get: () => undefined }) as T);
  });
}
