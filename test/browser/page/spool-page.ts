// The page of test/browser/reload-spool.test.ts. `?mode=run` starts a run on the server in the query string
// and lets the test log points into it (`window.logSteps`); loaded again in the same tab (a reload, known by
// sessionStorage) it starts nothing and tries the page spool once, with the server still down. `?mode=replay`
// is the next visit: it only uploads what the page spool holds. Each leaves what it saw in `window.result`.
import { type Run, startRun } from '@mlflow-kit/core';
// The browser entry exports it; the page's type check resolves `@mlflow-kit/core` to the Node entry, so the
// page names the module (the bundle holds one copy of it either way).
import { replayPageSpool } from '../../../packages/core/src/browser/replay-page-spool.js';
import type { SpoolPageResult } from './spool-page-result.js';

const page = globalThis as unknown as {
  result?: SpoolPageResult;
  location: Location;
  run?: Run;
  logSteps?: (from: number, to: number) => void;
  flushRun?: () => Promise<void>;
  endRun?: () => Promise<void>;
  countSpool?: () => Promise<number>;
};
const query = new URLSearchParams(page.location.search);
const trackingUri = query.get('trackingUri') ?? '';
const experimentName = query.get('experiment') ?? 'spool-page';

/** Items in the page spool's database, read with the raw IndexedDB API (0 when it does not exist yet). */
function countSpooledItems(): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open('mlflow-kit-spool');
    request.onupgradeneeded = () => request.transaction?.abort();
    request.onerror = () => resolve(0);
    request.onsuccess = () => {
      const db = request.result;
      if (!db.objectStoreNames.contains('items')) {
        db.close();
        resolve(0);
        return;
      }
      const count = db.transaction('items', 'readonly').objectStore('items').count();
      count.onsuccess = () => {
        db.close();
        resolve(count.result);
      };
      count.onerror = () => reject(count.error);
    };
  });
}

async function main(): Promise<SpoolPageResult> {
  page.countSpool = countSpooledItems;
  const debug = query.has('debug');
  const spooledItems = await countSpooledItems();
  if (query.get('mode') === 'replay') {
    return { spooledItems, replay: await replayPageSpool({ enabled: true, trackingUri, debug }) };
  }
  if (sessionStorage.getItem('spool-page-started')) {
    // The reload, with the server down: the spool stays for the next visit.
    const replay = await replayPageSpool({ enabled: true, trackingUri, maxRetries: 0, debug });
    return { reloaded: true, spooledItems, replay };
  }
  sessionStorage.setItem('spool-page-started', '1');
  const run = await startRun({
    enabled: true,
    trackingUri,
    experimentName,
    maxRetries: 1,
    debug,
    ...(query.has('flushIntervalMs') ? { flushIntervalMs: Number(query.get('flushIntervalMs')) } : {}),
  });
  page.run = run;
  page.logSteps = (from, to) => {
    for (let step = from; step < to; step++) run.logMetric('loss', step * 0.5, { step });
  };
  page.flushRun = () => run.flush();
  page.endRun = () => run.end();
  return { runId: run.runId, spooledItems };
}

main().then(
  (result) => {
    page.result = result;
  },
  (error: unknown) => {
    page.result = { error: error instanceof Error ? (error.stack ?? error.message) : String(error) };
  },
);
