import { contextState } from '../context.js';
import { diag } from '../diag.js';
import type { RecordingRun } from '../recording-run.js';
import type { TrackingStore } from '../store.js';
import type { KeyValue, LogBatch, Metric } from '../types.js';
import { LIMITS } from '../validation.js';
import type { IndexedDbSpool } from './indexeddb-spool.js';
import type { OpenPageRun } from './open-page-runs.js';

/** A page run the lifecycle watches. */
interface PageRun {
  run: RecordingRun;
  spool: IndexedDbSpool;
  /** Its open-run record, deleted once its end status is on the server or in the spool. */
  open: OpenPageRun;
  /** The store for `keepalive` requests, made on first use; none for a store passed in. */
  keepalive: (() => TrackingStore) | undefined;
}

/**
 * Bytes of request bodies sent with `keepalive` when the page goes away, all runs together: Chrome refuses
 * `keepalive` requests once the bodies in flight of a page pass 64 KiB; what does not fit is in IndexedDB.
 */
export const KEEPALIVE_BUDGET_BYTES = 60 * 1024;

const runs = new Set<PageRun>();
const describe = (error: unknown): string => (error instanceof Error ? error.message : String(error));

const target = (): EventTarget | undefined =>
  typeof (globalThis as { addEventListener?: unknown }).addEventListener === 'function'
    ? (globalThis as unknown as EventTarget)
    : undefined;

function onPageHide(event: Event): void {
  // persisted: the page goes into the back/forward cache and may come back, so the runs go on.
  flushPageRuns((event as Event & { persisted?: boolean }).persisted ? undefined : 'KILLED');
}

function onVisibilityChange(): void {
  const hidden = (globalThis as { document?: { visibilityState?: string } }).document?.visibilityState;
  if (hidden === 'hidden') flushPageRuns(undefined);
  else for (const { run, spool } of runs) if (spool.pending) void spool.replay(run.store);
}

function listen(on: boolean): void {
  const events = target();
  if (!events) return;
  const method = on ? 'addEventListener' : 'removeEventListener';
  events[method]('pagehide', onPageHide);
  (globalThis as { document?: EventTarget }).document?.[method]('visibilitychange', onVisibilityChange);
}

function forget(entry: PageRun): void {
  if (!runs.delete(entry)) return;
  if (runs.size === 0) listen(false);
}

/**
 * Watches a page run that has a spool until it ends: on `pagehide` and when the page is hidden, what it holds
 * in memory goes to IndexedDB (see {@link flushPageRuns}). Listeners exist only while such a run is open.
 * Once its end status is on the server or in the spool, its open-run record `open` is closed.
 */
export function watchPageRun(
  run: RecordingRun,
  spool: IndexedDbSpool,
  open: OpenPageRun,
  keepalive: (() => TrackingStore) | undefined,
): void {
  const entry: PageRun = { run, spool, open, keepalive };
  if (runs.size === 0) listen(true);
  runs.add(entry);
  // After end() has settled (its status is on the server or in the spool), the run needs no watching.
  run.onEnd(() => {
    void Promise.resolve()
      .then(() => run.end())
      .catch(() => undefined)
      .finally(() => {
        forget(entry);
        void open.close();
      });
  });
}

/**
 * What a page that is hidden (`endStatus` undefined) or goes away (`'KILLED'`) does for each open page run,
 * synchronously: everything not known to be on the server (queued, or in a request not yet answered) is
 * written to IndexedDB with transactions started at once and asked to commit, and, going away, the end
 * status after it (the run ends KILLED on the server when the spool is replayed, not before its data).
 * Then as much of that data as fits in {@link KEEPALIVE_BUDGET_BYTES} is sent with `keepalive`; the copy in
 * IndexedDB is replayed all the same (the server ignores exact duplicates). A run with nothing left to
 * send gets its end status by `keepalive` too.
 */
export function flushPageRuns(endStatus: 'KILLED' | undefined): void {
  let budget = KEEPALIVE_BUDGET_BYTES;
  const open = contextState().open;
  for (const entry of [...runs]) {
    const { run, spool } = entry;
    // Hidden, the page may never come back: the record says when it was last seen.
    if (!endStatus) entry.open.seen();
    if (!open.has(run)) {
      forget(entry);
      continue;
    }
    const hadData = spool.pendingData;
    let written: LogBatch[] = [];
    try {
      written = spool.capture(() => {
        if (endStatus) run.spoolAtExit(endStatus);
        else run.spoolPending();
      });
    } catch (error) {
      diag.error(`Could not write run ${run.runId} to the page spool: ${describe(error)}`);
    }
    spool.commitNow();
    if (endStatus) forget(entry);
    if (!entry.keepalive) continue;
    try {
      const batch = keepaliveBatch(written, budget);
      if (batch) {
        budget -= batch.bytes;
        entry
          .keepalive()
          .logBatch(run.runId, batch.batch)
          .catch(() => undefined);
      } else if (endStatus && written.length === 0 && !hadData && budget > 200) {
        budget -= 200;
        entry
          .keepalive()
          .updateRun(run.runId, { status: spool.endStatus ?? endStatus, endTime: Date.now() })
          .catch(() => undefined);
      }
    } catch (error) {
      diag.debug(`The keepalive send of run ${run.runId} failed: ${describe(error)}`);
    }
  }
}

// The oldest items of the written batches that fit in one log-batch request of at most `budget` bytes.
function keepaliveBatch(written: LogBatch[], budget: number): { batch: LogBatch; bytes: number } | undefined {
  const params: KeyValue[] = [];
  const tags: KeyValue[] = [];
  const metrics: Metric[] = [];
  let bytes = 64;
  const fits = (item: unknown): boolean => {
    const size = JSON.stringify(item).length + 1;
    if (bytes + size > budget) return false;
    bytes += size;
    return true;
  };
  outer: for (const batch of written) {
    for (const item of [...(batch.params ?? []), ...(batch.tags ?? [])]) {
      const list = batch.params?.includes(item) ? params : tags;
      if (params.length + tags.length >= LIMITS.maxParamsTagsPerBatch || !fits(item)) break outer;
      list.push(item);
    }
    for (const point of batch.metrics ?? []) {
      if (metrics.length >= LIMITS.maxMetricsPerBatch || !fits(point)) break outer;
      metrics.push(point);
    }
  }
  if (params.length + tags.length + metrics.length === 0) return undefined;
  const batch: LogBatch = {};
  if (params.length > 0) batch.params = params;
  if (tags.length > 0) batch.tags = tags;
  if (metrics.length > 0) batch.metrics = metrics;
  return { batch, bytes };
}
