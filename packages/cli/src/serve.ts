import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { MlflowConfigError, type TrackingOptions } from '@mlflow-kit/core';
import type { ScoringServer, ScoringServerOptions } from '@mlflow-kit/tfjs';

/** Options of {@link serveModel}: those of `createScoringServer` (`@mlflow-kit/tfjs`), and when to stop. */
export interface ServeModelOptions
  extends TrackingOptions,
    Pick<
      ScoringServerOptions,
      'host' | 'port' | 'maxBatchSize' | 'maxBatchWaitMs' | 'maxRequestBytes' | 'requestTimeoutMs'
    > {
  /** The model to serve: `runs:/…`, `models:/<name>/<version>`, `models:/<name>@<alias>`, `models:/<model_id>`, … */
  modelUri: string;
  /** Called once the server listens. */
  onListening?(server: ScoringServer): void;
  /** Resolves when the server should stop. @defaultValue the first SIGTERM or SIGINT */
  until?: Promise<unknown>;
}

type TfjsPackage = typeof import('@mlflow-kit/tfjs');

const INSTALL =
  'npm install @mlflow-kit/tfjs @tensorflow/tfjs-node (or @tensorflow/tfjs @tensorflow/tfjs-backend-wasm where tfjs-node does not build)';

/**
 * `@mlflow-kit/tfjs`, loaded only when a model is served so that the rest of the command works without
 * TensorFlow.js: from beside this package, else from the working directory's project.
 */
async function importTfjsPackage(): Promise<TfjsPackage> {
  try {
    return await import('@mlflow-kit/tfjs');
  } catch (first) {
    try {
      const resolved = createRequire(join(process.cwd(), 'package.json')).resolve('@mlflow-kit/tfjs');
      return (await import(pathToFileURL(resolved).href)) as TfjsPackage;
    } catch {
      throw new MlflowConfigError(
        `mlflow-kit serve needs the @mlflow-kit/tfjs package and TensorFlow.js: ${INSTALL}.`,
        {
          setting: '@mlflow-kit/tfjs',
          cause: first,
        },
      );
    }
  }
}

function signal(): { promise: Promise<NodeJS.Signals>; dispose(): void } {
  let stop: (name: NodeJS.Signals) => void = () => undefined;
  const promise = new Promise<NodeJS.Signals>((resolve) => {
    stop = resolve;
  });
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  return {
    promise,
    dispose() {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
    },
  };
}

/**
 * Serves a logged tfjs model with MLflow's scoring protocol until SIGTERM or SIGINT (or `until`), then shuts
 * down gracefully: the requests in progress are answered, the connections closed.
 */
export async function serveModel(options: ServeModelOptions): Promise<void> {
  const { onListening, until, ...serverOptions } = options;
  const { createScoringServer } = await importTfjsPackage();
  const stop = until ? undefined : signal();
  try {
    const server = await createScoringServer(serverOptions satisfies ScoringServerOptions);
    onListening?.(server);
    await (until ?? stop?.promise);
    await server.close();
  } finally {
    stop?.dispose();
  }
}
