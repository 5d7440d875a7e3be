import { getStore, resolveSettings, type TrackingOptions, type TrackingStore } from '@mlflow-kit/core';

/**
 * The store mlflow-kit uses for `options` (an http(s) URI gives the REST store, a path or `file:` URI the
 * local store), reached as a user reaches it: through the public `getStore`, ignoring the environment.
 * Stores are shared per configuration: close them all with `closeStores()`.
 */
export function storeFor(options: TrackingOptions): Promise<TrackingStore> {
  return getStore(resolveSettings(options, {}));
}
