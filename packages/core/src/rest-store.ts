import { HttpClient } from './internal/http.js';
import { RestArtifacts } from './internal/rest-artifacts.js';
import { type RestStoreOptions, RestTrackingStore } from './internal/rest-tracking-store.js';
import type { ResolvedSettings } from './settings.js';

export type { RestStoreOptions } from './internal/rest-tracking-store.js';

/**
 * A {@link TrackingStore} backed by an MLflow tracking server's REST API (`/api/2.0/mlflow/...`), with
 * artifacts through the server's artifact proxy and the model registry as {@link RestStore.registry}.
 *
 * It sends what it is given and throws {@link MlflowApiError} on failure, after retrying network errors,
 * 408, 429 and 5xx as MLflow's Python client does. Credentials never appear in its errors or diagnostics.
 *
 * @example
 * ```ts
 * import { closeStores, getStore, resolveSettings } from '@mlflow-kit/core';
 *
 * // An http(s) tracking URI gives a RestStore.
 * const store = await getStore(resolveSettings({ trackingUri: 'http://127.0.0.1:5000' }));
 * const experimentId = await store.createExperiment('demo');
 * const run = await store.createRun({ experimentId, startTime: Date.now(), userId: 'me', tags: {} });
 * await store.logBatch(run.info.runId, { metrics: [{ key: 'loss', value: 0.5, timestamp: Date.now(), step: 0 }] });
 * await closeStores();
 * ```
 */
export class RestStore extends RestTrackingStore {
  /**
   * @param settings - resolved settings; `trackingUri` must be http(s).
   * @param options - test hooks and registration polling.
   */
  constructor(settings: ResolvedSettings, options: RestStoreOptions = {}) {
    const http = new HttpClient(settings, options.sleep ? { sleep: options.sleep } : {});
    super(settings, http, new RestArtifacts(http, settings.trackingUri.replace(/\/+$/, '')), options);
  }
}
