// The page of test/browser/reload-spool.test.ts. `?mode=run` starts a run on the server in the query string
// and lets the test log points into it (`window.logSteps`); loaded again in the same tab (a reload, known by
// sessionStorage) it starts nothing and tries the page spool once, with the server still down. `?mode=replay`
// is the next visit: it only uploads what the page spool holds. `?mode=offline` runs `withRun` with a short
// start bound (the test stops the server first, or delays its create request): the callback logs the first
// half of `points`, waits for `window.resumeTraining()`, then logs the rest, and `window.result` gets `ended`.
// Each leaves what it saw in `window.result`.
import { type Run, startRun, withRun } from '@mlflow-kit/core';
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
  resumeTraining?: () => void;
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
  if (query.get('mode') === 'offline') return trainOffline(debug, spooledItems);
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

/** `withRun` while the server does not answer: training starts at once, within the start bound. */
async function trainOffline(debug: boolean, spooledItems: number): Promise<SpoolPageResult> {
  const points = Number(query.get('points') ?? 1000);
  const half = Math.floor(points / 2);
  const resume = new Promise<void>((resolve) => {
    page.resumeTraining = resolve;
  });
  const called = Date.now();
  await withRun(
    {
      enabled: true,
      trackingUri,
      experimentName,
      startTimeoutSeconds: Number(query.get('startTimeoutSeconds') ?? 1),
      offlineProbeIntervalSeconds: 1,
      maxRetries: 0,
      debug,
    },
    async (run) => {
      page.run = run;
      const startMs = Date.now() - called;
      for (let step = 0; step < half; step++) run.logMetric('loss', step * 0.5, { step });
      page.result = { runId: run.runId, startMs, spooledItems };
      await resume;
      for (let step = half; step < points; step++) run.logMetric('loss', step * 0.5, { step });
    },
  );
  return { ...page.result, ended: true };
}

main().then(
  (result) => {
    page.result = result;
  },
  (error: unknown) => {
    page.result = { error: error instanceof Error ? (error.stack ?? error.message) : String(error) };
  },
);
