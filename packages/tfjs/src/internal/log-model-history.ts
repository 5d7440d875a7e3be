import type { Run } from '@mlflow-kit/core';

/** The run tag MLflow's UI reads a run's models from when the run has no MLflow 3 logged models. */
export const LOG_MODEL_HISTORY_TAG = 'mlflow.log-model.history';

/** MLflow 2's limit on a tag value (MLflow 3 allows 8000): the history keeps its newest entries within it. */
const MAX_TAG_LENGTH = 5000;

const histories = new WeakMap<Run, Record<string, unknown>[]>();

/**
 * Records a model logged as run artifacts in the run tag `mlflow.log-model.history`, as MLflow 2's `Model.log`
 * does through `POST /runs/log-model` (the server appends to that tag). MLflow's UI lists a run's models from
 * it in the run page's "Logged models" row (MLflow 3, for a run without logged models) and in the artifact
 * browser's "Register model" (MLflow 2). The tag goes through the run, so it takes the run's queue and spool
 * like the model's files. One entry per artifact path, the newest kept; the oldest are dropped when the list
 * would pass 5000 characters.
 */
export function recordModelHistory(run: Run, entry: Record<string, unknown>): void {
  const history = (histories.get(run) ?? []).filter(
    (previous) => previous.artifact_path !== entry.artifact_path,
  );
  history.push(entry);
  while (history.length > 1 && JSON.stringify(history).length > MAX_TAG_LENGTH) history.shift();
  histories.set(run, history);
  run.setTag(LOG_MODEL_HISTORY_TAG, JSON.stringify(history));
}
