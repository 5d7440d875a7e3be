import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { MlflowConfigError, type TrackingOptions } from '@mlflow-kit/core';

/** The running server, as {@link ServeModelOptions.onListening} receives it. */
export interface ServingInfo {
  /** `http://<host>:<port>`. */
  url: string;
  /** The tfjs backend predicting: `tensorflow` (tfjs-node), `wasm` or `cpu`. */
  backend: string;
  /** The model's inputs: name, shape (`null` for a variable dimension) and dtype. */
  inputs: { name: string; shape: (number | null)[]; dtype: string }[];
}

/**
 * Options of {@link serveModel}. Declared here rather than taken from `@mlflow-kit/tfjs`, so that the types
 * of this package do not need that optional package; each setting is `createScoringServer`'s of that name.
 */
export interface ServeModelOptions extends TrackingOptions {
  /** The model to serve: `runs:/…`, `models:/<name>/<version>`, `models:/<name>@<alias>`, `models:/<model_id>`, … */
  modelUri: string;
  /** Interface to listen on. @defaultValue `'127.0.0.1'` */
  host?: string;
  /** Port; 0 picks a free one. @defaultValue `5000` */
  port?: number;
  /** Most rows per `predict` call; 1 turns micro-batching off. @defaultValue `64` */
  maxBatchSize?: number;
  /** Longest wait for requests to share a `predict` call, ms. @defaultValue `2` */
  maxBatchWaitMs?: number;
  /** Largest request body, bytes (larger: 413). @defaultValue `10485760` */
  maxRequestBytes?: number;
  /** Longest a request may take, ms (then 504). @defaultValue `60000` */
  requestTimeoutMs?: number;
  /** Called once the server listens. */
  onListening?(server: ServingInfo): void;
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
    const server = await createScoringServer(serverOptions);
    onListening?.(server);
    await (until ?? stop?.promise);
    await server.close();
  } finally {
    stop?.dispose();
  }
}
