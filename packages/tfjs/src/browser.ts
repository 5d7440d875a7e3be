/**
 * `@mlflow-kit/tfjs` in a web page (the `browser` export condition): `mlflowCallback`, `autolog` and
 * `logModel` on `@mlflow-kit/core`'s browser entry. Pass `{ tf }` (a page cannot look TensorFlow.js up) and
 * the tracking options (`enabled: true`, `trackingUri`). Node-only parts (`loadModel`, `createScoringServer`)
 * are not here.
 *
 * @packageDocumentation
 */

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
export type { DatasetLike, TensorLike, TrainingDataLike } from './internal/datasets.js';
export type { ModelMetrics } from './internal/logged-model.js';
export type { MetricNames } from './internal/logs.js';
export { type LogModelOptions, logModel, type ModelInfo } from './log-model.js';
