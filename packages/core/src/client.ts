import { MlflowKitError } from './errors.js';
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

  /** Latest version per stage (stages are deprecated in MLflow; prefer aliases). */
  async getLatestVersions(name: string, stages?: string[]): Promise<ModelVersion[]> {
    return (await this.registry()).getLatestVersions(name, stages);
  }

  /** Moves a version to a stage (deprecated in MLflow; prefer aliases). */
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
