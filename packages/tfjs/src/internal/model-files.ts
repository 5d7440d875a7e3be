import { MlflowKitError } from '@mlflow-kit/core';
import type {
  LayersModelLike,
  ModelArtifactsLike,
  SymbolicTensorLike,
  WeightSpecLike,
} from './tfjs-types.js';
import { toYaml, type YamlValue } from './yaml.js';

/** The file name of the model topology and weights manifest, as tfjs writes it. */
export const MODEL_FILE = 'model.json';
/** Weight shards are cut at this size, like the tfjs converter does. */
export const SHARD_BYTES = 4 * 1024 * 1024;

/** The files of a saved model, relative to the model directory. */
export interface SavedModelFiles {
  files: Map<string, Uint8Array>;
  artifacts: ModelArtifactsLike;
}

function concat(parts: ArrayBuffer | ArrayBuffer[] | undefined): Uint8Array {
  if (parts === undefined) return new Uint8Array(0);
  if (!Array.isArray(parts)) return new Uint8Array(parts);
  const total = parts.reduce((sum, part) => sum + part.byteLength, 0);
  const out = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    out.set(new Uint8Array(part), offset);
    offset += part.byteLength;
  }
  return out;
}

/**
 * Saves a model through an in-memory IOHandler (no file system, so it works on every tfjs platform) and
 * lays it out as tfjs' own `model.json` + `group1-shardXofN.bin` files.
 */
export async function saveModelToMemory(model: LayersModelLike): Promise<SavedModelFiles> {
  let captured: ModelArtifactsLike | undefined;
  await model.save({
    async save(artifacts) {
      captured = artifacts;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    },
  });
  if (!captured) throw new MlflowKitError('The model did not hand its artifacts to the save handler.');
  const weights = concat(captured.weightData);
  const shardCount = Math.max(1, Math.ceil(weights.byteLength / SHARD_BYTES));
  const files = new Map<string, Uint8Array>();
  const paths: string[] = [];
  for (let index = 0; index < shardCount; index++) {
    const path = `group1-shard${index + 1}of${shardCount}.bin`;
    paths.push(path);
    files.set(
      path,
      weights.subarray(index * SHARD_BYTES, Math.min(weights.byteLength, (index + 1) * SHARD_BYTES)),
    );
  }
  const modelJson: Record<string, unknown> = {
    modelTopology: captured.modelTopology,
    format: captured.format ?? 'layers-model',
    generatedBy: captured.generatedBy,
    convertedBy: captured.convertedBy ?? null,
    weightsManifest: [{ paths, weights: captured.weightSpecs ?? [] }],
  };
  for (const key of [
    'trainingConfig',
    'signature',
    'userDefinedMetadata',
    'modelInitializer',
    'initializerSignature',
  ] as const) {
    if (captured[key] !== undefined) modelJson[key] = captured[key];
  }
  files.set(MODEL_FILE, new TextEncoder().encode(JSON.stringify(modelJson)));
  return { files, artifacts: captured };
}

interface ModelJson {
  modelTopology?: unknown;
  format?: string;
  generatedBy?: string;
  convertedBy?: string | null;
  weightsManifest?: { paths: string[]; weights: WeightSpecLike[] }[];
  trainingConfig?: unknown;
  signature?: unknown;
  userDefinedMetadata?: Record<string, unknown>;
  modelInitializer?: unknown;
  initializerSignature?: unknown;
}

/**
 * Reads tfjs model files back into `ModelArtifacts` for `tf.loadLayersModel({ load })`. `read` returns the
 * bytes of a file relative to the model directory.
 */
