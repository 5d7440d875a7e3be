import { FetchHttpClient } from '../internal/fetch-http-client.js';
import { ProxyArtifacts } from '../internal/proxy-artifacts.js';
import { RestTrackingStore } from '../internal/rest-tracking-store.js';
import type { ResolvedSettings } from '../settings.js';
import type { TrackingStore } from '../store.js';

/** The REST store of a page: the proxied artifact API and the same client policy over `fetch`. */
export function createPageStore(settings: ResolvedSettings): TrackingStore {
  const http = new FetchHttpClient(settings);
  return new RestTrackingStore(settings, http, new ProxyArtifacts(http, settings.trackingUri));
}

/**
 * The store of a page that is going away: each request is sent once, with `fetch`'s `keepalive` (so that it
 * outlives the page; the browser caps the bodies of such requests in flight at 64 KiB per page) and without
 * a timeout signal tied to the page.
 */
export function createKeepaliveStore(settings: ResolvedSettings): TrackingStore {
  const http = new FetchHttpClient(
    { ...settings, maxRetries: 0 },
    {
      fetch: (input, init) => {
        const { signal: _signal, ...rest } = init ?? {};
        return globalThis.fetch(input, { ...rest, keepalive: true });
      },
    },
  );
  return new RestTrackingStore(settings, http, new ProxyArtifacts(http, settings.trackingUri));
}
