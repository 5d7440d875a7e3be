import { diag, getActiveRun, type Run, resolveEnabled, startRun } from '@mlflow-kit/core';
import { globalPart } from '@mlflow-kit/core/internal';
import {
  ERROR_TAG,
  errorTagValue,
  isMlflowCallback,
  type MlflowCallbackOptions,
  mlflowCallback,
  type TfjsModuleInfo,
} from './callback.js';
import type { TrainingDataLike } from './internal/datasets.js';
import { callbackList } from './internal/params.js';
import type { FitArgsLike, LayersModelLike } from './internal/tfjs-types.js';

/** The parts of the `tf` module {@link autolog} patches and reads. */
export interface AutologTfModule extends TfjsModuleInfo {
  /** `tf.LayersModel`: its `fit` and `fitDataset` are patched. */
  LayersModel: { prototype: object };
  /** `tf.Sequential`: patched too, so a `Sequential` is logged as itself rather than as its inner model. */
  Sequential?: { prototype: object };
}

/** Options of {@link autolog}: the `tf` module, and what every patched `fit` passes to {@link mlflowCallback}. */
export interface AutologOptions
  extends Omit<MlflowCallbackOptions, 'run' | 'callbacks' | 'fitArgs' | 'model' | 'tf' | 'fitKind'> {
  /** The `tf` module whose `LayersModel` is patched: `@tensorflow/tfjs`, `@tensorflow/tfjs-node`, ... */
  tf: AutologTfModule;
}

type FitMethod = (this: unknown, ...args: unknown[]) => Promise<unknown>;
const METHODS = ['fit', 'fitDataset'] as const;

export { ERROR_TAG };

/** The undo function of the patch in place, shared by every copy of the package. */
function patchState(): { undo: (() => void) | undefined } {
  return globalPart('tfjs.autolog', () => ({ undo: undefined as (() => void) | undefined }));
}

/**
 * Ends a run autolog started. The patched `fit` is the user's training call: a run deleted on the server
 * meanwhile (its data is kept in the spool) is reported through `diag`, never thrown into training.
 */
async function endReported(run: Run, status: 'FINISHED' | 'FAILED'): Promise<void> {
  try {
    await run.end({ status });
  } catch (error) {
    diag.once(
      '@mlflow-kit/tfjs:autolog-end',
      'error',
      `autolog could not end run ${run.runId} ${status}: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

function hasMlflowCallback(callbacks: unknown): boolean {
  return callbackList(callbacks).some(isMlflowCallback);
}

/**
 * Turns on MLflow autologging for TensorFlow.js: patches `fit` and `fitDataset` of `tf.LayersModel` (and
 * `tf.Sequential`) so that every training run is logged by {@link mlflowCallback}, with no other change to the
 * training code. When no run is active, each call gets its own run (tagged `mlflow.autologging=tfjs`), ended
 * FINISHED — or FAILED when training throws, with the error in the `mlflow-kit.error` tag. Your callbacks
 * keep working: they run inside the MLflow callback.
 *
 * With tracking off (the default; `enabled` or `MLFLOW_KIT_ENABLED`) it patches nothing at all. Calling it
 * again replaces the previous patch. Returns a function that undoes the patch. Invalid options (such as
 * `logEvery: 0`) throw an `MlflowConfigError` at once, tracking on or off, and leave any previous patch in place.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-node';
 * import { autolog } from '@mlflow-kit/tfjs';
 *
 * const disable = autolog({ tf, experimentName: 'iris' }); // MLFLOW_KIT_ENABLED=1 turns tracking on
 * await model.fit(xs, ys, { epochs: 50, validationSplit: 0.2 });
 * disable();
 * ```
 */
export function autolog(options: AutologOptions): () => void {
  const { tf, ...callbackOptions } = options;
  // Invalid options (such as `logEvery: 0`) throw here, before anything is patched or any run started.
  mlflowCallback({ ...callbackOptions, tf });
  if (!resolveEnabled(options).enabled) return () => {};
  patchState().undo?.();
  const prototypes = [tf.LayersModel.prototype, tf.Sequential?.prototype].filter(
    (prototype, index, all): prototype is object =>
      prototype !== undefined && all.indexOf(prototype) === index,
  );
  // Set while a patched call starts the original: Sequential.fit calls its inner model's fit synchronously,
  // and that inner call must not be logged a second time.
  let inside = false;
  const restore: (() => void)[] = [];

  const patch = (original: FitMethod, kind: 'fit' | 'fitDataset'): FitMethod => {
    const argIndex = kind === 'fit' ? 2 : 1;
    return function patched(this: unknown, ...args: unknown[]): Promise<unknown> {
      const fitArgs = (args[argIndex] ?? {}) as FitArgsLike;
      if (inside || hasMlflowCallback(fitArgs.callbacks)) return original.apply(this, args);
      return train(this, args, fitArgs);
    };

    async function train(model: unknown, args: unknown[], fitArgs: FitArgsLike): Promise<unknown> {
      let run: Run | undefined = getActiveRun();
      let ownsRun = false;
      if (!run) {
        try {
          run = await startRun({
            ...callbackOptions,
            tags: { 'mlflow.autologging': 'tfjs', ...callbackOptions.tags },
          });
          ownsRun = true;
        } catch (error) {
          diag.once(
            '@mlflow-kit/tfjs:autolog-start',
            'warn',
            `autolog could not start a run; training goes on unlogged: ${String(error)}`,
          );
          return original.apply(model, args);
        }
      }
      let history: unknown;
      let callback: ReturnType<typeof mlflowCallback> | undefined;
      // Anything that throws from here on, before or during training, ends a run autolog started FAILED.
      try {
        callback = mlflowCallback({
          ...callbackOptions,
          run,
          tf,
          model: model as LayersModelLike,
          fitArgs,
          fitKind: kind,
          trainingData: (kind === 'fit' ? { x: args[0], y: args[1] } : args[0]) as TrainingDataLike,
          ...(fitArgs.callbacks !== undefined
            ? { callbacks: fitArgs.callbacks as NonNullable<MlflowCallbackOptions['callbacks']> }
            : {}),
        });
        const patchedArgs = [...args];
        patchedArgs[argIndex] = { ...fitArgs, callbacks: callback };
        let training: Promise<unknown>;
        inside = true;
        try {
          training = original.apply(model, patchedArgs);
        } finally {
          inside = false;
        }
        history = await training;
      } catch (error) {
        callback?.stopWatchingDatasets();
        if (ownsRun) {
          try {
            run.setTag(ERROR_TAG, errorTagValue(error));
          } catch {
            // The run still ends FAILED below.
          }
          await endReported(run, 'FAILED');
        }
        throw error;
      }
      if (ownsRun) await endReported(run, 'FINISHED');
      return history;
    }
  };

  for (const prototype of prototypes) {
    const target = prototype as Record<string, unknown>;
    for (const method of METHODS) {
      if (!Object.hasOwn(target, method) || typeof target[method] !== 'function') continue;
      const original = target[method] as FitMethod;
      const replacement = patch(original, method);
      target[method] = replacement;
      restore.push(() => {
        if (target[method] === replacement) target[method] = original;
      });
    }
  }
  const undo = (): void => {
    for (const step of restore.splice(0)) step();
    if (patchState().undo === undo) patchState().undo = undefined;
  };
  patchState().undo = undo;
  return undo;
}
