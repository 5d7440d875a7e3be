import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MlflowKitError } from '../errors.js';
import type { CreateLoggedModelRequest, LoggedModelStore } from '../store.js';
import type { LoggedModel, LoggedModelStatus, Metric, Page } from '../types.js';
import { dumpYaml, parsePythonFloat, parseYaml, pythonFloat } from './local-format.js';
import { appendLines, exists, writeFileAtomic } from './local-fs.js';
import {
  checkLocalKey,
  type LocalLayout,
  listSubdirectories,
  localApiError,
  localNotFound,
  type Meta,
  metaString,
  readKeyValues,
  TRASH,
  updateMetaFile,
  writeKeyFile,
} from './local-layout.js';

/** `LoggedModelStatus.to_int()` in MLflow: what FileStore writes as `status`. */
const STATUS_TO_NUMBER: Record<LoggedModelStatus, number> = {
  LOGGED_MODEL_PENDING: 1,
  LOGGED_MODEL_READY: 2,
  LOGGED_MODEL_UPLOAD_FAILED: 3,
};
const MODEL_ID = /^m-[0-9a-f]{32}$/;

function statusOf(value: unknown): LoggedModelStatus {
  const found = Object.entries(STATUS_TO_NUMBER).find(([, number]) => number === Number(value));
  return (found?.[0] as LoggedModelStatus | undefined) ?? 'LOGGED_MODEL_PENDING';
}

/** The model's metrics as MLflow's FileStore reads them: the latest point of each key. */
async function readModelMetrics(dir: string): Promise<Metric[]> {
  const keys = await readKeyValues(join(dir, 'metrics'));
  const out: Metric[] = [];
  for (const [key, text] of Object.entries(keys)) {
    let best: Metric | undefined;
    for (const line of text.split('\n')) {
      const [timestamp, value, step] = line.trim().split(' ');
      if (timestamp === undefined || value === undefined || step === undefined) continue;
      const point = { key, timestamp: Number(timestamp), value: parsePythonFloat(value), step: Number(step) };
      if (!best || point.step > best.step || (point.step === best.step && point.timestamp >= best.timestamp))
        best = point;
    }
    if (best) out.push(best);
  }
  return out;
}

/**
 * MLflow 3 logged models in the local store, in MLflow's FileStore layout: `<experiment>/models/<model_id>/`
 * with `meta.yaml`, `params/`, `tags/`, `metrics/` (lines `<ts> <value> <step> <run_id>`) and `artifacts/`,
 * and the run's `outputs/<model_id>/meta.yaml`, so `mlflow ui` (with `MLFLOW_ALLOW_FILE_STORE=true`) and the
 * Python client read them.
 */
export class LocalLoggedModels implements LoggedModelStore {
  readonly #layout: LocalLayout;

  constructor(layout: LocalLayout) {
    this.#layout = layout;
  }

  async createLoggedModel(request: CreateLoggedModelRequest): Promise<LoggedModel> {
    await this.#layout.ensureRoot();
    const experiment = await this.#layout.experimentDirectory(request.experimentId);
    if (!experiment || experiment.deleted) {
      throw localNotFound(
        'create logged model',
        `Could not create model under experiment with ID ${request.experimentId} - no such active experiment exists.`,
      );
    }
    const name = request.name ?? 'model';
    if (/[/:.%"']/.test(name)) {
      throw localApiError(
        'create logged model',
        'INVALID_PARAMETER_VALUE',
        `Invalid model name ${JSON.stringify(name)}: it must not contain / : . % " '.`,
      );
    }
    const experimentMeta = parseYaml(await readFile(join(experiment.dir, 'meta.yaml'), 'utf8'));
    const modelId = `m-${globalThis.crypto.randomUUID().replaceAll('-', '')}`;
    const dir = join(experiment.dir, 'models', modelId);
    const now = Date.now();
    await mkdir(join(dir, 'metrics'), { recursive: true });
    await mkdir(join(dir, 'params'), { recursive: true });
    await mkdir(join(dir, 'artifacts'), { recursive: true });
    const meta: Meta = {
      artifact_location: `${metaString(experimentMeta.artifact_location).replace(/\/+$/, '')}/models/${modelId}/artifacts`,
      creation_timestamp: now,
      experiment_id: request.experimentId,
      last_updated_timestamp: now,
      lifecycle_stage: 'active',
      model_id: modelId,
      model_type: request.modelType ?? null,
      name,
      source_run_id: request.sourceRunId ?? null,
      status: STATUS_TO_NUMBER.LOGGED_MODEL_PENDING,
      status_message: null,
    };
    await writeFileAtomic(join(dir, 'meta.yaml'), dumpYaml(meta));
    await this.logLoggedModelParams(modelId, request.params ?? {});
    for (const [key, value] of Object.entries(request.tags ?? {})) {
      checkLocalKey('create logged model', 'tag', key);
      await writeKeyFile(dir, 'tags', key, value);
    }
    return this.getLoggedModel(modelId);
  }

  async getLoggedModel(modelId: string): Promise<LoggedModel> {
    return this.#read(await this.#find(modelId, 'get logged model'));
  }

  async searchLoggedModels(
    options: Parameters<LoggedModelStore['searchLoggedModels']>[0],
  ): Promise<Page<LoggedModel>> {
    let wanted: string | undefined;
    if (options.filter !== undefined && options.filter.trim() !== '') {
      const match = options.filter.trim().match(/^name\s*=\s*'([^']*)'$/);
      if (!match) {
        throw new MlflowKitError(
          `The local store searches logged models by name only (name = '<name>'), not by ${JSON.stringify(options.filter)}: use an MLflow server for other filters.`,
        );
      }
      wanted = match[1];
    }
    const items: LoggedModel[] = [];
    for (const experimentId of options.experimentIds) {
      const experiment = await this.#layout.experimentDirectory(experimentId);
      if (!experiment) continue;
      for (const id of await listSubdirectories(join(experiment.dir, 'models'))) {
        if (!MODEL_ID.test(id)) continue;
        const model = await this.#read(join(experiment.dir, 'models', id)).catch(() => undefined);
        if (model && (wanted === undefined || model.name === wanted)) items.push(model);
      }
    }
    return { items };
  }

