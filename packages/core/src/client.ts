import { MlflowApiError, MlflowKitError } from './errors.js';
import { applyDebugOption } from './internal/apply-debug-option.js';
import { chunkBatch } from './internal/log-batch-chunks.js';
import { getStore } from './internal/store-factory.js';
import { type ResolvedSettings, resolveSettings, type TrackingOptions } from './settings.js';
import { getOrCreateExperiment } from './start-run.js';
import type { RegistryStore, SearchExperimentsOptions, SearchRunsOptions, TrackingStore } from './store.js';
import type {
  Experiment,
  FileInfo,
  LogBatch,
  Metric,
  ModelVersion,
  Page,
  RegisteredModel,
  RunInfo,
  RunRecord,
  RunStatus,
} from './types.js';

/**
 * A client for reading and managing what is on a tracking server or local store: experiments, runs,
 * metric histories, artifacts and the model registry. The counterpart of Python's `MlflowClient`.
 * It works whether or not tracking is switched on, since using it is an explicit choice.
 */
export class MlflowClient {
  /** The settings the client resolved from its options and the environment. */
  readonly settings: ResolvedSettings;
  private storePromise: Promise<TrackingStore> | undefined;

  constructor(options: TrackingOptions = {}) {
    this.settings = resolveSettings(options);
    applyDebugOption(this.settings.debug);
    if (options.store) this.storePromise = Promise.resolve(options.store);
  }

  /** The underlying store, made on first use. */
  store(): Promise<TrackingStore> {
    this.storePromise ??= getStore(this.settings);
    return this.storePromise;
  }

  private async registry(): Promise<RegistryStore> {
    const store = await this.store();
    if (!store.registry) {
      throw new MlflowKitError(
        `The model registry needs an MLflow tracking server; ${store.trackingUri} is a ${store.kind} store. Point MLFLOW_TRACKING_URI at a server (or push local runs with \`mlflow-kit sync --to <server>\`).`,
      );
    }
    return store.registry;
  }

  /** Gets an experiment by id. */
  async getExperiment(experimentId: string): Promise<Experiment> {
    return (await this.store()).getExperiment(experimentId);
  }

  /** Gets an experiment by name, or `undefined`. */
  async getExperimentByName(name: string): Promise<Experiment | undefined> {
    return (await this.store()).getExperimentByName(name);
  }

  /** Creates an experiment and returns its id. */
  async createExperiment(
    name: string,
    options?: { artifactLocation?: string; tags?: Record<string, string> },
  ): Promise<string> {
    return (await this.store()).createExperiment(name, options);
  }

  /** Returns the id of the experiment with this name, creating it if needed (safe against races). */
  async getOrCreateExperiment(name: string): Promise<string> {
    return getOrCreateExperiment(await this.store(), name);
  }

  /** One page of experiments. */
  async searchExperiments(options?: SearchExperimentsOptions): Promise<Page<Experiment>> {
    return (await this.store()).searchExperiments(options);
  }

  /** Soft-deletes an experiment and its runs. */
  async deleteExperiment(experimentId: string): Promise<void> {
    await (await this.store()).deleteExperiment(experimentId);
  }

  /** Restores a deleted experiment. */
  async restoreExperiment(experimentId: string): Promise<void> {
    await (await this.store()).restoreExperiment(experimentId);
  }

  /** Gets a run with its latest metrics, params and tags. */
  async getRun(runId: string): Promise<RunRecord> {
    return (await this.store()).getRun(runId);
  }

  /** One page of runs matching a filter. */
  async searchRuns(options: SearchRunsOptions): Promise<Page<RunRecord>> {
    return (await this.store()).searchRuns(options);
  }

  /** Every run matching a filter, following pages. */
  async searchAllRuns(options: Omit<SearchRunsOptions, 'pageToken'>): Promise<RunRecord[]> {
    const store = await this.store();
    const runs: RunRecord[] = [];
    let pageToken: string | undefined;
    do {
      const page = await store.searchRuns(pageToken ? { ...options, pageToken } : options);
      runs.push(...page.items);
      pageToken = page.nextPageToken;
    } while (pageToken);
    return runs;
  }

  /** Every point of a metric, following pages. */
  async getMetricHistory(runId: string, key: string): Promise<Metric[]> {
    const store = await this.store();
    const points: Metric[] = [];
    let pageToken: string | undefined;
    do {
      const page = await store.getMetricHistory(
        runId,
        key,
        pageToken ? { maxResults: 25_000, pageToken } : { maxResults: 25_000 },
      );
      points.push(...page.items);
      pageToken = page.nextPageToken;
    } while (pageToken);
    return points;
  }

  /** Sends params, metrics and tags synchronously, split into requests within MLflow's limits. */
  async logBatch(runId: string, batch: LogBatch): Promise<void> {
    const store = await this.store();
    for (const chunk of chunkBatch(batch)) await store.logBatch(runId, chunk);
  }

