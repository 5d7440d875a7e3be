import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import {
  MlflowApiError,
  MlflowKitError,
  normalizeArtifactPath,
  type Run,
  type TrackingStore,
} from '@mlflow-kit/core';
import {
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
}

/** What {@link logModel} logged: the counterpart of MLflow's `ModelInfo`. */
export interface ModelInfo {
  /** `runs:/<run_id>/<artifact_path>`, for {@link loadModel}. */
  modelUri: string;
  /** The run the model belongs to. */
  runId: string;
  /** Path of the model directory inside the run's artifacts. */
  artifactPath: string;
  /** Id written to `MLmodel` as `model_uuid`. */
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
 * Writes the model's files to a temporary folder and logs them through the run, so they take the run's queue,
 * retries and spool like every other write; `MLmodel` goes last, so a directory with an `MLmodel` file always
 * holds a complete model.
 */
async function logFiles(
  run: Run,
  path: string,
  files: [string, Uint8Array][],
  mlmodel: Uint8Array,
): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'mlflow-kit-model-'));
  try {
    const weights = join(dir, 'files');
    for (const [name, bytes] of files) {
      const target = join(weights, ...name.split('/'));
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, bytes);
    }
    await writeFile(join(dir, 'MLmodel'), mlmodel);
    const done = run.logArtifacts(weights, path);
    const last = run.logArtifact(join(dir, 'MLmodel'), path);
    await Promise.all([done, last]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
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
 * works with `@tensorflow/tfjs` and `@tensorflow/tfjs-node` alike) as `model.json` plus weight shards under
 * `artifactPath` in the run's artifacts, with an `MLmodel` file declaring a `tfjs` flavor and the input/output
 * signature, so the MLflow UI shows the directory as a model. With `registeredModelName` it also registers a
 * model version and waits until it is READY.
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
 * // info?.modelUri is 'runs:/<id>/model'; info?.registeredModelVersion is '1' for a new model
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
  const modelUuid = globalThis.crypto.randomUUID().replaceAll('-', '');
  const modelClass = typeof layersModel.getClassName === 'function' ? layersModel.getClassName() : undefined;
  const mlmodel = new TextEncoder().encode(
    mlmodelYaml({
      runId: run.runId,
      artifactPath: path,
      modelUuid,
      tfjsVersion: tfjsVersion(options.tf) ?? versionFromGeneratedBy(artifacts.generatedBy),
      backend: tfjsBackend(options.tf),
      modelClass,
      signature: modelSignature(layersModel),
      created: new Date(),
    }),
  );
  await logFiles(run, path, [...files], mlmodel);

  const info: ModelInfo = {
    modelUri: `runs:/${run.runId}/${path}`,
    runId: run.runId,
    artifactPath: path,
    modelUuid,
  };
  if (options.registeredModelName !== undefined) {
    const registry = store.registry!;
    await ensureRegisteredModel(registry, options.registeredModelName);
    const version = await registry.createModelVersion({
      name: options.registeredModelName,
      source: `${run.artifactUri}/${path}`,
      runId: run.runId,
    });
    info.registeredModelVersion = version.version;
  }
  return info;
}