  async finalizeLoggedModel(
    modelId: string,
    status: Exclude<LoggedModelStatus, 'LOGGED_MODEL_PENDING'>,
  ): Promise<LoggedModel> {
    const dir = await this.#find(modelId, 'finalize logged model');
    await updateMetaFile(dir, (meta) => {
      meta.status = STATUS_TO_NUMBER[status];
      meta.last_updated_timestamp = Date.now();
    });
    return this.#read(dir);
  }

  async logLoggedModelParams(modelId: string, params: Record<string, string>): Promise<void> {
    const dir = await this.#find(modelId, 'log logged model params');
    for (const [key, value] of Object.entries(params)) {
      checkLocalKey('log logged model params', 'param', key);
      await writeKeyFile(dir, 'params', key, value);
    }
  }

  // Only the model's files: the run already holds these points, and FileStore appends without deduplicating.
  async logLoggedModelMetrics(runId: string, modelId: string, metrics: Metric[]): Promise<void> {
    const dir = await this.#find(modelId, 'log logged model metrics');
    for (const metric of metrics) {
      checkLocalKey('log logged model metrics', 'metric', metric.key);
      const file = join(dir, 'metrics', ...metric.key.split('/'));
      await mkdir(join(file, '..'), { recursive: true });
      await appendLines(
        file,
        `${metric.timestamp} ${pythonFloat(metric.value)} ${metric.step} ${runId}\n`,
        true,
      );
    }
  }

  async logOutputs(runId: string, models: { modelId: string; step: number }[]): Promise<void> {
    const runDir = await this.#layout.activeRunDirectory(runId, 'log outputs');
    for (const { modelId, step } of models) {
      if (!MODEL_ID.test(modelId)) throw localNotFound('log outputs', `Model '${modelId}' not found`);
      const dir = join(runDir, 'outputs', modelId);
      await mkdir(dir, { recursive: true });
      // As MLflow's FileStore writes it (destination_id included).
      await writeFileAtomic(
        join(dir, 'meta.yaml'),
        dumpYaml({
          destination_id: modelId,
          destination_type: 'MODEL_OUTPUT',
          source_id: modelId,
          source_type: 'RUN_OUTPUT',
          step,
          tags: {},
        }),
      );
    }
  }

  async #find(modelId: string, operation: string): Promise<string> {
    if (typeof modelId !== 'string' || !MODEL_ID.test(modelId))
      throw localNotFound(operation, `Model '${modelId}' not found`);
    await this.#layout.ensureRoot();
    for (const parent of [this.#layout.rootDir, join(this.#layout.rootDir, TRASH)]) {
      for (const experimentId of await listSubdirectories(parent)) {
        const dir = join(parent, experimentId, 'models', modelId);
        if (await exists(join(dir, 'meta.yaml'))) return dir;
      }
    }
    throw localNotFound(operation, `Model '${modelId}' not found`);
  }

  async #read(dir: string): Promise<LoggedModel> {
    const meta = parseYaml(await readFile(join(dir, 'meta.yaml'), 'utf8'));
    return {
      modelId: metaString(meta.model_id),
      experimentId: metaString(meta.experiment_id),
      name: metaString(meta.name),
      artifactUri: metaString(meta.artifact_location),
      status: statusOf(meta.status),
      sourceRunId: metaString(meta.source_run_id) || undefined,
      modelType: metaString(meta.model_type) || undefined,
      tags: await readKeyValues(join(dir, 'tags')),
      params: await readKeyValues(join(dir, 'params')),
      metrics: await readModelMetrics(dir),
    };
  }
}
