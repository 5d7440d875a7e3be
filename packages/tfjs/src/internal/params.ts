import type { ParamValue } from '@mlflow-kit/core';
import type {
  CallbackParamsLike,
  EarlyStoppingLike,
  FitArgsLike,
  LayersModelLike,
  OptimizerLike,
} from './tfjs-types.js';

/** `learningRate` → `learning_rate`, `beta1` → `beta_1`: Keras' spelling of tfjs' camelCase config keys. */
export function toSnakeCase(key: string): string {
  return key
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Za-z])(\d)/g, '$1_$2')
    .toLowerCase();
}

/** The optimizer's class name (`Adam`, `SGD`, ...). */
export function optimizerName(optimizer: OptimizerLike): string {
  if (typeof optimizer.getClassName === 'function') return optimizer.getClassName();
  return optimizer.constructor?.className ?? optimizer.constructor?.name ?? 'unknown';
}

/** `opt_name` and `opt_<key>` for every key of the optimizer's config, as MLflow's TensorFlow autolog logs them. */
export function optimizerParams(optimizer: OptimizerLike | undefined): Record<string, ParamValue> {
  if (!optimizer) return {};
  const params: Record<string, ParamValue> = { opt_name: optimizerName(optimizer) };
  const config = typeof optimizer.getConfig === 'function' ? optimizer.getConfig() : {};
  for (const [key, value] of Object.entries(config)) params[`opt_${toSnakeCase(key)}`] = value as ParamValue;
  return params;
}

function describeLossOrMetric(value: unknown): unknown {
  if (typeof value === 'string') return value;
  if (typeof value === 'function') return value.name || 'custom';
  if (Array.isArray(value)) return value.map(describeLossOrMetric);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(
      Object.entries(value).map(([key, inner]) => [key, describeLossOrMetric(inner)]),
    );
  }
  return value;
}

function asParam(value: unknown): ParamValue {
  const described = describeLossOrMetric(value);
  if (Array.isArray(described))
    return described.every((entry) => typeof entry === 'string') ? described.join(',') : described;
  return described as ParamValue;
}

function trainableParamCount(model: LayersModelLike): number | undefined {
  if (!model.trainableWeights) return undefined;
  let total = 0;
  for (const weight of model.trainableWeights)
    total += weight.shape.reduce<number>((product, dim) => product * (dim ?? 1), 1);
  return total;
}

/** Params describing the compiled model: loss, metrics, layer and parameter counts. */
export function modelParams(model: LayersModelLike): Record<string, ParamValue> {
  const params: Record<string, ParamValue> = {};
  if (model.loss !== undefined) params.loss_function = asParam(model.loss);
  const metrics = model.metrics ?? model.metricsNames?.filter((name) => name !== 'loss');
  if (metrics !== undefined) params.compiled_metrics = asParam(metrics);
  params.num_layers = model.layers.length;
  params.total_params = model.countParams();
  const trainable = trainableParamCount(model);
  if (trainable !== undefined) params.trainable_params = trainable;
  return params;
}

/**
 * Params of one `fit`/`fitDataset` call, named as MLflow's Keras autolog names them. `fitArgs` are the
 * arguments of the call when known (autolog, or the `fitArgs` option); `params` is what tfjs tells callbacks.
 */
export function trainingParams(
  kind: 'fit' | 'fitDataset' | undefined,
  fitArgs: FitArgsLike | undefined,
  params: CallbackParamsLike | undefined,
): Record<string, ParamValue> {
  const result: Record<string, ParamValue> = {};
  result.epochs = fitArgs?.epochs ?? params?.epochs ?? 1;
  const batchSize = fitArgs?.batchSize ?? params?.batchSize ?? undefined;
  if (batchSize !== undefined && batchSize !== null) result.batch_size = batchSize;
  else if (kind !== 'fitDataset') result.batch_size = 32;
  result.initial_epoch = fitArgs?.initialEpoch ?? params?.initialEpoch ?? 0;
  result.steps_per_epoch = fitArgs?.batchesPerEpoch ?? fitArgs?.stepsPerEpoch ?? params?.steps ?? null;
  if (fitArgs) {
    if (kind !== 'fitDataset') {
      result.validation_split = fitArgs.validationSplit ?? 0;
      result.shuffle = fitArgs.shuffle ?? true;
    }
    result.validation_data = fitArgs.validationData !== undefined && fitArgs.validationData !== null;
    const validationSteps = fitArgs.validationBatches ?? fitArgs.validationSteps;
    if (validationSteps !== undefined) result.validation_steps = validationSteps;
    if (fitArgs.validationBatchSize !== undefined) result.validation_batch_size = fitArgs.validationBatchSize;
    result.class_weight = (fitArgs.classWeight ?? null) as ParamValue;
  } else if (params?.doValidation !== undefined && params.doValidation !== null) {
    result.do_validation = params.doValidation;
  }
  return result;
}

/** Whether a callback is tfjs' `EarlyStopping` (checked by shape, so any copy of tfjs matches). */
export function isEarlyStopping(
  callback: unknown,
  earlyStoppingClass?: unknown,
): callback is EarlyStoppingLike {
  if (typeof callback !== 'object' || callback === null) return false;
  if (typeof earlyStoppingClass === 'function' && callback instanceof earlyStoppingClass) return true;
  const candidate = callback as Partial<EarlyStoppingLike> & { monitorFunc?: unknown };
  return (
    typeof candidate.monitor === 'string' &&
    typeof candidate.patience === 'number' &&
    typeof candidate.monitorFunc === 'function'
  );
}

/** The early-stopping settings MLflow's TensorFlow autolog logs, plus `mode` (ours). */
export function earlyStoppingParams(callback: EarlyStoppingLike): Record<string, ParamValue> {
  return {
    monitor: callback.monitor,
    min_delta: Math.abs(callback.minDelta),
    patience: callback.patience,
    baseline: callback.baseline ?? null,
    // tfjs does not implement restoring the best weights; logged so the param set matches Keras'.
    restore_best_weights: false,
    mode: callback.mode ?? 'auto',
  };
}

/** Every element of a `callbacks` argument as a list. */
export function callbackList(callbacks: unknown): unknown[] {
  if (callbacks === undefined || callbacks === null) return [];
  return Array.isArray(callbacks) ? callbacks : [callbacks];
}
