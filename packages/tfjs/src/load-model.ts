import {
  createClient,
  type MlflowClient,
  MlflowKitError,
  type ModelVersion,
  type TrackingOptions,
  type TrackingStore,
} from '@mlflow-kit/core';
import { loggedModelName } from './internal/logged-model.js';
import { MODEL_FILE, modelFileFromMlmodel, readModelArtifacts } from './internal/model-files.js';
import type { LoadHandlerLike } from './internal/tfjs-types.js';

/** Options of {@link loadModel}: the `tf` module to load with, and where the tracking server is. */
export interface LoadModelOptions<M> extends TrackingOptions {
  /** The `tf` module (`@tensorflow/tfjs`, `@tensorflow/tfjs-node`, ...): its `loadLayersModel` builds the model. */
  tf: { loadLayersModel(handler: never, ...rest: never[]): Promise<M> };
  /** A client to resolve the URI with, instead of one made from the tracking options. */
  client?: MlflowClient;
}

/** Where a model's files are: an artifact root and a directory below it. */
export interface ResolvedModelLocation {
  /** Artifact root URI (a run's, a logged model's or a model version's storage location). */
  root: string;
  /** Directory of the model below `root`; `''` for the root itself. */
  path: string;
}

function highest(versions: ModelVersion[], what: string): ModelVersion {
  const best = versions.reduce<ModelVersion | undefined>(
    (top, version) => (!top || Number(version.version) > Number(top.version) ? version : top),
    undefined,
  );
  if (!best) throw new MlflowKitError(`No model version matches ${what}.`);
  return best;
}

async function storeWithRegistry(
  client: MlflowClient,
): Promise<{ store: TrackingStore; registry: NonNullable<TrackingStore['registry']> }> {
  const store = await client.store();
  if (!store.registry) {
    throw new MlflowKitError(
      `models:/ URIs need an MLflow tracking server with a model registry; ${store.trackingUri} is a ${store.kind} store. Point MLFLOW_TRACKING_URI at the server, or load with a runs:/ URI.`,
    );
  }
  return { store, registry: store.registry };
}

/**
 * As Python's `runs:/` repository: when the run's artifacts hold nothing at `path`, the model is the logged
 * model of that name the run produced.
 */
async function loggedModelOfRun(
  client: MlflowClient,
  runId: string,
  experimentId: string,
  artifactUri: string,
  path: string,
): Promise<ResolvedModelLocation | undefined> {
  const store = await client.store();
  if (!store.loggedModels || !path) return undefined;
  if ((await store.listArtifacts(artifactUri, path).catch(() => [])).length > 0) return undefined;
  const name = loggedModelName(path);
  let pageToken: string | undefined;
  do {
    const page = await store.loggedModels.searchLoggedModels({
      experimentIds: [experimentId],
      filter: `name = '${name}'`,
      ...(pageToken ? { pageToken } : {}),
    });
    const found = page.items.find((model) => model.sourceRunId === runId);
    if (found) return { root: found.artifactUri, path: '' };
    pageToken = page.nextPageToken;
  } while (pageToken);
  return undefined;
}

/**
 * Resolves a model URI to the artifact root and directory that hold the model's files:
 * `runs:/<run_id>/<path>`, `models:/<name>/<version>`, `models:/<name>@<alias>`, `models:/<name>/<stage>`,
 * `models:/<name>/latest`, `models:/<logged_model_id>`, or an artifact URI as is.
 */
export async function resolveModelUri(uri: string, client: MlflowClient): Promise<ResolvedModelLocation> {
  if (uri.startsWith('runs:/')) {
    const [runId = '', ...rest] = uri.slice('runs:/'.length).replace(/^\/+/, '').split('/');
    if (!runId) throw new MlflowKitError(`${uri} names no run: use runs:/<run_id>/<path>.`);
    const { info } = await client.getRun(runId);
    const path = rest.filter(Boolean).join('/');
    return (
      (await loggedModelOfRun(client, info.runId, info.experimentId, info.artifactUri, path)) ?? {
        root: info.artifactUri,
        path,
      }
    );
  }
  if (!uri.startsWith('models:/')) return { root: uri.replace(/\/+$/, ''), path: '' };

  const body = uri.slice('models:/'.length).replace(/^\/+|\/+$/g, '');
  if (/^m-[0-9a-f]+$/.test(body)) {
    const store = await client.store();
    if (store.loggedModels)
      return { root: (await store.loggedModels.getLoggedModel(body)).artifactUri, path: '' };
  }
  const { registry } = await storeWithRegistry(client);
  let version: ModelVersion;
  const at = body.lastIndexOf('@');
  if (at > 0) {
    version = await client.getModelVersionByAlias(body.slice(0, at), body.slice(at + 1));
  } else {
    const segments = body.split('/');
    if (segments.length === 1 && segments[0]) {
      const logged = await registry.getLoggedModel(segments[0]);
      return { root: logged.artifactUri, path: '' };
    }
    if (segments.length !== 2 || !segments[0] || !segments[1]) {
      throw new MlflowKitError(
        `${uri} is not a model URI: use models:/<name>/<version>, models:/<name>@<alias>, models:/<name>/<stage> or models:/<name>/latest.`,
      );
    }
    const [name, selector] = segments as [string, string];
    if (/^\d+$/.test(selector)) {
      version = await client.getModelVersion(name, selector);
    } else if (selector.toLowerCase() === 'latest') {
      version = highest(await client.getLatestVersions(name), uri);
    } else {
      const wanted = selector.toLowerCase();
      const inStage = (await client.getLatestVersions(name)).filter(
        (candidate) => candidate.currentStage?.toLowerCase() === wanted,
      );
      version = highest(inStage, uri);
    }
  }
  const download = await client.getModelVersionDownloadUri(version.name, version.version);
  if (download.startsWith('models:/') || download.startsWith('runs:/'))
    return resolveModelUri(download, client);
  return { root: download.replace(/\/+$/, ''), path: '' };
}

/**
 * Downloads a TensorFlow.js model logged by {@link logModel} (or any tfjs layers model in MLflow artifacts) and
 * loads it with `tf.loadLayersModel` through an in-memory IOHandler, so it works on every tfjs platform.
 * Accepts `runs:/<run_id>/<path>`, `models:/<name>/<version>`, `models:/<name>@<alias>`,
 * `models:/<name>/<stage>`, `models:/<name>/latest` and `models:/<logged_model_id>`.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-node';
 * import { loadModel } from '@mlflow-kit/tfjs';
 *
 * const model = await loadModel('models:/iris-classifier@champion', { tf });
 * model.predict(tf.tensor2d([[5.1, 3.5, 1.4, 0.2]])).print();
 * ```
 */
export async function loadModel<M>(uri: string, options: LoadModelOptions<M>): Promise<M> {
  const { tf, client: given, ...tracking } = options;
  const client = given ?? createClient(tracking);
  const { root, path } = await resolveModelUri(uri, client);
  const store = await client.store();
  const prefix = path ? `${path}/` : '';
  let modelFile = MODEL_FILE;
  try {
    const mlmodel = new TextDecoder().decode(await store.downloadArtifact(root, `${prefix}MLmodel`));
    modelFile = modelFileFromMlmodel(mlmodel) ?? MODEL_FILE;
  } catch {
    // No MLmodel file: a bare tfjs model directory, read as model.json.
  }
  const artifacts = await readModelArtifacts(
    (file) => store.downloadArtifact(root, `${prefix}${file}`),
    modelFile,
  );
  const handler: LoadHandlerLike = { load: async () => artifacts };
  return tf.loadLayersModel(handler as never);
}
