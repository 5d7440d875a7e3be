/** Most params per logged-model call, as MLflow's client sends them (`_MLFLOW_CREATE_LOGGED_MODEL_PARAMS_BATCH_SIZE`). */
export const LOGGED_MODEL_PARAMS_PER_CALL = 100;

/** Most metric points per `log-batch` call that links them to a logged model (MLflow's log-batch limit). */
export const LOGGED_MODEL_METRICS_PER_CALL = 1000;
