import { diag } from '../diag.js';
import { deleteOpenRun, openPageSpool, type PageOpenRun, writeOpenRun } from './page-spool-store.js';

/**
 * How often an open page run refreshes its record's `lastSeen`: a run whose page died is ended with an end
 * time at most this long before the page went.
 */
export const LAST_SEEN_INTERVAL_MS = 15_000;

// The part of the Web Locks API used here, typed locally: the packages compile without the DOM library.
interface LockManager {
  request<T>(name: string, callback: (lock: unknown) => Promise<T> | T): Promise<T>;
  request<T>(
    name: string,
    options: { ifAvailable: boolean },
    callback: (lock: unknown) => Promise<T> | T,
  ): Promise<T>;
}

/** The page's Web Locks API, where the browser has one. */
export const locks = (): LockManager | undefined =>
  (globalThis as { navigator?: { locks?: LockManager } }).navigator?.locks;
const lockName = (uri: string, runId: string): string => `mlflow-kit-run ${uri} ${runId}`;
const describe = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** The handle of {@link markRunOpen}. */
export interface OpenPageRun {
  /** Refreshes the record's `lastSeen` now (the page is being hidden, and may not come back). */
  seen(): void;
  /** The run's end status is on the server or in the spool: deletes the record and lets go of the lock. */
  close(): Promise<void>;
}

const NOT_RECORDED: OpenPageRun = { seen: () => undefined, close: async () => undefined };

/**
 * Records a page run as open until {@link OpenPageRun.close}: the page holds the Web Lock
 * `mlflow-kit-run <uri> <runId>` all that time (the browser lets go of it when the page goes away, however it
 * goes), and IndexedDB holds a {@link PageOpenRun} record, written once the lock is held and refreshed every
 * {@link LAST_SEEN_INTERVAL_MS}. A record whose lock is free belongs to a page that is gone without its end
 * status: the replay of the next visit ends that run `KILLED` ({@link isRunLive}). Without Web Locks or
 * IndexedDB a page cannot tell a gone page from a live one, and nothing is recorded.
 */
export function markRunOpen(run: Omit<PageOpenRun, 'lastSeen'>): OpenPageRun {
  const manager = locks();
  if (!manager) return NOT_RECORDED;
  let release: () => void = () => undefined;
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  // The record is written only once the lock is held (no replay can see it unlocked), and never without it.
  const locked = new Promise<boolean>((granted) => {
    manager
      .request(lockName(run.uri, run.runId), () => {
        granted(true);
        return held;
      })
      .catch((error: unknown) => {
        diag.debug(`Could not hold the lock of run ${run.runId}: ${describe(error)}`);
        granted(false);
      });
  });
  // Writes go one after another.
  let chain = Promise.resolve();
  let closed = false;
  const write = (what: (db: Awaited<ReturnType<typeof openPageSpool>>) => Promise<void>): Promise<void> => {
    chain = chain
      .then(async () => {
        if (await locked) await what(await openPageSpool());
      })
      .catch((error: unknown) => diag.debug(`The open-run record of run ${run.runId}: ${describe(error)}`));
    return chain;
  };
  const seen = (): void => {
    if (!closed) void write((db) => writeOpenRun(db, { ...run, lastSeen: Date.now() }));
  };
  seen();
  const timer = setInterval(seen, LAST_SEEN_INTERVAL_MS);
  return {
    seen,
    async close() {
      if (closed) return chain;
      closed = true;
      clearInterval(timer);
      await write((db) => deleteOpenRun(db, run.uri, run.runId));
      release();
    },
  };
}

/**
 * Whether a page (this one or another tab of the origin) holds run `runId` open: `false` when its lock is
 * free (its page is gone), `undefined` where the browser has no Web Locks.
 */
export async function isRunLive(uri: string, runId: string): Promise<boolean | undefined> {
  const manager = locks();
  if (!manager) return undefined;
  return manager.request(lockName(uri, runId), { ifAvailable: true }, (lock) => lock === null);
}
