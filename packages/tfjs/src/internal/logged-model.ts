import {
  diag,
  type LoggedModel,
  type LoggedModelStore,
  type Metric,
  MlflowApiError,
  type Run,
  type TrackingStore,
} from '@mlflow-kit/core';
import {
  LOGGED_MODEL_METRICS_PER_CALL as METRICS_PER_CALL,
  LOGGED_MODEL_PARAMS_PER_CALL as PARAMS_PER_CALL,
} from '@mlflow-kit/core/internal';

/** The final metrics a logged model carries: values at one step, with the time they were logged. */
export interface ModelMetrics {
  values: Record<string, number>;
  step: number;
  /** Unix epoch milliseconds; the same as the run's own points, so a SQL store keeps one copy. */
  timestamp?: number;
}

/** A logged-model name from an artifact path: MLflow refuses `/ : . % " '` in names. */
export function loggedModelName(path: string): string {
  return path.replace(/[/:.%"']/g, '_');
}

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let index = 0; index < items.length; index += size) out.push(items.slice(index, index + size));
  return out;
}

/**
 * Whether a failed `POST /logged-models` means "this server has no logged models" (a server before MLflow 3
 * answers 404) or "the server is not reachable now": in both cases the model goes to the run's artifacts.
 */
function fallsBack(error: unknown): boolean {
  return MlflowApiError.isInstance(error) && (error.status === 404 || error.status === 0 || error.retryable);
}

/** The run's latest point of each metric, read back from the server. */
async function latestPoints(store: TrackingStore, runId: string, keys: string[]): Promise<Metric[]> {
  const points = await Promise.all(
    keys.map(async (key) => {
      let best: Metric | undefined;
      let pageToken: string | undefined;
      do {
        const page = await store.getMetricHistory(runId, key, {
          maxResults: 25_000,
          ...(pageToken ? { pageToken } : {}),
        });
        for (const point of page.items) {
          if (
            !best ||
            point.step > best.step ||
            (point.step === best.step && point.timestamp >= best.timestamp)
          )
            best = point;
        }
        pageToken = page.nextPageToken;
      } while (pageToken);
      return best;
    }),
  );
  return points.filter((point): point is Metric => point !== undefined);
}

/**
 * The run's tags that say where it was logged from (`mlflow.user`, `mlflow.source.*`): Python's `Model.log`
 * gives them to the logged model (`context_registry.resolve_tags()`), and the UI's "Logged from" shows them.
 */
function sourceTags(tags: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(tags).filter(([key]) => key === 'mlflow.user' || key.startsWith('mlflow.source.')),
  );
}

/**
 * Creates an MLflow 3 logged model for a run, as Python's `Model.log` does: the run's params and source tags
 * become the model's, the run records it as an output, and the final metrics are linked to it by `model_id`.
 * Resolves to `undefined` when the store has no logged models (a server before MLflow 3) or the server cannot
 * be reached: the caller then logs the model as run artifacts.
 */
export async function createRunLoggedModel(
  run: Run,
  store: TrackingStore,
  name: string,
  metrics: ModelMetrics | undefined,
): Promise<{ models: LoggedModelStore; model: LoggedModel } | undefined> {
  const models = store.loggedModels;
  if (!models) return undefined;
  await run.flush();
  let params: Record<string, string> = {};
  let latest: Record<string, number> = {};
  let tags: Record<string, string> = {};
  try {
    const record = await store.getRun(run.runId);
    params = record.data.params;
    latest = record.data.metrics;
    tags = sourceTags(record.data.tags);
  } catch (error) {
    if (!fallsBack(error)) throw error;
    diag.warn(
      `Could not read run ${run.runId} from ${store.trackingUri}; the model goes to the run's artifacts.`,
    );
    return undefined;
  }
  const [first = [], ...rest] = chunks(Object.entries(params), PARAMS_PER_CALL);
  let model: LoggedModel;
  try {
    model = await models.createLoggedModel({
      experimentId: run.experimentId,
      name,
      sourceRunId: run.runId,
      modelType: 'tfjs',
      params: Object.fromEntries(first),
      tags,
    });
  } catch (error) {
    if (!fallsBack(error)) throw error;
    diag.info(
      `${store.trackingUri} keeps no MLflow 3 logged models (${error instanceof Error ? error.message : String(error)}); the model goes to the run's artifacts.`,
    );
    return undefined;
  }
  for (const part of rest) await models.logLoggedModelParams(model.modelId, Object.fromEntries(part));
  const step = metrics?.step ?? 0;
  await models.logOutputs(run.runId, [{ modelId: model.modelId, step }]);
  const points: Metric[] = metrics
    ? Object.entries(metrics.values).map(([key, value]) => ({
        key,
        value,
        step,
        timestamp: metrics.timestamp ?? Date.now(),
      }))
    : await latestPoints(store, run.runId, Object.keys(latest));
  for (const part of chunks(points, METRICS_PER_CALL))
    await models.logLoggedModelMetrics(run.runId, model.modelId, part);
  return { models, model };
}

/**
 * Uploads a model's files to its logged model's artifact root, `MLmodel` last, and finalizes the model
 * `LOGGED_MODEL_READY`, or `LOGGED_MODEL_UPLOAD_FAILED` when an upload fails (then the error is rethrown).
 */
export async function uploadLoggedModel(
  store: TrackingStore,
  models: LoggedModelStore,
  model: LoggedModel,
  files: [string, Uint8Array][],
  mlmodel: Uint8Array,
): Promise<LoggedModel> {
  try {
    await Promise.all(files.map(([name, bytes]) => store.uploadArtifact(model.artifactUri, name, { bytes })));
    await store.uploadArtifact(model.artifactUri, 'MLmodel', { bytes: mlmodel });
  } catch (error) {
    await models.finalizeLoggedModel(model.modelId, 'LOGGED_MODEL_UPLOAD_FAILED').catch((cause: unknown) => {
      diag.warn(
        `Could not mark logged model ${model.modelId} UPLOAD_FAILED: ${cause instanceof Error ? cause.message : String(cause)}`,
      );
    });
    throw error;
  }
  return models.finalizeLoggedModel(model.modelId, 'LOGGED_MODEL_READY');
}
