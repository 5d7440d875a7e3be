import type { ResolvedSettings } from '../settings.js';
import type { TrackingStore } from '../store.js';
import { globals } from './global.js';
import { openStore } from './store-kinds.js';

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
 * server share one keep-alive pool. The store's module is imported on first use (see `store-kinds.ts`), so
 * that a program with tracking off never loads undici.
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