  /** Sets a run's status and end time (now unless given). */
  async setTerminated(
    runId: string,
    status: RunStatus = 'FINISHED',
    endTime: number = Date.now(),
  ): Promise<RunInfo> {
    return (await this.store()).updateRun(runId, { status, endTime });
  }

  /** Soft-deletes a run. */
  async deleteRun(runId: string): Promise<void> {
    await (await this.store()).deleteRun(runId);
  }

  /** Restores a deleted run. */
  async restoreRun(runId: string): Promise<void> {
    await (await this.store()).restoreRun(runId);
  }

  /** Lists one directory level of a run's artifacts. */
  async listArtifacts(runId: string, path?: string): Promise<FileInfo[]> {
    const store = await this.store();
    const { info } = await store.getRun(runId);
    return store.listArtifacts(info.artifactUri, path);
  }

  /** Reads one artifact file of a run. */
  async downloadArtifact(runId: string, path: string): Promise<Uint8Array> {
    const store = await this.store();
    const { info } = await store.getRun(runId);
    return store.downloadArtifact(info.artifactUri, path);
  }

  /** Creates a registered model. */
  async createRegisteredModel(
    name: string,
    options?: { description?: string; tags?: Record<string, string> },
  ): Promise<RegisteredModel> {
    return (await this.registry()).createRegisteredModel(name, options);
  }

  /** Gets a registered model. */
  async getRegisteredModel(name: string): Promise<RegisteredModel> {
    return (await this.registry()).getRegisteredModel(name);
  }

  /** One page of registered models matching a filter such as `name LIKE 'iris%'`. */
  async searchRegisteredModels(options?: {
    filter?: string;
    maxResults?: number;
    pageToken?: string;
  }): Promise<Page<RegisteredModel>> {
    return (await this.registry()).searchRegisteredModels(options);
  }

  /** Deletes a registered model and all its versions. */
  async deleteRegisteredModel(name: string): Promise<void> {
    await (await this.registry()).deleteRegisteredModel(name);
  }

  /** Deletes one version of a registered model. */
  async deleteModelVersion(name: string, version: string): Promise<void> {
    await (await this.registry()).deleteModelVersion(name, version);
  }

  /** Creates a model version and waits until it is READY. */
  async createModelVersion(
    request: Parameters<RegistryStore['createModelVersion']>[0],
  ): Promise<ModelVersion> {
    return (await this.registry()).createModelVersion(request);
  }

  /** Gets a model version. */
  async getModelVersion(name: string, version: string): Promise<ModelVersion> {
    return (await this.registry()).getModelVersion(name, version);
  }

  /** Gets the model version an alias points to. */
  async getModelVersionByAlias(name: string, alias: string): Promise<ModelVersion> {
    return (await this.registry()).getModelVersionByAlias(name, alias);
  }

  /** Points an alias (such as `champion`) at a model version. */
  async setRegisteredModelAlias(name: string, alias: string, version: string): Promise<void> {
    await (await this.registry()).setRegisteredModelAlias(name, alias, version);
  }

  /** Removes an alias. */
  async deleteRegisteredModelAlias(name: string, alias: string): Promise<void> {
    await (await this.registry()).deleteRegisteredModelAlias(name, alias);
  }

  /** Renames a registered model; its versions and aliases follow it. */
  async renameRegisteredModel(name: string, newName: string): Promise<RegisteredModel> {
    return (await this.registry()).renameRegisteredModel(name, newName);
  }

  /** Sets a registered model's description (`update_registered_model`). */
  async updateRegisteredModel(name: string, description: string): Promise<RegisteredModel> {
    return (await this.registry()).updateRegisteredModel(name, description);
  }

  /** Sets a tag on a registered model. */
  async setRegisteredModelTag(name: string, key: string, value: string): Promise<void> {
    await (await this.registry()).setRegisteredModelTag(name, key, value);
  }

  /** Removes a tag from a registered model. */
  async deleteRegisteredModelTag(name: string, key: string): Promise<void> {
    await (await this.registry()).deleteRegisteredModelTag(name, key);
  }

  /** Sets a model version's description (`update_model_version`). */
  async updateModelVersion(name: string, version: string, description: string): Promise<ModelVersion> {
    return (await this.registry()).updateModelVersion(name, version, description);
  }

  /** Sets a tag on a model version. */
  async setModelVersionTag(name: string, version: string, key: string, value: string): Promise<void> {
    await (await this.registry()).setModelVersionTag(name, version, key, value);
  }

  /** Removes a tag from a model version. */
  async deleteModelVersionTag(name: string, version: string, key: string): Promise<void> {
    await (await this.registry()).deleteModelVersionTag(name, version, key);
  }

