import { readdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MlflowApiError } from '../errors.js';
import type { LoggedModelStore } from '../store.js';
import type { LoggedModel } from '../types.js';
import { parseYaml } from './local-format.js';
import {
  LOGGED_MODEL_METRICS_PER_CALL as METRICS_PER_CALL,
  LOGGED_MODEL_PARAMS_PER_CALL as PARAMS_PER_CALL,
} from './logged-model-limits.js';
import {
  countArtifactUpload,
  listFilesRecursively,
  type ReplayContext,
  type RunPlan,
} from './replay-runs.js';

/** What was uploaded of one of the run's logged models. */
export interface LoggedModelState {
  remoteModelId: string;
  /** The run records the model as an output on the server. */
  linked?: boolean;
  /** The model's metrics are on the server, linked to it by `model_id`. */
  metricsSent?: boolean;
  /** Size of each artifact file uploaded. */
  artifacts: Record<string, number>;
  /** The model is finalized on the server with its local status. */
  finalized?: boolean;
}

/** The run's model outputs in the local store (`<run>/outputs/<model_id>/meta.yaml`): model id and step. */
async function localOutputs(runArtifactUri: string): Promise<{ modelId: string; step: number }[]> {
  const dir = join(dirname(fileURLToPath(runArtifactUri)), 'outputs');
  const names = await readdir(dir).catch(() => [] as string[]);
  const outputs: { modelId: string; step: number }[] = [];
  for (const modelId of names.sort()) {
    const meta = await readFile(join(dir, modelId, 'meta.yaml'), 'utf8').catch(() => undefined);
    if (meta === undefined) continue;
    const step = Number(parseYaml(meta).step);
    outputs.push({ modelId, step: Number.isFinite(step) ? step : 0 });
  }
  return outputs;
}

/** The `MLmodel` file as the server's copy of the model names itself: its model id, run and artifact root. */
function rewriteMlmodel(
  text: string,
  local: LoggedModel,
  remote: LoggedModel,
  localRunId: string,
  remoteRunId: string,
): string {
  return text
    .replace(/^artifact_path:.*$/m, `artifact_path: ${remote.artifactUri}`)
    .replaceAll(local.modelId, remote.modelId)
    .replaceAll(localRunId, remoteRunId);
}

async function createRemoteModel(
  models: LoggedModelStore,
  local: LoggedModel,
  experimentId: string,
  runId: string,
): Promise<LoggedModel> {
  const params = Object.entries(local.params);
  const remote = await models.createLoggedModel({
    experimentId,
    name: local.name,
    sourceRunId: runId,
    ...(local.modelType ? { modelType: local.modelType } : {}),
    params: Object.fromEntries(params.slice(0, PARAMS_PER_CALL)),
    tags: local.tags,
  });
  for (let index = PARAMS_PER_CALL; index < params.length; index += PARAMS_PER_CALL)
    await models.logLoggedModelParams(
      remote.modelId,
      Object.fromEntries(params.slice(index, index + PARAMS_PER_CALL)),
    );
  return remote;
}

/**
 * The MLflow 3 logged models a local run produced (its `outputs/`), uploaded as the server's own: the model
 * with its name, type, params and tags, the run's output link at its step, its metrics (by `model_id`), its
 * files (`MLmodel` last, naming the server's model and run) and its final status. Each part is recorded in
 * the run's state as it is sent, so a second replay sends nothing again. A server without logged models
 * (before MLflow 3, 404) gets the model's files in the run's artifacts under the model's name instead.
 * Returns whether anything was sent.
 */
export async function replayLoggedModels(context: ReplayContext, plan: RunPlan): Promise<boolean> {
  const { local, state } = plan;
  const sourceModels = context.source.loggedModels;
  if (!sourceModels || !local.info.artifactUri?.startsWith('file:')) return false;
  const outputs = await localOutputs(local.info.artifactUri);
  if (outputs.length === 0) return false;
  const destinationModels = context.destination.loggedModels;
  const remoteRun = async () => (await context.destination.getRun(state.remoteRunId)).info.artifactUri;
  let sent = false;
  for (const { modelId, step } of outputs) {
    context.signal?.throwIfAborted();
    const model = await sourceModels.getLoggedModel(modelId);
    state.models ??= {};
    let modelState = state.models[modelId];
    let remote: LoggedModel | undefined;
    if (!modelState && destinationModels) {
      try {
        remote = await createRemoteModel(
          destinationModels,
          model,
          state.remoteExperimentId,
          state.remoteRunId,
        );
        modelState = { remoteModelId: remote.modelId, artifacts: {} };
        state.models[modelId] = modelState;
        sent = true;
        await context.state.save();
      } catch (error) {
        if (!(MlflowApiError.isInstance(error) && error.status === 404)) throw error;
      }
    }
    // Files go to the logged model's artifact root, or to the run's under the model's name without one.
    if (modelState && destinationModels && !remote)
      remote = await destinationModels.getLoggedModel(modelState.remoteModelId);
    const target = remote ? remote.artifactUri : `${await remoteRun()}/${model.name}`;
    const uploaded = remote && modelState ? modelState.artifacts : state.artifacts;
    const prefix = remote ? '' : `${model.name}/`;
    const files = [...(await listFilesRecursively(context.source, model.artifactUri))].sort(
      ([a], [b]) => Number(a === 'MLmodel') - Number(b === 'MLmodel'),
    );
    for (const [path, size] of files) {
      if (uploaded[prefix + path] === size) continue;
      context.signal?.throwIfAborted();
      const file = join(fileURLToPath(model.artifactUri), ...path.split('/'));
      const source =
        path === 'MLmodel' && remote
          ? {
              bytes: new TextEncoder().encode(
                rewriteMlmodel(
                  await readFile(file, 'utf8'),
                  model,
                  remote,
                  local.info.runId,
                  state.remoteRunId,
                ),
              ),
            }
          : { file };
      await context.destination.uploadArtifact(target, path, source);
      uploaded[prefix + path] = size;
      sent = true;
      await countArtifactUpload(context, plan, size);
    }
    if (!modelState || !destinationModels) continue;
    if (!modelState.linked) {
      await destinationModels.logOutputs(state.remoteRunId, [{ modelId: modelState.remoteModelId, step }]);
      modelState.linked = true;
      sent = true;
      await context.state.save();
    }
    if (!modelState.metricsSent) {
      for (let index = 0; index < model.metrics.length; index += METRICS_PER_CALL)
        await destinationModels.logLoggedModelMetrics(
          state.remoteRunId,
          modelState.remoteModelId,
          model.metrics.slice(index, index + METRICS_PER_CALL),
        );
      modelState.metricsSent = true;
      sent = true;
      await context.state.save();
    }
    if (!modelState.finalized && model.status !== 'LOGGED_MODEL_PENDING') {
      await destinationModels.finalizeLoggedModel(modelState.remoteModelId, model.status);
      modelState.finalized = true;
      sent = true;
      await context.state.save();
    }
  }
  return sent;
}
