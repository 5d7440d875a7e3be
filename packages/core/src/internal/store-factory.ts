import { MlflowConfigError } from '../errors.js';
import type { ResolvedSettings } from '../settings.js';
import type { TrackingStore } from '../store.js';
import { globals } from './global.js';
import type { UriStoreKind } from './store-kinds.js';

/**
 * How each kind of store in the scheme table of `store-kinds.ts` is made. Its module is imported here, on
 * first use, so that tracking off loads none of them (nor undici).
 */
const STORES: { readonly [Kind in UriStoreKind]: (settings: ResolvedSettings) => Promise<TrackingStore> } = {
  rest: (settings) => import('../rest-store.js').then(({ RestStore }) => new RestStore(settings)),
  local: (settings) =>
    import('../local-store.js').then(({ LocalStore }) => new LocalStore(settings.localPath!)),
};

/** Makes a new store of the kind resolved settings select (uncached: see {@link getStore}). */
export function openStore(settings: ResolvedSettings): Promise<TrackingStore> {
  const open = STORES[settings.storeKind] as
    | ((settings: ResolvedSettings) => Promise<TrackingStore>)
    | undefined;
  if (open === undefined) {
    throw new MlflowConfigError(
      `No store serves the kind "${settings.storeKind}": resolve the settings with resolveSettings().`,
      { setting: 'trackingUri' },
    );
  }
  return open(settings);
}

function cache(): Map<string, Promise<TrackingStore>> {
  return globals.part('core.stores', () => new Map<string, Promise<TrackingStore>>());
}

function cacheKey(settings: ResolvedSettings): string {
  // Credentials are part of the identity of a connection, but only ever kept in memory.
  return JSON.stringify([
    settings.trackingUri,
    settings.username,
    settings.password,
    settings.token,
    settings.insecureTls,
    settings.serverCertPath,
    settings.clientCertPath,
    settings.requestTimeoutMs,
    settings.maxRetries,
    settings.backoffFactorMs,
    settings.backoffJitterMs,
    settings.headers,
  ]);
}

/**
 * The store for resolved settings, made once per distinct configuration and shared, so runs to the same
 * server share one keep-alive pool. The store's module is imported on first use, so that a program with
 * tracking off never loads undici.
 */
export function getStore(settings: ResolvedSettings): Promise<TrackingStore> {
  const key = cacheKey(settings);
  const stores = cache();
  let store = stores.get(key);
  if (!store) {
    store = openStore(settings);
    store.catch(() => stores.delete(key));
    stores.set(key, store);
  }
  return store;
}

/** Closes every cached store (connection pools, file handles). */
export async function closeStores(): Promise<void> {
  const stores = cache();
  const all = [...stores.values()];
  stores.clear();
  await Promise.allSettled(all.map(async (store) => (await store).close()));
}
