import {
  MlflowApiError,
  MlflowKitError,
  normalizeArtifactPath,
  type Run,
  type TrackingStore,
} from '@mlflow-kit/core';
import { recordModelHistory } from './internal/log-model-history.js';
import {
  createRunLoggedModel,
  loggedModelName,
  type ModelMetrics,
  uploadLoggedModel,
} from './internal/logged-model.js';
import {
  logModelHistoryEntry,
  mlmodelYaml,
  modelSignature,
  saveModelToMemory,
  versionFromGeneratedBy,
} from './internal/model-files.js';
import { type TfjsInfoSource, tfjsBackend, tfjsVersion } from './internal/tfjs-info.js';
import type { LayersModelLike } from './internal/tfjs-types.js';

/** Options of {@link logModel}. */
export interface LogModelOptions {
  /**
   * Register the logged model under this name in the model registry, creating the registered model if it does
   * not exist, and wait until the new version is READY. Needs a tracking server.
   */
  registeredModelName?: string;
  /** The `tf` module, for the `tfjs_version` and `backend` of the `MLmodel` file. @defaultValue read from the saved model */
  tf?: TfjsInfoSource;
  /**
   * The metrics the MLflow 3 logged model carries (linked to it by `model_id`) and the step the run records
   * the model at. `autolog` and `mlflowCallback` pass the final epoch's metrics.
   * @defaultValue the latest point of each of the run's metrics, at step 0
   */
  metrics?: ModelMetrics;
}

/** What {@link logModel} logged: the counterpart of MLflow's `ModelInfo`. */
export interface ModelInfo {
  /**
   * The URI to load the model with {@link loadModel}: `models:/<model_id>` for an MLflow 3 logged model,
   * `runs:/<run_id>/<artifact_path>` for run artifacts.
   */
  modelUri: string;
  /** The run the model belongs to. */
  runId: string;
  /**
   * The artifact path given to {@link logModel}: the logged model's name (with `/ : . % " '` as `_`), or the
   * model directory inside the run's artifacts.
   */
  artifactPath: string;
  /** Id of the MLflow 3 logged model (`m-...`); `undefined` when the model went to the run's artifacts. */
  modelId?: string | undefined;
  /** Where the model's files are: the logged model's or the run's artifact directory. */
  artifactUri: string;
  /** Id written to `MLmodel` as `model_uuid`: the `model_id` of a logged model. */
  modelUuid: string;
  /** The registered model version, when `registeredModelName` was given. */
  registeredModelVersion?: string;
}

function storeOf(run: Run): TrackingStore {
  const store = (run as { store?: TrackingStore }).store;
  if (!store) {
    throw new MlflowKitError(
      'logModel needs a run started by @mlflow-kit/core (startRun, withRun or autolog): this run has no store.',
    );
  }
  return store;
}

/**
 * Logs the model's files from memory through the run, so they take the run's queue, retries and spool like
 * every other write, and no file system is needed (a web page has none); `MLmodel` goes last, so a directory
 * with an `MLmodel` file always holds a complete model.
 */
async function logFiles(
  run: Run,
  path: string,
  files: [string, Uint8Array][],
  mlmodel: Uint8Array,
): Promise<void> {
  const prefix = path ? `${path}/` : '';
  await Promise.all(files.map(([name, bytes]) => run.logBytes(bytes, `${prefix}${name}`)));
  await run.logBytes(mlmodel, `${prefix}MLmodel`);
}

/** Creates the registered model unless it exists (also when another process creates it at the same moment). */
async function ensureRegisteredModel(
  registry: NonNullable<TrackingStore['registry']>,
  name: string,
): Promise<void> {
  try {
    await registry.getRegisteredModel(name);
    return;
  } catch (error) {
    if (!(MlflowApiError.isInstance(error) && error.errorCode === 'RESOURCE_DOES_NOT_EXIST')) throw error;
  }
  try {
    await registry.createRegisteredModel(name);
  } catch (error) {
    if (!(MlflowApiError.isInstance(error) && error.errorCode === 'RESOURCE_ALREADY_EXISTS')) throw error;
  }
}

