/**
 * The parts of TensorFlow.js this package touches, typed structurally so that `@tensorflow/tfjs` and
 * `@tensorflow/tfjs-node` (or two copies of either) both fit, and so nothing here imports tfjs at run time.
 */

/** A tfjs scalar as it may appear in training logs, or a plain number. */
export type LogValue = number | { data(): Promise<ArrayLike<number>>; dispose?(): void };

/** What tfjs passes to callbacks as `logs`. */
export type LogsLike = Record<string, LogValue | undefined>;

/** What tfjs passes to `setParams` of every callback at the start of `fit`/`fitDataset`. */
export interface CallbackParamsLike {
  epochs?: number | null;
  initialEpoch?: number | null;
  samples?: number | null;
  steps?: number | null;
  batchSize?: number | null;
  verbose?: number | null;
  doValidation?: boolean | null;
  metrics?: string[] | null;
}

/** A symbolic tensor of a model's inputs or outputs. */
export interface SymbolicTensorLike {
  name?: string;
  dtype?: string;
  shape: (number | null)[];
}

/** An optimizer: `getClassName()` and `getConfig()` are what Keras' `get_config()` is. */
export interface OptimizerLike {
  getClassName?(): string;
  getConfig?(): Record<string, unknown>;
  constructor?: { className?: string; name?: string };
}

/** The weights file description tfjs writes into `model.json`. */
export interface WeightSpecLike {
  name: string;
  shape: number[];
  dtype: string;
  [key: string]: unknown;
}

/** What a tfjs `IOHandler.save` receives, and `load` returns. */
export interface ModelArtifactsLike {
  modelTopology?: unknown;
  weightSpecs?: WeightSpecLike[];
  weightData?: ArrayBuffer | ArrayBuffer[];
  format?: string;
  generatedBy?: string;
  convertedBy?: string | null;
  trainingConfig?: unknown;
  userDefinedMetadata?: Record<string, unknown>;
  signature?: unknown;
  modelInitializer?: unknown;
  initializerSignature?: unknown;
}

/** A tfjs `IOHandler` that only saves. */
export interface SaveHandlerLike {
  save(artifacts: ModelArtifactsLike): Promise<{ modelArtifactsInfo: Record<string, unknown> }>;
}

/** A tfjs `IOHandler` that only loads. */
export interface LoadHandlerLike {
  load(): Promise<ModelArtifactsLike>;
}

/** The parts of a `tf.LayersModel` (or `tf.Sequential`) this package reads. */
export interface LayersModelLike {
  name?: string;
  layers: unknown[];
  inputs: SymbolicTensorLike[];
  outputs: SymbolicTensorLike[];
  optimizer?: OptimizerLike | undefined;
  loss?: unknown;
  metrics?: unknown;
  metricsNames?: string[];
  trainableWeights?: { shape: (number | null)[] }[];
  stopTraining?: boolean;
  countParams(): number;
  summary(
    lineLength?: number,
    positions?: number[],
    printFn?: (message?: unknown, ...rest: unknown[]) => void,
  ): void;
  save(handler: SaveHandlerLike, config?: unknown): Promise<unknown>;
  getClassName?(): string;
}

/** A tfjs callback object (`tf.Callback` and its subclasses, such as `tf.callbacks.earlyStopping`). */
export interface BaseCallbackLike {
  setModel(model: unknown): void;
  setParams(params: CallbackParamsLike): void;
  onTrainBegin?(logs?: LogsLike): unknown;
  onTrainEnd?(logs?: LogsLike): unknown;
  onEpochBegin?(epoch: number, logs?: LogsLike): unknown;
  onEpochEnd?(epoch: number, logs?: LogsLike): unknown;
  onBatchBegin?(batch: number, logs?: LogsLike): unknown;
  onBatchEnd?(batch: number, logs?: LogsLike): unknown;
}

/** tfjs's `CustomCallbackArgs`: an object of hook functions. */
export interface CustomCallbackArgsLike {
  onTrainBegin?: (logs?: LogsLike) => unknown;
  onTrainEnd?: (logs?: LogsLike) => unknown;
  onEpochBegin?: (epoch: number, logs?: LogsLike) => unknown;
  onEpochEnd?: (epoch: number, logs?: LogsLike) => unknown;
  onBatchBegin?: (batch: number, logs?: LogsLike) => unknown;
  onBatchEnd?: (batch: number, logs?: LogsLike) => unknown;
  onYield?: (epoch: number, batch: number, logs: LogsLike) => unknown;
}

/** tfjs's `EarlyStopping` callback, as far as its settings go. */
export interface EarlyStoppingLike {
  monitor: string;
  minDelta: number;
  patience: number;
  mode?: string;
  baseline?: number | undefined;
  stoppedEpoch?: number;
}

/** The arguments of `model.fit` and `model.fitDataset` that become params. */
export interface FitArgsLike {
  epochs?: number;
  batchSize?: number;
  initialEpoch?: number;
  stepsPerEpoch?: number;
  batchesPerEpoch?: number;
  validationSplit?: number;
  validationData?: unknown;
  validationSteps?: number;
  validationBatches?: number;
  validationBatchSize?: number;
  shuffle?: boolean | string;
  classWeight?: unknown;
  callbacks?: unknown;
  verbose?: number;
  yieldEvery?: unknown;
  [key: string]: unknown;
}
