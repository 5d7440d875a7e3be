/**
 * The parts of TensorFlow.js the scoring server touches, typed structurally so that `@tensorflow/tfjs` and
 * `@tensorflow/tfjs-node` both fit and nothing here imports tfjs at run time.
 */
import type { SymbolicTensorLike } from './tfjs-types.js';

/** A tensor as the scoring server reads predictions from it. */
export interface ServingTensorLike {
  shape: number[];
  dtype: string;
  data(): Promise<ArrayLike<number>>;
  dispose(): void;
}

/** A model the scoring server can predict with: a tfjs `LayersModel`. */
export interface ServingModelLike {
  inputs: SymbolicTensorLike[];
  outputs: SymbolicTensorLike[];
  inputNames?: string[];
  outputNames?: string[];
  predict(x: never, config?: never): unknown;
  dispose?(): unknown;
}

/** The `tf` module as the scoring server uses it. */
export interface ServingTfLike {
  tensor(values: Float32Array | Int32Array, shape: number[], dtype?: never): unknown;
  loadLayersModel(handler: never, ...rest: never[]): Promise<ServingModelLike>;
  getBackend(): string;
  setBackend?(name: string): Promise<boolean>;
  ready?(): Promise<void>;
  version?: Record<string, string>;
}
