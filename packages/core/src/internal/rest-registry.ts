import { MlflowKitError } from '../errors.js';
import type { CreateLoggedModelRequest, RegistryStore } from '../store.js';
import type {
  LoggedModel,
  LoggedModelStatus,
  Metric,
  ModelVersion,
  Page,
  RegisteredModel,
} from '../types.js';
import type { RetryingHttpClient as HttpClient } from './http-core.js';
import {
  decodeLoggedModel,
  decodeModelVersion,
  decodeRegisteredModel,
  dropUndefined,
  encodeMetric,
  encodeTags,
  type WireLoggedModel,
  type WireModelVersion,
  type WireRegisteredModel,
} from './rest-codec.js';

const API = '/api/2.0/mlflow';

/** How {@link RestRegistry.createModelVersion} waits for a version that is still registering. */
export interface RegistrationWait {
  /** Longest wait for `READY`, as Python's `await_registration_for`. @defaultValue 300000 */
  timeoutMs: number;
  /** Pause between polls. @defaultValue 1000 */
  intervalMs: number;
  /** The pause itself, injectable for tests. */
  sleep: (ms: number) => Promise<void>;
}

/** {@link RegistryStore} over the MLflow REST API. */
export class RestRegistry implements RegistryStore {
  readonly #http: HttpClient;
  readonly #wait: RegistrationWait;

  constructor(http: HttpClient, wait: RegistrationWait) {
    this.#http = http;
    this.#wait = wait;
  }

