import { diag } from '../diag.js';
import { replayLocalRuns } from '../replay-local-runs.js';
import type { RunSpool } from '../spool.js';
import type { TrackingStore } from '../store.js';
import { inBackground } from './background.js';

// One replay per spool store at a time in this process (the engine's lock refuses a second one): a replay
// asked for while one runs waits for it and then runs once more, for what was spooled in between.
const running = new Map<string, Promise<string | undefined>>();

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

async function replayOnce(spool: RunSpool, destination: TrackingStore): Promise<string | undefined> {
  const snapshot = { points: spool.points, items: spool.items, statusWritten: spool.endStatus !== undefined };
  const summary = await replayLocalRuns({
    from: spool.storeDir,
    destination,
    runIds: [spool.localRunId],
    concurrency: 1,
  });
  const run = summary.runs.find((entry) => entry.localRunId === spool.localRunId);
  if (!run || run.outcome === 'failed') {
    diag.warn(
      `The replay of run ${spool.localRunId}'s spool did not finish (${run?.error ?? 'run not found in the spool'}); it stays in ${spool.storeDir}.`,
    );
    return undefined;
  }
  spool.markReplayed(snapshot);
  diag.info(
    `Replayed ${run.pointsUploaded} spooled point(s) of run ${spool.localRunId} into ${run.remoteRunId} on ${summary.destination}.`,
  );
  return run.remoteRunId;
}

/**
 * The background replay: uploads a run's spool to its server with the engine of `mlflow-kit sync`
 * ({@link replayLocalRuns}) through the store the process already has. A run the server knows gets its
 * spooled data added (the sidecar names it); a run started offline is created there. The data goes first,
 * the end status written to the spool last. What was uploaded is recorded in the spool store's sync state,
 * so a later replay, or `mlflow-kit sync`, sends only what was spooled since. Background work: its requests
 * do not keep the process alive. Resolves with the id of the server's run once everything spooled so far is
 * there, else `undefined` (the data stays in the spool). Never rejects.
 */
export function replaySpoolRun(spool: RunSpool, destination: TrackingStore): Promise<string | undefined> {
  const key = spool.storeDir;
  const previous = running.get(key) ?? Promise.resolve();
  const next = previous
    .then(() => (spool.pending ? inBackground(() => replayOnce(spool, destination)) : undefined))
    .catch((error: unknown) => {
      diag.warn(`The replay of ${spool.storeDir} failed: ${describe(error)}; the data stays in the spool.`);
      return undefined;
    })
    .finally(() => {
      if (running.get(key) === next) running.delete(key);
    });
  running.set(key, next);
  return next;
}
