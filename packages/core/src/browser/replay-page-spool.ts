import { diag } from '../diag.js';
import { MlflowApiError, MlflowConfigError, MlflowRunDeletedError } from '../errors.js';
import { applyDebugOption } from '../internal/apply-debug-option.js';
import { chunkBatch } from '../internal/log-batch-chunks.js';
import type { TrackingOptions } from '../settings.js';
import type { TrackingStore } from '../store.js';
import { findOrCreateOfflineRun } from './offline-page-run.js';
import { isRunLive, locks } from './open-page-runs.js';
import {
  deleteItem,
  deleteOpenRun,
  type IDBDatabase,
  openPageSpool,
  type PageSpoolItem,
  readItems,
  readOpenRuns,
  readRunMapping,
} from './page-spool-store.js';
import { createPageStore } from './page-store.js';
import { resolveBrowserSettings } from './settings.js';

/** What {@link replayPageSpool} uploaded. */
export interface PageSpoolReplaySummary {
  /** Ids of the server's runs that got data or their end status from the spool. */
  runs: string[];
  /** Metric points uploaded. */
  points: number;
  /** Items (batches, artifacts, inputs, end statuses) uploaded and deleted from the spool. */
  items: number;
  /**
   * Ids of the server's runs ended `KILLED` because their page went away without leaving its end status in
   * the spool (a crashed tab, or one closed before its last IndexedDB write committed); also in `runs`.
   */
  killed: string[];
  /**
   * Whether nothing of this server is left in the spool; `false` when the server did not answer (what is
   * left is tried again on the next visit) or refused a deleted run.
   */
  complete: boolean;
}

/** Options of {@link replayPageSpool}: the tracking options of `startRun` (`enabled`, `trackingUri`, auth). */
export type ReplayPageSpoolOptions = TrackingOptions & {
  /** The store to upload to, instead of the REST store of `trackingUri`. @defaultValue the REST store */
  store?: TrackingStore;
};

const PAGE_SIZE = 16;
const describe = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** The server's run an item goes to. */
interface ServerRun {
  runId: string;
  artifactUri: string;
}

async function send(destination: TrackingStore, item: PageSpoolItem, run: ServerRun): Promise<number> {
  switch (item.kind) {
    case 'batch':
      for (const chunk of chunkBatch(item.batch)) await destination.logBatch(run.runId, chunk);
      return item.batch.metrics?.length ?? 0;
    case 'artifact':
      // A run resumed while the server did not answer has no artifact root in its items.
      if (run.artifactUri === '') run.artifactUri = (await destination.getRun(run.runId)).info.artifactUri;
      await destination.uploadArtifact(run.artifactUri, item.path, { bytes: item.bytes });
      return 0;
    case 'inputs':
      await destination.logInputs(run.runId, item.datasets);
      return 0;
    case 'end':
      await destination.updateRun(run.runId, { status: item.status, endTime: item.endTime });
      return 0;
  }
}

// Runs started offline in this page whose own create request is still in flight: replaying them now would
// create them a second time (the request's source tag lets a later replay find the run it makes).
const held = new Set<string>();
const heldKey = (uri: string, localRunId: string): string => `${uri} ${localRunId}`;

/**
 * Holds the replay of the offline run `localRunId` (in this page) until `create` settles; the promise
 * returned resolves once the hold is off (never rejects).
 */
export function holdOfflineRun(uri: string, localRunId: string, create: Promise<unknown>): Promise<void> {
  const key = heldKey(uri, localRunId);
  held.add(key);
  const release = (): void => {
    held.delete(key);
  };
  return create.then(release, release);
}

// One upload of a server's spool at a time across the tabs of the origin, where the browser has Web Locks;
// without them two tabs may send the same item twice, which the server ignores (exact duplicates).
function exclusively<T>(uri: string, work: () => Promise<T>): Promise<T> {
  const manager = locks();
  return manager ? manager.request(`mlflow-kit-spool ${uri}`, work) : work();
}

/**
 * Ends `KILLED` the runs of `uri` whose page went away without leaving their end status in the spool: their
 * open-run record is there, their lock is free, and none of their items is left. The end time is when the
 * page was last seen; a run the server no longer shows as RUNNING is left as it is. Stops (and marks the
 * summary incomplete) at the first transport failure.
 */
async function endGoneRuns(
  db: IDBDatabase,
  destination: TrackingStore,
  uri: string,
  runId: string | undefined,
  skipped: Set<string>,
  summary: PageSpoolReplaySummary,
): Promise<void> {
  for (const open of await readOpenRuns(db, uri)) {
    if ((runId !== undefined && open.runId !== runId) || skipped.has(open.runId)) continue;
    if ((await isRunLive(uri, open.runId)) !== false) continue;
    let serverRunId = open.runId;
    if (open.offline) {
      // A run started offline that never reached the server (nothing of it did) has nothing to end there.
      const mapping = await readRunMapping(db, uri, open.runId);
      if (!mapping) {
        await deleteOpenRun(db, uri, open.runId);
        continue;
      }
      serverRunId = mapping.runId;
    }
    try {
      const record = await destination.getRun(serverRunId);
      if (record.info.status === 'RUNNING') {
        await destination.updateRun(serverRunId, {
          status: 'KILLED',
          endTime: Math.max(open.lastSeen, record.info.startTime),
        });
        summary.killed.push(serverRunId);
        if (!summary.runs.includes(serverRunId)) summary.runs.push(serverRunId);
        diag.info(`Run ${serverRunId}: its page went away without ending it; ended KILLED.`);
      }
    } catch (error) {
      if (
        MlflowApiError.isInstance(error) &&
        !error.retryable &&
        MlflowRunDeletedError.answerOf(error) === undefined
      ) {
        // The server does not know the run (it was removed): nothing to end.
        diag.debug(`Run ${serverRunId} of a page that went away: ${describe(error)}`);
      } else {
        summary.complete = false;
        diag.warn(
          `Could not end run ${serverRunId}, whose page went away, on ${uri} now (${describe(error)}); the next visit tries again.`,
        );
        if (!MlflowApiError.isInstance(error) || error.retryable) return;
        continue;
      }
    }
    await deleteOpenRun(db, uri, open.runId);
  }
}

