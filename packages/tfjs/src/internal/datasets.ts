import { type DatasetInput, diag, type Run } from '@mlflow-kit/core';
import { defaultRunTags } from '@mlflow-kit/core/internal';
import { computeTensorDigest, digestInt64, type HashableArray, MAX_HASHED_VALUES } from './dataset-digest.js';

// Training and validation inputs of `fit`/`fitDataset` as MLflow datasets, as `mlflow.tensorflow.autolog()`
// logs them (`_log_tensorflow_dataset`): name `dataset`, a `code` source with the run's context tags, MLflow's
// tensor-spec schema, and the input tag `mlflow.data.context` = `train` or `eval`.

/** The tensor parts the dataset logging reads: shape and dtype, and the first values through `data()`. */
export interface TensorLike {
  shape: number[];
  dtype: string;
  size: number;
  isDisposed?: boolean;
  data(): Promise<ArrayLike<number> | ArrayLike<string>>;
  reshape?(shape: number[]): TensorLike;
  slice?(begin: number[], size: number[]): TensorLike;
  dispose(): void;
}

/** A `tf.data.Dataset`: what `fitDataset` iterates. */
export interface DatasetLike {
  iterator(): Promise<{ next(): Promise<{ value: unknown; done: boolean }> }>;
  size?: number | null;
}

/** What `fit` or `fitDataset` trains on: `{ x, y }` as given to `fit`, or the `tf.data.Dataset` of `fitDataset`. */
export type TrainingDataLike = { x: unknown; y?: unknown } | DatasetLike;

type Named = [string, TensorLike][];

/** The model's input and output names (for lists of tensors), and the backend the tensors live on. */
export interface DataNames {
  inputs?: string[] | undefined;
  outputs?: string[] | undefined;
  backend?: BackendLike | undefined;
}

/** The input tag MLflow puts the dataset's role in (`mlflow/utils/mlflow_tags.py` `MLFLOW_DATASET_CONTEXT`). */
export const DATASET_CONTEXT_TAG = 'mlflow.data.context';

/** Whether a value is a tfjs tensor (of any tfjs copy): it has a shape, a dtype and `data()`. */
export function isTensor(value: unknown): value is TensorLike {
  return (
    typeof value === 'object' &&
    value !== null &&
    Array.isArray((value as TensorLike).shape) &&
    typeof (value as TensorLike).dtype === 'string' &&
    typeof (value as TensorLike).data === 'function'
  );
}

/** Whether a value is a `tf.data.Dataset` (of any tfjs copy): it has an `iterator()`. */
export function isDataset(value: unknown): value is DatasetLike {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as DatasetLike).iterator === 'function' &&
    !isTensor(value)
  );
}

/** A tensor, a list of tensors (named after the model's inputs) or a name → tensor map, as named tensors. */
function namedTensors(value: unknown, names: string[] | undefined): Named | undefined {
  if (isTensor(value)) return [['', value]];
  if (Array.isArray(value)) {
    if (value.length === 0 || !value.every(isTensor)) return undefined;
    if (value.length === 1) return [['', value[0]!]];
    return value.map((tensor, index) => [names?.[index] ?? String(index), tensor]);
  }
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value);
    if (entries.length === 0 || !entries.every(([, tensor]) => isTensor(tensor))) return undefined;
    return entries as Named;
  }
  return undefined;
}

/** The parts of a tfjs backend read directly: the wasm backend's heap (its `slice` kernel copies the whole input). */
interface BackendLike {
  typedArrayFromHeap?(
    tensor: TensorLike,
  ): ArrayLike<number> & { slice(start: number, end: number): ArrayLike<number> };
  dataIdMap?: { has(dataId: unknown): boolean };
}

/** The backend tensors of the `tf` module live on now: `tf.engine().backend`. */
export function currentBackend(tf: unknown): BackendLike | undefined {
  try {
    return (tf as { engine?: () => { backend?: BackendLike } } | undefined)?.engine?.().backend;
  } catch {
    return undefined;
  }
}

/**
 * Starts reading the first values of a tensor (at most MLflow's 10,000): a slice of that size is the only
 * copy made, and the read does not wait for the backend.
 */
