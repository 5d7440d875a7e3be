export { type AutologOptions, type AutologTfModule, autolog, ERROR_TAG } from './autolog.js';
export {
  isMlflowCallback,
  type LogEvery,
  MlflowCallback,
  type MlflowCallbackOptions,
  mlflowCallback,
  type TfjsCallback,
  type TfjsModuleInfo,
} from './callback.js';
export {
  createScoringServer,
  type ScoringServer,
  type ScoringServerOptions,
} from './create-scoring-server.js';
export type { DatasetLike, TensorLike, TrainingDataLike } from './internal/datasets.js';
export type { ModelMetrics } from './internal/logged-model.js';
export type { MetricNames } from './internal/logs.js';
export type { ScoringInputSpec } from './internal/scoring-input.js';
export type { ServingModelLike, ServingTensorLike, ServingTfLike } from './internal/serving-types.js';
export {
  type LoadModelOptions,
  loadModel,
  type ResolvedModelLocation,
  resolveModelUri,
} from './load-model.js';
export { type LogModelOptions, logModel, type ModelInfo } from './log-model.js';