  /**
   * Registers a model as a new version of `name`, creating the registered model if needed, and waits until
   * the version is READY: the counterpart of Python's `mlflow.register_model(model_uri, name)`. `modelUri` is
   * `runs:/<run_id>/<path>` (the run's model directory, else the logged model of that name the run
   * produced), `models:/<model_id>` (an MLflow 3 logged model) or an artifact URI.
   *
   * @example
   * ```ts
   * const version = await client.registerModel(`runs:/${runId}/model`, 'iris-classifier');
   * await client.setRegisteredModelAlias('iris-classifier', 'champion', version.version);
   * ```
   */
  async registerModel(
    modelUri: string,
    name: string,
    options: { description?: string; tags?: Record<string, string> } = {},
  ): Promise<ModelVersion> {
    const registry = await this.registry();
    try {
      await registry.createRegisteredModel(name);
    } catch (error) {
      if (!(MlflowApiError.isInstance(error) && error.errorCode === 'RESOURCE_ALREADY_EXISTS')) throw error;
    }
    const source = await this.registrationSource(modelUri);
    const version = await registry.createModelVersion({ name, ...source, ...options });
    // The server's answer leaves model_id out; the version was made from that logged model.
    return { ...version, modelId: version.modelId ?? source.modelId };
  }

  /** What `create_model_version` is sent for a model URI, as Python's `_register_model` resolves it. */
  private async registrationSource(
    modelUri: string,
  ): Promise<{ source: string; runId?: string; modelId?: string }> {
    const loggedModelId = /^models:\/(m-[0-9a-f]+)\/?$/.exec(modelUri)?.[1];
    if (loggedModelId) return { source: `models:/${loggedModelId}`, modelId: loggedModelId };
    if (!modelUri.startsWith('runs:/')) return { source: modelUri };
    const [runId = '', ...rest] = modelUri.slice('runs:/'.length).replace(/^\/+/, '').split('/');
    const path = rest.filter(Boolean).join('/');
    if (!runId || !path) {
      throw new MlflowKitError(`${modelUri} names no model directory: use runs:/<run_id>/<path>.`);
    }
    const store = await this.store();
    const { info } = await store.getRun(runId);
    const files = await store.listArtifacts(info.artifactUri, path).catch(() => []);
    if (files.some((file) => file.path.split('/').pop() === 'MLmodel')) {
      return { source: `${info.artifactUri}/${path}`, runId };
    }
    let pageToken: string | undefined;
    do {
      const page = await (await this.registry()).searchLoggedModels({
        experimentIds: [info.experimentId],
        filter: `name = '${path.replace(/'/g, "\\'")}'`,
        ...(pageToken ? { pageToken } : {}),
      });
      const found = page.items.find((model) => model.sourceRunId === runId);
      if (found) return { source: `models:/${found.modelId}`, modelId: found.modelId, runId };
      pageToken = page.nextPageToken;
    } while (pageToken);
    throw new MlflowKitError(
      `${modelUri}: run ${runId} has no MLmodel under ${path} and no logged model named ${path}; log the model first (logModel), or pass the URI of its directory.`,
    );
  }

  /**
   * Latest version per stage.
   * @deprecated Stages are deprecated in MLflow since 2.9: point aliases at versions instead
   * ({@link MlflowClient.setRegisteredModelAlias}, `models:/<name>@<alias>`).
   */
  async getLatestVersions(name: string, stages?: string[]): Promise<ModelVersion[]> {
    return (await this.registry()).getLatestVersions(name, stages);
  }

  /**
   * Moves a version to a stage (`None`, `Staging`, `Production`, `Archived`).
   * @deprecated Stages are deprecated in MLflow since 2.9: point aliases at versions instead
   * ({@link MlflowClient.setRegisteredModelAlias}, `models:/<name>@<alias>`).
   */
  async transitionModelVersionStage(
    name: string,
    version: string,
    stage: string,
    archiveExistingVersions = false,
  ): Promise<ModelVersion> {
    return (await this.registry()).transitionModelVersionStage(name, version, stage, archiveExistingVersions);
  }

  /** Where a model version's files are. */
  async getModelVersionDownloadUri(name: string, version: string): Promise<string> {
    return (await this.registry()).getModelVersionDownloadUri(name, version);
  }

  /** One page of model versions matching a filter such as `name='iris'`. */
  async searchModelVersions(options?: {
    filter?: string;
    maxResults?: number;
    pageToken?: string;
  }): Promise<Page<ModelVersion>> {
    return (await this.registry()).searchModelVersions(options);
  }
}

/**
 * Creates an {@link MlflowClient} for the tracking URI in `options` or `MLFLOW_TRACKING_URI`.
 *
 * @example
 * ```ts
 * import { createClient } from '@mlflow-kit/core';
 *
 * const client = createClient({ trackingUri: 'http://127.0.0.1:5000' });
 * const run = await client.getRun(runId);
 * const loss = await client.getMetricHistory(runId, 'loss');
 * ```
 */
export function createClient(options?: TrackingOptions): MlflowClient {
  return new MlflowClient(options);
}