function readStart(tensor: TensorLike, backend: BackendLike | undefined): Promise<HashableArray> {
  const shape = [...tensor.shape];
  const { dtype } = tensor;
  if (tensor.isDisposed) return Promise.resolve({ dtype, shape, values: undefined });
  const count = Math.min(tensor.size, MAX_HASHED_VALUES);
  const id = (tensor as { dataId?: unknown }).dataId;
  if (backend?.typedArrayFromHeap && dtype !== 'string' && backend.dataIdMap?.has(id)) {
    try {
      return Promise.resolve({ dtype, shape, values: backend.typedArrayFromHeap(tensor).slice(0, count) });
    } catch {
      // Not in the heap: read through the kernels below.
    }
  }
  let part = tensor;
  if (count < tensor.size && tensor.reshape) {
    const flat = tensor.reshape([-1]);
    part = flat.slice ? flat.slice([0], [count]) : flat;
    if (part !== flat) flat.dispose();
  }
  const read = part.data();
  return read.then(
    (values) => {
      if (part !== tensor) part.dispose();
      return { dtype, shape, values };
    },
    () => {
      if (part !== tensor) part.dispose();
      return { dtype, shape, values: undefined };
    },
  );
}

/** Python's `json.dumps` with its default separators, so the JSON strings match what Python writes. */
export function pythonJson(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : 'NaN';
  if (typeof value === 'string')
    return JSON.stringify(value).replace(
      /[\u007f-\uffff]/g,
      (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`,
    );
  if (Array.isArray(value)) return `[${value.map(pythonJson).join(', ')}]`;
  const entries = Object.entries(value as Record<string, unknown>).filter(([, item]) => item !== undefined);
  return `{${entries.map(([key, item]) => `${pythonJson(key)}: ${pythonJson(item)}`).join(', ')}}`;
}

/** numpy's name of a tfjs dtype, as MLflow's tensor spec writes it. */
function numpyDtype(dtype: string): string {
  return dtype === 'string' ? 'str' : dtype;
}

/** MLflow's `Schema.to_json()` of inferred tensor specs: the first dimension (rows) is `-1`. */
function tensorSpecJson(named: Named): string {
  return pythonJson(
    named.map(([name, tensor]) => ({
      ...(name ? { name } : {}),
      type: 'tensor',
      'tensor-spec': { dtype: numpyDtype(tensor.dtype), shape: [-1, ...tensor.shape.slice(1)] },
    })),
  );
}

function schemaJson(features: Named, targets: Named | undefined): string {
  return pythonJson({
    mlflow_tensorspec: {
      features: tensorSpecJson(features),
      targets: targets ? tensorSpecJson(targets) : null,
    },
  });
}

const BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, complex64: 8 };

/** NumpyDataset's profile (`features_shape`, `_size`, `_nbytes`, the same for targets) plus `num_rows`. */
function tensorProfile(features: Named, targets: Named | undefined): Record<string, unknown> {
  const profile: Record<string, unknown> = { num_rows: features[0]?.[1].shape[0] ?? 0 };
  const describe = (prefix: string, named: Named): void => {
    const pick = (get: (tensor: TensorLike) => unknown): unknown =>
      named.length === 1 && named[0]![0] === ''
        ? get(named[0]![1])
        : Object.fromEntries(named.map(([name, tensor]) => [name, get(tensor)]));
    profile[`${prefix}_shape`] = pick((tensor) => [...tensor.shape]);
    profile[`${prefix}_size`] = pick((tensor) => tensor.size);
    const nbytes = pick((tensor) => (BYTES[tensor.dtype] ? tensor.size * BYTES[tensor.dtype]! : undefined));
    if (nbytes !== undefined) profile[`${prefix}_nbytes`] = nbytes;
  };
  describe('features', features);
  if (targets) describe('targets', targets);
  return profile;
}

/** Digest inputs sorted by name, as MLflow hashes the arrays of a dict. */
function sortedByName(named: Named): Named {
  return named.length > 1 ? [...named].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)) : named;
}

/** Starts the reads of features and targets, in MLflow's digest order; resolves to their values. */
function readAll(
  features: Named,
  targets: Named | undefined,
  backend: BackendLike | undefined,
): Promise<[HashableArray[], HashableArray[]]> {
  const read = (named: Named | undefined) =>
    Promise.all(sortedByName(named ?? []).map(([, tensor]) => readStart(tensor, backend)));
  return Promise.all([read(features), read(targets)]);
}

function datasetInput(
  context: 'train' | 'eval',
  digest: string,
  schema: string,
  profile: Record<string, unknown>,
): DatasetInput {
  return {
    dataset: {
      name: 'dataset',
      digest,
      sourceType: 'code',
      source: pythonJson({ tags: defaultRunTags() }),
      schema,
      profile: pythonJson(profile),
    },
    tags: { [DATASET_CONTEXT_TAG]: context },
  };
}

/** The dataset input of tensors given to `fit` (features and targets); `undefined` when they are not tensors. */
function tensorsInput(
  context: 'train' | 'eval',
  x: unknown,
  y: unknown,
  names: DataNames,
): Promise<DatasetInput> | undefined {
  const features = namedTensors(x, names.inputs);
  if (!features) return undefined;
  const targets = y === undefined ? undefined : namedTensors(y, names.outputs);
  // Everything that touches the tensors happens now, before fit may dispose them.
  const schema = schemaJson(features, targets);
  const profile = tensorProfile(features, targets);
  return readAll(features, targets, names.backend).then(([featureArrays, targetArrays]) =>
    datasetInput(context, computeTensorDigest(featureArrays, targetArrays), schema, profile),
  );
}

/** `{xs, ys}` or `[xs, ys]`, the elements `fitDataset` takes. */
function elementParts(element: unknown): { xs: unknown; ys: unknown } | undefined {
  if (Array.isArray(element) && element.length >= 1) return { xs: element[0], ys: element[1] };
  if (typeof element === 'object' && element !== null && 'xs' in element)
    return { xs: (element as { xs: unknown }).xs, ys: (element as { ys?: unknown }).ys };
  return undefined;
}

const TAPPED = Symbol.for('@mlflow-kit/tfjs/tapped-iterator');
type IteratorFn = DatasetLike['iterator'] & { [TAPPED]?: DatasetLike['iterator'] };

interface DatasetTap {
  /** Resolves to the dataset input once the first pass ended, or {@link DatasetTap.finish} was called. */
  input: Promise<DatasetInput | undefined>;
  /** Ends the tap: logs what was seen, and puts the dataset's own `iterator` back. */
  finish(): void;
}

/**
 * Watches the elements a `tf.data.Dataset` gives while it is trained on, without iterating it a second time:
 * its `iterator()` is wrapped until the end of training. The first element gives the schema and the digest
 * (MLflow's numpy digest of that batch, plus the dataset's size when known); the first complete pass gives
 * `num_batches` and `num_rows`.
 */
function tapDataset(dataset: DatasetLike, context: 'train' | 'eval', names: DataNames): DatasetTap {
  const target = dataset as { iterator: IteratorFn };
  const own = Object.getOwnPropertyDescriptor(dataset, 'iterator');
  const original: DatasetLike['iterator'] = target.iterator[TAPPED] ?? target.iterator;
  let first:
    | Promise<{ digestParts: HashableArray[][]; schema: string; shapes: Record<string, unknown> }>
    | undefined;
  let counts: { batches: number; rows: number } | undefined;
  let settle: () => void = () => {};
  const ended = new Promise<void>((resolve) => {
    settle = resolve;
  });
  let finished = false;
  const restore = (): void => {
    if (target.iterator !== wrapper) return;
    if (own) Object.defineProperty(dataset, 'iterator', own);
    else delete (dataset as { iterator?: unknown }).iterator;
  };
  const wrapper: IteratorFn = async function (this: unknown) {
    const inner = await original.call(this ?? dataset);
    let batches = 0;
    let rows = 0;
    const wrapped = Object.create(inner) as typeof inner;
    wrapped.next = async () => {
      const result = await inner.next();
      if (finished) return result;
      if (!result.done && result.value != null) {
        const parts = elementParts(result.value);
        const features = parts && namedTensors(parts.xs, names.inputs);
        if (features) {
          if (!first) {
            const targets = parts.ys === undefined ? undefined : namedTensors(parts.ys, names.outputs);
            const schema = schemaJson(features, targets);
            const shapes = tensorProfile(features, targets);
            first = readAll(features, targets, names.backend).then((arrays) => ({
              digestParts: arrays,
              schema,
              shapes,
            }));
          }
          batches++;
          rows += features[0]![1].shape[0] ?? 0;
        }
      }
      if (result.done && batches > 0 && !counts) {
        counts = { batches, rows };
        settle();
      }
      return result;
    };
    return wrapped;
  };
  wrapper[TAPPED] = original;
  target.iterator = wrapper;
  const input = ended.then(async () => {
    restore();
    if (!first) return undefined;
    const seen = await first;
    const size =
      typeof dataset.size === 'number' && Number.isFinite(dataset.size) && dataset.size >= 0
        ? dataset.size
        : undefined;
    const profile: Record<string, unknown> = {};
    if (counts) Object.assign(profile, { num_rows: counts.rows, num_batches: counts.batches });
    if (size !== undefined) profile.features_cardinality = size;
    for (const [key, value] of Object.entries(seen.shapes))
      if (key !== 'num_rows') profile[`batch_${key}`] = value;
    const [features, targets] = seen.digestParts;
    const digest = computeTensorDigest(features!, targets, size !== undefined ? [digestInt64(size)] : []);
    return datasetInput(context, digest, seen.schema, profile);
  });
  return {
    input,
    finish: () => {
      finished = true;
      settle();
    },
  };
}

/** Dataset logging of one `fit`/`fitDataset` call. */
export interface DatasetLogging {
  /** Resolves when the inputs are logged (or could not be); never rejects. */
  done: Promise<void>;
  /** Milliseconds spent synchronously at train begin (reading the shapes, starting the reads). */
  startMs: number;
  /** Ends the watching of `tf.data.Dataset`s (at train end): logs what was seen. */
  finish(): void;
}

function report(error: unknown): void {
  diag.once(
    '@mlflow-kit/tfjs:datasets',
    'warn',
    `mlflowCallback could not log the datasets; training goes on without them: ${error instanceof Error ? error.message : String(error)}`,
  );
}

/**
 * Logs the training data (`{ x, y }` of `fit`, or the dataset of `fitDataset`) as the `train` dataset and
 * `validationData` (tensors, or a dataset) as the `eval` dataset of the run.
 */
export function logDatasets(
  run: Run,
  training: TrainingDataLike | undefined,
  validationData: unknown,
  names: DataNames,
): DatasetLogging {
  const started = performance.now();
  const taps: DatasetTap[] = [];
  const inputs: Promise<DatasetInput | undefined>[] = [];
  const add = (context: 'train' | 'eval', data: unknown, targets?: unknown): void => {
    if (data === undefined || data === null) return;
    if (isDataset(data)) {
      const tap = tapDataset(data, context, names);
      taps.push(tap);
      inputs.push(tap.input);
      return;
    }
    const input = tensorsInput(context, data, targets, names);
    if (input) inputs.push(input);
  };
  try {
    if (training && isDataset(training)) add('train', training);
    else if (training) add('train', training.x, training.y);
    if (Array.isArray(validationData)) add('eval', validationData[0], validationData[1]);
    else add('eval', validationData);
  } catch (error) {
    report(error);
  }
  const startMs = performance.now() - started;
  // Each dataset is logged as soon as it is known (tensors at once, a tf.data.Dataset after its first pass).
  const done = Promise.all(
    inputs.map((input) =>
      input
        .then((value) => (value ? run.logInputs([value]) : undefined))
        .catch((error: unknown) => report(error)),
    ),
  ).then(() => undefined);
  return {
    done,
    startMs,
    finish: () => {
      for (const tap of taps) tap.finish();
    },
  };
}