  async createRegisteredModel(
    name: string,
    options: { description?: string; tags?: Record<string, string> } = {},
  ): Promise<RegisteredModel> {
    const response = await this.#http.json<{ registered_model?: WireRegisteredModel }>(
      'POST',
      `${API}/registered-models/create`,
      dropUndefined({ name, description: options.description, tags: encodeTags(options.tags) }),
    );
    return decodeRegisteredModel(response.registered_model ?? { name });
  }

  async getRegisteredModel(name: string): Promise<RegisteredModel> {
    const response = await this.#http.json<{ registered_model?: WireRegisteredModel }>(
      'GET',
      `${API}/registered-models/get`,
      { name },
    );
    return decodeRegisteredModel(response.registered_model ?? { name });
  }

  async deleteRegisteredModel(name: string): Promise<void> {
    await this.#http.json('DELETE', `${API}/registered-models/delete`, { name });
  }

  async searchRegisteredModels(
    options: { filter?: string; maxResults?: number; pageToken?: string } = {},
  ): Promise<Page<RegisteredModel>> {
    const response = await this.#http.json<{
      registered_models?: WireRegisteredModel[];
      next_page_token?: string;
    }>(
      'GET',
      `${API}/registered-models/search`,
      dropUndefined({
        filter: options.filter,
        max_results: options.maxResults ?? 100,
        page_token: options.pageToken,
      }),
    );
    return {
      items: (response.registered_models ?? []).map(decodeRegisteredModel),
      nextPageToken: response.next_page_token || undefined,
    };
  }

  async createModelVersion(
    request: Parameters<RegistryStore['createModelVersion']>[0],
  ): Promise<ModelVersion> {
    const response = await this.#http.json<{ model_version?: WireModelVersion }>(
      'POST',
      `${API}/model-versions/create`,
      dropUndefined({
        name: request.name,
        source: request.source,
        run_id: request.runId,
        model_id: request.modelId,
        description: request.description,
        tags: encodeTags(request.tags),
      }),
    );
    let version = decodeModelVersion(response.model_version ?? {});
    const deadline = Date.now() + this.#wait.timeoutMs;
    while (version.status === 'PENDING_REGISTRATION') {
      if (Date.now() >= deadline) {
        throw new MlflowKitError(
          `Model version ${request.name}/${version.version} is still PENDING_REGISTRATION after ${this.#wait.timeoutMs} ms.`,
        );
      }
      await this.#wait.sleep(this.#wait.intervalMs);
      version = await this.getModelVersion(request.name, version.version);
    }
    if (version.status === 'FAILED_REGISTRATION') {
      throw new MlflowKitError(
        `Model version ${request.name}/${version.version} failed to register${version.statusMessage ? `: ${version.statusMessage}` : ''}.`,
      );
    }
    return version;
  }

  async getModelVersion(name: string, version: string): Promise<ModelVersion> {
    const response = await this.#http.json<{ model_version?: WireModelVersion }>(
      'GET',
      `${API}/model-versions/get`,
      { name, version },
    );
    return decodeModelVersion(response.model_version ?? {});
  }

  async deleteModelVersion(name: string, version: string): Promise<void> {
    await this.#http.json('DELETE', `${API}/model-versions/delete`, { name, version });
  }

  async searchModelVersions(
    options: { filter?: string; maxResults?: number; pageToken?: string } = {},
  ): Promise<Page<ModelVersion>> {
    const response = await this.#http.json<{ model_versions?: WireModelVersion[]; next_page_token?: string }>(
      'GET',
      `${API}/model-versions/search`,
      dropUndefined({
        filter: options.filter,
        max_results: options.maxResults ?? 10_000,
        page_token: options.pageToken,
      }),
    );
    return {
      items: (response.model_versions ?? []).map(decodeModelVersion),
      nextPageToken: response.next_page_token || undefined,
    };
  }

  async getLatestVersions(name: string, stages?: string[]): Promise<ModelVersion[]> {
    const response = await this.#http.json<{ model_versions?: WireModelVersion[] }>(
      'POST',
      `${API}/registered-models/get-latest-versions`,
      dropUndefined({ name, stages }),
    );
    return (response.model_versions ?? []).map(decodeModelVersion);
  }

  async transitionModelVersionStage(
    name: string,
    version: string,
    stage: string,
    archiveExistingVersions = false,
  ): Promise<ModelVersion> {
    const response = await this.#http.json<{ model_version?: WireModelVersion }>(
      'POST',
      `${API}/model-versions/transition-stage`,
      {
        name,
        version,
        stage,
        archive_existing_versions: archiveExistingVersions,
      },
    );
    return decodeModelVersion(response.model_version ?? {});
  }

  async getModelVersionDownloadUri(name: string, version: string): Promise<string> {
    const response = await this.#http.json<{ artifact_uri?: string }>(
      'GET',
      `${API}/model-versions/get-download-uri`,
      { name, version },
    );
    return response.artifact_uri ?? '';
  }

  async setRegisteredModelAlias(name: string, alias: string, version: string): Promise<void> {
    await this.#http.json('POST', `${API}/registered-models/alias`, { name, alias, version });
  }

  async deleteRegisteredModelAlias(name: string, alias: string): Promise<void> {
    await this.#http.json('DELETE', `${API}/registered-models/alias`, { name, alias });
  }

  async getModelVersionByAlias(name: string, alias: string): Promise<ModelVersion> {
    const response = await this.#http.json<{ model_version?: WireModelVersion }>(
      'GET',
      `${API}/registered-models/alias`,
      { name, alias },
    );
    return decodeModelVersion(response.model_version ?? {});
  }

  async renameRegisteredModel(name: string, newName: string): Promise<RegisteredModel> {
    const response = await this.#http.json<{ registered_model?: WireRegisteredModel }>(
      'POST',
      `${API}/registered-models/rename`,
      { name, new_name: newName },
    );
    return decodeRegisteredModel(response.registered_model ?? { name: newName });
  }

  async updateRegisteredModel(name: string, description: string): Promise<RegisteredModel> {
    const response = await this.#http.json<{ registered_model?: WireRegisteredModel }>(
      'PATCH',
      `${API}/registered-models/update`,
      { name, description },
    );
    return decodeRegisteredModel(response.registered_model ?? { name });
  }

  async setRegisteredModelTag(name: string, key: string, value: string): Promise<void> {
    await this.#http.json('POST', `${API}/registered-models/set-tag`, { name, key, value });
  }

  async deleteRegisteredModelTag(name: string, key: string): Promise<void> {
    await this.#http.json('DELETE', `${API}/registered-models/delete-tag`, { name, key });
  }

  async updateModelVersion(name: string, version: string, description: string): Promise<ModelVersion> {
    const response = await this.#http.json<{ model_version?: WireModelVersion }>(
      'PATCH',
      `${API}/model-versions/update`,
      { name, version, description },
    );
    return decodeModelVersion(response.model_version ?? { name, version });
  }

  async setModelVersionTag(name: string, version: string, key: string, value: string): Promise<void> {
    await this.#http.json('POST', `${API}/model-versions/set-tag`, { name, version, key, value });
  }

  async deleteModelVersionTag(name: string, version: string, key: string): Promise<void> {
    await this.#http.json('DELETE', `${API}/model-versions/delete-tag`, { name, version, key });
  }

  async createLoggedModel(request: CreateLoggedModelRequest): Promise<LoggedModel> {
    const response = await this.#http.json<{ model?: WireLoggedModel }>(
      'POST',
      `${API}/logged-models`,
      dropUndefined({
        experiment_id: request.experimentId,
        name: request.name,
        model_type: request.modelType,
        source_run_id: request.sourceRunId,
        params: encodeTags(request.params),
        tags: encodeTags(request.tags),
      }),
    );
    return decodeLoggedModel(response.model ?? {});
  }

  async getLoggedModel(modelId: string): Promise<LoggedModel> {
    const response = await this.#http.json<{ model?: WireLoggedModel }>(
      'GET',
      `${API}/logged-models/${encodeURIComponent(modelId)}`,
    );
    return decodeLoggedModel(response.model ?? {});
  }

  async searchLoggedModels(
    options: Parameters<RegistryStore['searchLoggedModels']>[0],
  ): Promise<Page<LoggedModel>> {
    const response = await this.#http.json<{ models?: WireLoggedModel[]; next_page_token?: string }>(
      'POST',
      `${API}/logged-models/search`,
      dropUndefined({
        experiment_ids: options.experimentIds,
        filter: options.filter,
        max_results: options.maxResults ?? 100,
        page_token: options.pageToken,
      }),
    );
    return {
      items: (response.models ?? []).map(decodeLoggedModel),
      nextPageToken: response.next_page_token || undefined,
    };
  }

  async finalizeLoggedModel(
    modelId: string,
    status: Exclude<LoggedModelStatus, 'LOGGED_MODEL_PENDING'>,
  ): Promise<LoggedModel> {
    const response = await this.#http.json<{ model?: WireLoggedModel }>(
      'PATCH',
      `${API}/logged-models/${encodeURIComponent(modelId)}`,
      {
        model_id: modelId,
        status,
      },
    );
    return decodeLoggedModel(response.model ?? {});
  }

  async logLoggedModelParams(modelId: string, params: Record<string, string>): Promise<void> {
    await this.#http.json('POST', `${API}/logged-models/${encodeURIComponent(modelId)}/params`, {
      model_id: modelId,
      params: encodeTags(params),
    });
  }

  async logLoggedModelMetrics(runId: string, modelId: string, metrics: Metric[]): Promise<void> {
    await this.#http.json('POST', `${API}/runs/log-batch`, {
      run_id: runId,
      metrics: metrics.map((metric) => ({ ...encodeMetric(metric), model_id: modelId })),
    });
  }

  async logOutputs(runId: string, models: { modelId: string; step: number }[]): Promise<void> {
    await this.#http.json('POST', `${API}/runs/outputs`, {
      run_id: runId,
      models: models.map((model) => ({ model_id: model.modelId, step: model.step })),
    });
  }
}