/**
 * Logs a trained TensorFlow.js model to a run: saves it through an in-memory IOHandler (no file system, so it
 * works with `@tensorflow/tfjs` and `@tensorflow/tfjs-node` alike) as `model.json` plus weight shards, with an
 * `MLmodel` file declaring a `tfjs` flavor and the input/output signature.
 *
 * On an MLflow 3 server and in the local store the model becomes a logged model named `artifactPath`, as
 * Python's `log_model` makes one: it carries the run's params, final metrics and source tags (the UI's
 * "Logged from"), the run lists it among its outputs (the run page's "Logged models"), the experiment's
 * Models tab shows it, and its files go to its own artifact root; it is finalized `LOGGED_MODEL_READY`, or
 * `LOGGED_MODEL_UPLOAD_FAILED` when an upload fails. Elsewhere (a server before MLflow 3, which answers 404,
 * or a server out of reach) the files go under `artifactPath` in the run's artifacts, through the run's queue
 * and spool, and the run tag `mlflow.log-model.history` names the model, as MLflow 2's `log_model` does, so
 * the UI still lists it. With `registeredModelName` it also registers a model version (from
 * `models:/<model_id>`, as the UI's "Register model" does) and waits until it is READY.
 *
 * Resolves to `undefined` for a run that does not record (tracking off).
 *
 * @example
 * ```ts
 * import { startRun } from '@mlflow-kit/core';
 * import { logModel } from '@mlflow-kit/tfjs';
 *
 * const run = await startRun({ experimentName: 'iris' });
 * await model.fit(xs, ys, { epochs: 20 });
 * const info = await logModel(run, model, 'model', { registeredModelName: 'iris-classifier' });
 * // info?.modelUri is 'models:/m-...'; info?.registeredModelVersion is '1' for a new model
 * await run.end();
 * ```
 */
export async function logModel(
  run: Run,
  model: unknown,
  artifactPath = 'model',
  options: LogModelOptions = {},
): Promise<ModelInfo | undefined> {
  if (!run.isRecording) return undefined;
  const store = storeOf(run);
  const path = normalizeArtifactPath(artifactPath, 'model artifact path');
  if (!path) throw new MlflowKitError('logModel needs a non-empty artifact path, such as "model".');
  if (options.registeredModelName !== undefined && !store.registry) {
    throw new MlflowKitError(
      `Registering "${options.registeredModelName}" needs an MLflow tracking server; ${store.trackingUri} is a ${store.kind} store. Point MLFLOW_TRACKING_URI at a server, or leave out registeredModelName.`,
    );
  }
  const layersModel = model as LayersModelLike;
  const { files, artifacts } = await saveModelToMemory(layersModel);
  const logged = await createRunLoggedModel(run, store, loggedModelName(path), options.metrics);
  const modelUuid = logged?.model.modelId ?? globalThis.crypto.randomUUID().replaceAll('-', '');
  const modelClass = typeof layersModel.getClassName === 'function' ? layersModel.getClassName() : undefined;
  const mlmodelInfo = {
    runId: run.runId,
    artifactPath: logged?.model.artifactUri ?? path,
    modelUuid,
    modelId: logged?.model.modelId,
    tfjsVersion: tfjsVersion(options.tf) ?? versionFromGeneratedBy(artifacts.generatedBy),
    backend: tfjsBackend(options.tf),
    modelClass,
    signature: modelSignature(layersModel),
    created: new Date(),
  };
  const mlmodel = new TextEncoder().encode(mlmodelYaml(mlmodelInfo));
  let info: ModelInfo;
  if (logged) {
    await uploadLoggedModel(store, logged.models, logged.model, [...files], mlmodel);
    info = {
      modelUri: `models:/${logged.model.modelId}`,
      runId: run.runId,
      artifactPath: path,
      modelId: logged.model.modelId,
      artifactUri: logged.model.artifactUri,
      modelUuid,
    };
  } else {
    await logFiles(run, path, [...files], mlmodel);
    // Without a logged model, the UI finds the model through this tag, as for a model logged by MLflow 2.
    recordModelHistory(run, logModelHistoryEntry(mlmodelInfo));
    info = {
      modelUri: `runs:/${run.runId}/${path}`,
      runId: run.runId,
      artifactPath: path,
      artifactUri: `${run.artifactUri}/${path}`,
      modelUuid,
    };
  }
  if (options.registeredModelName !== undefined) {
    const registry = store.registry!;
    await ensureRegisteredModel(registry, options.registeredModelName);
    // As the UI's "Register model" on a logged model: the source is the model's URI.
    const version = await registry.createModelVersion({
      name: options.registeredModelName,
      source: info.modelId ? info.modelUri : info.artifactUri,
      runId: run.runId,
      ...(info.modelId ? { modelId: info.modelId } : {}),
    });
    info.registeredModelVersion = version.version;
  }
  return info;
}
