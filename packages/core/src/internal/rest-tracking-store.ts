import { MlflowApiError } from '../errors.js';
import type { ResolvedSettings } from '../settings.js';
import type {
  ArtifactSource,
  CreateRunRequest,
  LoggedModelStore,
  RegistryStore,
  SearchExperimentsOptions,
  SearchRunsOptions,
  TrackingStore,
  UpdateRunRequest,
} from '../store.js';
import type {
  DatasetInput,
  Experiment,
  FileInfo,
  LogBatch,
  Metric,
  Page,
  RunInfo,
  RunRecord,
} from '../types.js';
import type { RetryingHttpClient } from './http-core.js';
import type { ProxyArtifacts } from './proxy-artifacts.js';
import {
  decodeExperiment,
  decodeMetric,
  decodeRun,
  decodeRunInfo,
  dropUndefined,
  encodeDatasetInput,
  encodeMetric,
  encodeTags,
  type WireExperiment,
  type WireMetric,
  type WireRun,
  type WireRunInfo,
} from './rest-codec.js';
import { RestRegistry } from './rest-registry.js';

const API = '/api/2.0/mlflow';

/** What the Python client sends when a search has no explicit size (`SEARCH_MAX_RESULTS_DEFAULT`). */
const SEARCH_MAX_RESULTS_DEFAULT = 1000;
/** Python's `GET_METRIC_HISTORY_MAX_RESULTS`. */
const METRIC_HISTORY_MAX_RESULTS = 25_000;

/** Options of the REST store beyond the settings; mostly for tests. */
export interface RestStoreOptions {
  /**
   * The wait between retries and between registration polls.
   * @defaultValue a `setTimeout` promise
   */
  sleep?: (ms: number) => Promise<void>;
  /**
   * How long {@link RegistryStore.createModelVersion} waits for a `PENDING_REGISTRATION` version to become
   * `READY`, as Python's `await_registration_for`.
   * @defaultValue 300000
   */
  registrationTimeoutMs?: number;
  /**
   * Pause between registration polls.
   * @defaultValue 1000
   */
  registrationPollMs?: number;
}

/**
 * A {@link TrackingStore} backed by an MLflow tracking server's REST API (`/api/2.0/mlflow/...`), with
 * artifacts through the server's artifact proxy and the model registry, over any {@link RetryingHttpClient}:
 * Node's `RestStore` gives it undici, the browser entry `fetch`. It sends what it is given and throws
 * {@link MlflowApiError} on failure, after the transport's retries.
 */
export class RestTrackingStore implements TrackingStore {
  /** Always `rest`. */
  readonly kind = 'rest' as const;
  /** The tracking server's URI, without credentials. */
  readonly trackingUri: string;
  /** Model registry and logged-model calls on the same server. */
  readonly registry: RegistryStore;
  /** MLflow 3 logged models: the same object as {@link RestStore.registry}. */
  get loggedModels(): LoggedModelStore {
    return this.registry;
  }
  readonly #http: RetryingHttpClient;
  readonly #artifacts: ProxyArtifacts;

