import type { Run, StartRunOptions } from '@mlflow-kit/core';
import type { TrainingDataLike } from './datasets.js';
import type { MetricNames } from './logs.js';
import type { TfjsInfoSource } from './tfjs-info.js';
import type { BaseCallbackLike, CustomCallbackArgsLike, FitArgsLike } from './tfjs-types.js';

/** How often metrics are logged: per epoch only, or per epoch and also every batch / every N batches. */
export type LogEvery = 'epoch' | 'batch' | number;

/** A callback tfjs accepts in `fit`/`fitDataset`: a `tf.Callback` (such as `tf.callbacks.earlyStopping()`) or a `CustomCallbackArgs` object. */
export type TfjsCallback = BaseCallbackLike | CustomCallbackArgsLike;

/** What the `tf` module offers the callback: version and backend for tags, the `EarlyStopping` class to recognise it. */
export interface TfjsModuleInfo extends TfjsInfoSource {
  /** `tf.Callback`: the callback extends it, so tfjs hands it the model. */
  Callback?: { prototype: object };
  /** `tf.EarlyStopping`, to recognise early stopping by class. */
  EarlyStopping?: unknown;
  /** `tf.LayersModel`, to tell whether the model being trained comes from this copy of tfjs. */
  LayersModel?: { prototype: object };
  /** `tf.CustomCallback`, to tell whether this copy of tfjs wrapped the callback as a plain object. */
  CustomCallback?: { prototype: object };
}

/** Options of {@link mlflowCallback}. The {@link StartRunOptions} apply when the callback has to start a run itself. */
export interface MlflowCallbackOptions extends StartRunOptions {
  /**
   * The run to log to. Without it, the callback logs to the active run at train begin, or starts a run (when
   * tracking is on) that it ends at train end.
   */
  run?: Run;
  /**
   * `'epoch'` logs every key tfjs reports at epoch end (step = epoch index). `'batch'` or a number `N` also logs
   * the batch logs every N batches as `batch_<key>` (step = global batch count, counted from 1).
   * @defaultValue `'epoch'`
   */
  logEvery?: LogEvery;
  /**
   * How metrics are named. `'tfjs'`: as tfjs reports them (`acc`, `val_acc`, `meanSquaredError`). `'keras'`: as
   * Keras (and so MLflow's Keras autolog) names them (`accuracy`, `val_accuracy`, `mean_squared_error`), so tfjs
   * and Keras runs share charts in the MLflow UI. See the package README for the mapping.
   * @defaultValue `'tfjs'`
   */
  metricNames?: MetricNames;
  /** Log the trained model at train end (see {@link logModel}). @defaultValue `true` */
  logModel?: boolean;
  /** Where the model goes in the run's artifacts. @defaultValue `'model'` */
  artifactPath?: string;
  /** Register the logged model under this name (needs a tracking server). */
  registeredModelName?: string;
  /** Log the model summary as `model_summary.txt`. @defaultValue `true` */
  logModelSummary?: boolean;
  /**
   * Your other callbacks — a list, one `tf.Callback` or one `CustomCallbackArgs` object. They run inside this
   * callback, so tfjs' own callbacks and plain objects can be mixed, and a `tf.callbacks.earlyStopping()`
   * among them is logged.
   */
  callbacks?: TfjsCallback | TfjsCallback[];
  /**
   * The arguments given to `fit`/`fitDataset`. Callbacks only learn epochs, batch size and steps from tfjs;
   * pass the same object you pass to `fit` to also log `validation_split`, `shuffle`, `class_weight`, ...
   * (`autolog()` does this for you).
   */
  fitArgs?: FitArgsLike;
  /**
   * The model to log. tfjs hands callbacks the model being trained; for a `tf.Sequential` that is its inner
   * functional model, which predicts the same but is saved as a `Model`. Pass the `Sequential` to log it as is.
   */
  model?: unknown;
  /**
   * The `tf` module your model is built with. The callback is a real `tf.Callback` of it, so it works in any
   * position of a `callbacks` list and tfjs hands it the model being trained.
   * @defaultValue the TensorFlow.js already loaded in the program (`@tensorflow/tfjs-node` preferred), else
   * `@tensorflow/tfjs-node` or `@tensorflow/tfjs` loaded from the working directory; when there is none,
   * `mlflowCallback` throws a `MlflowConfigError` at once. Pass it when the program loads several copies of tfjs.
   */
  tf?: TfjsModuleInfo;
  /** `'fit'` or `'fitDataset'`, when known (autolog passes it). Decides which fit params apply. */
  fitKind?: 'fit' | 'fitDataset';
  /**
   * Log the training and validation data as MLflow datasets (the run's "Datasets" in the UI), as Keras
   * autolog does: the training data as context `train`, `fitArgs.validationData` as `eval`. Each gets
   * MLflow's digest (the same as Python's for the same numbers), a tensor-spec schema and a profile.
   * @defaultValue `true`
   */
  logDatasets?: boolean;
  /**
   * What `fit` trains on, for the `train` dataset: `{ x, y }` as given to `fit(x, y)`, or the
   * `tf.data.Dataset` given to `fitDataset` (watched while training iterates it, never iterated twice).
   * `autolog()` passes it for you. Without it only `fitArgs.validationData` is logged.
   */
  trainingData?: TrainingDataLike;
}