/**
 * Uploads what the page spool holds for the server `uri` (only run `runId`'s items when given) to
 * `destination`, in the order written: each item is deleted once the server has acknowledged it, so an
 * interrupted upload goes on where it stopped. A run's end status comes after its data, and is not applied
 * while earlier data of that run is left. Stops at the first transport failure (the server does not
 * answer); an item the server refuses (4xx) is reported and dropped, as the live run drops it; a run the
 * server answers is deleted keeps its items. Never rejects.
 */
export async function uploadPageSpool(
  destination: TrackingStore,
  uri: string,
  runId?: string,
): Promise<PageSpoolReplaySummary> {
  const summary: PageSpoolReplaySummary = { runs: [], points: 0, items: 0, killed: [], complete: true };
  try {
    await exclusively(uri, async () => {
      const db = await openPageSpool();
      const skipped = new Set<string>();
      const onServer = new Map<string, ServerRun>();
      let after = 0;
      for (;;) {
        const page = await readItems(db, after, PAGE_SIZE);
        if (page.length === 0) {
          await endGoneRuns(db, destination, uri, runId, skipped, summary);
          return;
        }
        for (const item of page) {
          after = item.id!;
          if (item.uri !== uri || (runId !== undefined && item.runId !== runId)) continue;
          if (skipped.has(item.runId)) continue;
          if (item.create && held.has(heldKey(uri, item.runId))) {
            skipped.add(item.runId);
            summary.complete = false;
            diag.debug(`Run ${item.runId}: its create request is still in flight; the replay waits for it.`);
            continue;
          }
          let run = onServer.get(item.runId);
          if (!run) {
            try {
              run = item.create
                ? await findOrCreateOfflineRun(db, destination, uri, item.runId, item.create)
                : { runId: item.runId, artifactUri: item.artifactUri };
            } catch (error) {
              summary.complete = false;
              const refused =
                MlflowConfigError.isInstance(error) || (MlflowApiError.isInstance(error) && !error.retryable);
              if (!refused) {
                diag.warn(
                  `${uri} does not take the page spool's data now (${describe(error)}); it stays in IndexedDB for the next try.`,
                );
                return;
              }
              // A deleted experiment, a refusal: the run's items stay until the cause is fixed.
              skipped.add(item.runId);
              diag.error(
                `Could not create run ${item.runId}, started offline, on ${uri}: ${describe(error)}; its spooled data stays in the page's IndexedDB.`,
              );
              continue;
            }
            onServer.set(item.runId, run);
          }
          try {
            summary.points += await send(destination, item, run);
          } catch (error) {
            if (MlflowRunDeletedError.answerOf(error) !== undefined) {
              skipped.add(item.runId);
              summary.complete = false;
              diag.error(
                `Run ${item.runId} is deleted on ${uri}: its spooled data stays in the page's IndexedDB until it is restored (mlflow gc removes it for good).`,
              );
              continue;
            }
            if (!MlflowApiError.isInstance(error) || error.retryable) {
              summary.complete = false;
              diag.warn(
                `${uri} does not take the page spool's data now (${describe(error)}); it stays in IndexedDB for the next try.`,
              );
              return;
            }
            diag.error(`The server refused spooled ${item.kind} of run ${item.runId}: ${describe(error)}`);
          }
          await deleteItem(db, item.id!);
          // Its end status is on the server: the run's page left nothing more to do.
          if (item.kind === 'end') await deleteOpenRun(db, uri, item.runId);
          summary.items++;
          if (!summary.runs.includes(run.runId)) summary.runs.push(run.runId);
        }
      }
    });
  } catch (error) {
    summary.complete = false;
    diag.warn(`Could not read the page spool for ${uri}: ${describe(error)}`);
  }
  if (summary.items > 0)
    diag.info(`Replayed ${summary.points} spooled point(s) of ${summary.runs.length} run(s) to ${uri}.`);
  return summary;
}

/**
 * Uploads what earlier visits of this origin left in the page spool (IndexedDB database
 * `mlflow-kit-spool`) for the server `trackingUri`: the data of runs whose page was reloaded or closed while
 * the server did not take it, then their end status (`KILLED` for a page that went away). A page run does
 * this by itself when it starts; call this in a page that wants it without starting a run.
 *
 * Tracking must be on (`enabled: true`), as for `startRun`; off, nothing is opened and nothing is sent.
 * Throws {@link MlflowConfigError} for a configuration mistake; never rejects for transport trouble (what
 * the server does not take stays for the next visit, reported through `diag`).
 *
 * @example
 * ```ts
 * import { replayPageSpool } from '@mlflow-kit/core';
 *
 * const { points, complete } = await replayPageSpool({ enabled: true, trackingUri: 'http://127.0.0.1:5000' });
 * ```
 */
export async function replayPageSpool(options: ReplayPageSpoolOptions): Promise<PageSpoolReplaySummary> {
  const settings = resolveBrowserSettings(options);
  applyDebugOption(settings.debug, {});
  if (!settings.enabled) {
    diag.debug('replayPageSpool: tracking is off (pass enabled: true); nothing is replayed.');
    return { runs: [], points: 0, items: 0, killed: [], complete: true };
  }
  return uploadPageSpool(options.store ?? createPageStore(settings), settings.trackingUri);
}