export async function readModelArtifacts(
  read: (path: string) => Promise<Uint8Array>,
  modelFile = MODEL_FILE,
): Promise<ModelArtifactsLike> {
  const json = JSON.parse(new TextDecoder().decode(await read(modelFile))) as ModelJson;
  if (!json.modelTopology)
    throw new MlflowKitError(`${modelFile} has no modelTopology: it is not a tfjs layers model.`);
  const directory = modelFile.includes('/') ? modelFile.slice(0, modelFile.lastIndexOf('/') + 1) : '';
  const groups = json.weightsManifest ?? [];
  const paths = groups.flatMap((group) => group.paths);
  const shards = await Promise.all(paths.map((path) => read(directory + path)));
  const weightData = concat(
    shards.map(
      (shard) => shard.buffer.slice(shard.byteOffset, shard.byteOffset + shard.byteLength) as ArrayBuffer,
    ),
  );
  const artifacts: ModelArtifactsLike = {
    modelTopology: json.modelTopology,
    weightSpecs: groups.flatMap((group) => group.weights),
    weightData: weightData.buffer as ArrayBuffer,
  };
  if (json.format !== undefined) artifacts.format = json.format;
  if (json.generatedBy !== undefined) artifacts.generatedBy = json.generatedBy;
  if (json.convertedBy !== undefined) artifacts.convertedBy = json.convertedBy;
  for (const key of ['trainingConfig', 'signature', 'modelInitializer', 'initializerSignature'] as const) {
    if (json[key] !== undefined) artifacts[key] = json[key];
  }
  if (json.userDefinedMetadata !== undefined) artifacts.userDefinedMetadata = json.userDefinedMetadata;
  return artifacts;
}

function tensorSpecs(tensors: SymbolicTensorLike[]): string {
  return JSON.stringify(
    tensors.map((tensor) => ({
      type: 'tensor',
      'tensor-spec': { dtype: tensor.dtype ?? 'float32', shape: tensor.shape.map((dim) => dim ?? -1) },
      ...(tensors.length > 1 && tensor.name ? { name: tensor.name } : {}),
    })),
  );
}

/** The model's signature in MLflow's format: tensor specs as JSON strings, `-1` for variable dimensions. */
export function modelSignature(model: LayersModelLike): { inputs: string; outputs: string; params: null } {
  return { inputs: tensorSpecs(model.inputs), outputs: tensorSpecs(model.outputs), params: null };
}

/** Python's `str(datetime.utcnow())`: `2026-05-01 12:34:56.789000`. */
export function pythonUtcTime(date: Date): string {
  return `${date.toISOString().replace('T', ' ').replace('Z', '')}000`;
}

/** The tfjs version that saved a model, read from its `generatedBy` (`TensorFlow.js tfjs-layers v4.22.0`). */
export function versionFromGeneratedBy(generatedBy: string | undefined): string | undefined {
  return generatedBy?.match(/v(\d+\.\d+\.\d+\S*)/)?.[1];
}

/** What goes into the `MLmodel` file. */
export interface MlmodelInfo {
  runId: string;
  artifactPath: string;
  modelUuid: string;
  /** The MLflow 3 logged model's id, when the model is one. */
  modelId?: string | undefined;
  tfjsVersion: string | undefined;
  backend: string | undefined;
  modelClass: string | undefined;
  signature: { inputs: string; outputs: string; params: null };
  created: Date;
}

/** The `flavors` of a tfjs model's `MLmodel` file. */
function mlmodelFlavors(info: MlmodelInfo): { [flavor: string]: { [key: string]: YamlValue | undefined } } {
  return {
    tfjs: {
      tfjs_version: info.tfjsVersion ?? 'unknown',
      format: 'layers-model',
      model_file: MODEL_FILE,
      model_class: info.modelClass,
      backend: info.backend,
      code: null,
    },
  };
}

/** The `MLmodel` file of a tfjs model: a `tfjs` flavor, the run, the signature. */
export function mlmodelYaml(info: MlmodelInfo): string {
  return toYaml({
    artifact_path: info.artifactPath,
    flavors: mlmodelFlavors(info),
    model_uuid: info.modelUuid,
    ...(info.modelId ? { model_id: info.modelId } : {}),
    run_id: info.runId,
    utc_time_created: pythonUtcTime(info.created),
    signature: info.signature,
  });
}

/**
 * One entry of the run tag `mlflow.log-model.history`, as MLflow's `Model.get_tags_dict` makes it: the run, the
 * time, the artifact path, the model's uuid and its flavors (without the signature).
 */
export function logModelHistoryEntry(info: MlmodelInfo): { [key: string]: YamlValue | undefined } {
  return {
    run_id: info.runId,
    artifact_path: info.artifactPath,
    utc_time_created: pythonUtcTime(info.created),
    model_uuid: info.modelUuid,
    flavors: mlmodelFlavors(info),
  };
}

/** The `model_file` declared by an `MLmodel` file's `tfjs` flavor, if any. */
export function modelFileFromMlmodel(text: string): string | undefined {
  const match = text.match(/^\s+model_file:\s*("?)([^"\n]+)\1\s*$/m);
  return match?.[2]?.trim();
}
