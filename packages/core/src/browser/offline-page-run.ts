import { getOrCreateExperiment } from '../internal/place-run.js';
import { SOURCE_RUN_TAG } from '../internal/replay-runs.js';
import type { TrackingStore } from '../store.js';
import {
  type IDBDatabase,
  type PageRunCreate,
  type PageRunMapping,
  readRunMapping,
  writeRunMapping,
} from './page-spool-store.js';

/** The server's run whose create request carried the source tag `localRunId`, if one reached the server. */
export async function findRunBySourceTag(
  destination: TrackingStore,
  experimentId: string,
  localRunId: string,
): Promise<PageRunMapping | undefined> {
  const found = await destination.searchRuns({
    experimentIds: [experimentId],
    filter: `tags.\`${SOURCE_RUN_TAG}\` = '${localRunId}'`,
    viewType: 'ALL',
    maxResults: 1,
  });
  const run = found.items[0];
  if (!run) return undefined;
  const { runId, artifactUri } = run.info;
  return {
    uri: destination.trackingUri,
    localRunId,
    runId,
    experimentId: run.info.experimentId,
    artifactUri,
  };
}

/**
 * The server's run of a run a page started offline, made once: the one recorded in IndexedDB by an earlier
 * replay (of any tab or visit); else the one its own create request made late (found by its source tag);
 * else a new run, created with the page's start time, name, user and tags and the source tag. The answer is
 * recorded in IndexedDB before it is returned. Rejects with the store's error (the items then stay).
 */
export async function findOrCreateOfflineRun(
  db: IDBDatabase,
  destination: TrackingStore,
  uri: string,
  localRunId: string,
  create: PageRunCreate,
): Promise<PageRunMapping> {
  const known = await readRunMapping(db, uri, localRunId);
  if (known) return known;
  const experimentId =
    create.experimentId ??
    (create.experimentName === undefined
      ? '0'
      : await getOrCreateExperiment(destination, create.experimentName));
  let mapping = await findRunBySourceTag(destination, experimentId, localRunId);
  if (!mapping) {
    const tags: Record<string, string> = { ...create.tags, [SOURCE_RUN_TAG]: localRunId };
    // A parent that was itself started offline has its server id by now (its items come first).
    const parent = tags['mlflow.parentRunId'];
    const parentOnServer = parent === undefined ? undefined : await readRunMapping(db, uri, parent);
    if (parentOnServer) tags['mlflow.parentRunId'] = parentOnServer.runId;
    const record = await destination.createRun({
      experimentId,
      startTime: create.startTime,
      ...(create.runName !== undefined ? { runName: create.runName } : {}),
      userId: create.userId,
      tags,
    });
    mapping = {
      uri,
      localRunId,
      runId: record.info.runId,
      experimentId: record.info.experimentId,
      artifactUri: record.info.artifactUri,
    };
  }
  mapping.uri = uri;
  await writeRunMapping(db, mapping);
  return mapping;
}