  /**
   * @param settings - resolved settings; `trackingUri` must be http(s).
   * @param http - the transport (undici in Node, `fetch` in a page).
   * @param artifacts - artifact reads and writes over `http`.
   * @param options - test hooks and registration polling.
   */
  constructor(
    settings: ResolvedSettings,
    http: RetryingHttpClient,
    artifacts: ProxyArtifacts,
    options: RestStoreOptions = {},
  ) {
    this.trackingUri = settings.trackingUri.replace(/\/+$/, '');
    this.#http = http;
    this.#artifacts = artifacts;
    this.registry = new RestRegistry(this.#http, {
      timeoutMs: options.registrationTimeoutMs ?? 300_000,
      intervalMs: options.registrationPollMs ?? 1000,
      sleep: options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
    });
  }

  /** `GET /experiments/get`; deleted experiments are returned too. */
  async getExperiment(experimentId: string): Promise<Experiment> {
    const response = await this.#http.json<{ experiment?: WireExperiment }>('GET', `${API}/experiments/get`, {
      experiment_id: experimentId,
    });
    return decodeExperiment(response.experiment ?? {});
  }

  /** `GET /experiments/get-by-name`; `undefined` when the server answers `RESOURCE_DOES_NOT_EXIST`. */
  async getExperimentByName(name: string): Promise<Experiment | undefined> {
    try {
      const response = await this.#http.json<{ experiment?: WireExperiment }>(
        'GET',
        `${API}/experiments/get-by-name`,
        {
          experiment_name: name,
        },
      );
      return response.experiment ? decodeExperiment(response.experiment) : undefined;
    } catch (error) {
      if (MlflowApiError.isInstance(error) && error.errorCode === 'RESOURCE_DOES_NOT_EXIST') return undefined;
      throw error;
    }
  }

  /** `POST /experiments/create`; a taken name fails with 400 `RESOURCE_ALREADY_EXISTS` (not 409). */
  async createExperiment(
    name: string,
    options: { artifactLocation?: string; tags?: Record<string, string> } = {},
  ): Promise<string> {
    const response = await this.#http.json<{ experiment_id?: string | number }>(
      'POST',
      `${API}/experiments/create`,
      dropUndefined({ name, artifact_location: options.artifactLocation, tags: encodeTags(options.tags) }),
    );
    return String(response.experiment_id ?? '');
  }

  /** `POST /experiments/search`, one page; `max_results` is always sent (default 1000). */
  async searchExperiments(options: SearchExperimentsOptions = {}): Promise<Page<Experiment>> {
    const response = await this.#http.json<{ experiments?: WireExperiment[]; next_page_token?: string }>(
      'POST',
      `${API}/experiments/search`,
      dropUndefined({
        max_results: options.maxResults ?? SEARCH_MAX_RESULTS_DEFAULT,
        page_token: options.pageToken,
        filter: options.filter,
        order_by: options.orderBy,
        view_type: options.viewType,
      }),
    );
    return {
      items: (response.experiments ?? []).map(decodeExperiment),
      nextPageToken: response.next_page_token || undefined,
    };
  }

  /** `POST /experiments/delete` (soft delete). */
  async deleteExperiment(experimentId: string): Promise<void> {
    await this.#http.json('POST', `${API}/experiments/delete`, { experiment_id: experimentId });
  }

  /** `POST /experiments/restore`. */
  async restoreExperiment(experimentId: string): Promise<void> {
    await this.#http.json('POST', `${API}/experiments/restore`, { experiment_id: experimentId });
  }

  /** `POST /experiments/set-experiment-tag`. */
  async setExperimentTag(experimentId: string, key: string, value: string): Promise<void> {
    await this.#http.json('POST', `${API}/experiments/set-experiment-tag`, {
      experiment_id: experimentId,
      key,
      value,
    });
  }

  /** `POST /runs/create`, always with `start_time`. Not idempotent: a retry after a lost answer may create a second run. */
  async createRun(request: CreateRunRequest): Promise<RunRecord> {
    const response = await this.#http.json<{ run?: WireRun }>(
      'POST',
      `${API}/runs/create`,
      dropUndefined({
        experiment_id: request.experimentId,
        start_time: request.startTime,
        run_name: request.runName,
        user_id: request.userId,
        tags: encodeTags(request.tags),
      }),
    );
    return decodeRun(response.run ?? {});
  }

  /** `GET /runs/get`. */
  async getRun(runId: string): Promise<RunRecord> {
    const response = await this.#http.json<{ run?: WireRun }>('GET', `${API}/runs/get`, { run_id: runId });
    return decodeRun(response.run ?? {});
  }

  /** `POST /runs/update`: status, end time or name. */
  async updateRun(runId: string, request: UpdateRunRequest): Promise<RunInfo> {
    const response = await this.#http.json<{ run_info?: WireRunInfo }>(
      'POST',
      `${API}/runs/update`,
      dropUndefined({
        run_id: runId,
        status: request.status,
        end_time: request.endTime,
        run_name: request.runName,
      }),
    );
    return decodeRunInfo(response.run_info ?? { run_id: runId });
  }

  /** `POST /runs/delete` (soft delete). */
  async deleteRun(runId: string): Promise<void> {
    await this.#http.json('POST', `${API}/runs/delete`, { run_id: runId });
  }

  /** `POST /runs/restore`. */
  async restoreRun(runId: string): Promise<void> {
    await this.#http.json('POST', `${API}/runs/restore`, { run_id: runId });
  }

  /** `POST /runs/search`, one page; `max_results` is always sent (default 1000). */
  async searchRuns(options: SearchRunsOptions): Promise<Page<RunRecord>> {
    const response = await this.#http.json<{ runs?: WireRun[]; next_page_token?: string }>(
      'POST',
      `${API}/runs/search`,
      dropUndefined({
        experiment_ids: options.experimentIds,
        filter: options.filter,
        run_view_type: options.viewType,
        max_results: options.maxResults ?? SEARCH_MAX_RESULTS_DEFAULT,
        order_by: options.orderBy,
        page_token: options.pageToken,
      }),
    );
    return {
      items: (response.runs ?? []).map(decodeRun),
      nextPageToken: response.next_page_token || undefined,
    };
  }

  /** `POST /runs/log-batch` as given; NaN and ±Infinity travel as the strings `"NaN"`, `"Infinity"`, `"-Infinity"`. */
  async logBatch(runId: string, batch: LogBatch): Promise<void> {
    await this.#http.json('POST', `${API}/runs/log-batch`, {
      run_id: runId,
      metrics: (batch.metrics ?? []).map(encodeMetric),
      params: batch.params ?? [],
      tags: batch.tags ?? [],
    });
  }

  /** `POST /runs/log-inputs`: datasets the run used; the server keeps one copy of a dataset already logged. */
  async logInputs(runId: string, datasets: DatasetInput[]): Promise<void> {
    await this.#http.json('POST', `${API}/runs/log-inputs`, {
      run_id: runId,
      datasets: datasets.map(encodeDatasetInput),
    });
  }

  /** `POST /runs/delete-tag`. */
  async deleteTag(runId: string, key: string): Promise<void> {
    await this.#http.json('POST', `${API}/runs/delete-tag`, { run_id: runId, key });
  }

  /** `GET /metrics/get-history`, one page; `max_results` is always sent (default 25000, as Python). */
  async getMetricHistory(
    runId: string,
    key: string,
    options: { maxResults?: number; pageToken?: string } = {},
  ): Promise<Page<Metric>> {
    const response = await this.#http.json<{ metrics?: WireMetric[]; next_page_token?: string }>(
      'GET',
      `${API}/metrics/get-history`,
      dropUndefined({
        run_id: runId,
        metric_key: key,
        max_results: options.maxResults ?? METRIC_HISTORY_MAX_RESULTS,
        page_token: options.pageToken,
      }),
    );
    return {
      items: (response.metrics ?? []).map(decodeMetric),
      nextPageToken: response.next_page_token || undefined,
    };
  }

  /** PUT through the artifact proxy (`mlflow-artifacts:` and `http(s)` roots) or a direct write (`file:` roots); file sources are streamed. */
  uploadArtifact(artifactUri: string, relativePath: string, source: ArtifactSource): Promise<void> {
    return this.#artifacts.upload(artifactUri, relativePath, source);
  }

  /** One directory level, paths relative to the artifact root. */
  listArtifacts(artifactUri: string, relativePath?: string): Promise<FileInfo[]> {
    return this.#artifacts.list(artifactUri, relativePath);
  }

  /** GET through the artifact proxy, or a direct read for `file:` roots. */
  downloadArtifact(artifactUri: string, relativePath: string): Promise<Uint8Array> {
    return this.#artifacts.download(artifactUri, relativePath);
  }

  /** `<trackingUri>/#/experiments/<experimentId>/runs/<runId>`, the link Python prints. */
  runUrl(experimentId: string, runId: string): string {
    return `${this.trackingUri}/#/experiments/${encodeURIComponent(experimentId)}/runs/${encodeURIComponent(runId)}`;
  }

  /** Closes the connection pool; in-flight requests finish first. */
  async close(): Promise<void> {
    await this.#http.close();
  }
}
