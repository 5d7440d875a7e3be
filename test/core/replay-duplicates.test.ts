import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { closeStores, type Metric, RunSpool, replayLocalRuns, spoolStoreDir } from '@mlflow-kit/core';
import { afterAll, describe, expect, it } from 'vitest';
import { python, trackingUri, uniqueName } from '../helpers/python.js';
import { storeFor } from '../helpers/stores.js';

// A request in flight when the process is signalled (or when the bounded wait runs out) is spooled although
// the server may have stored it: only its answer was lost. The replay must add each such point once. MLflow's
// SQL store refuses the repeated points with a 400 (UNIQUE constraint), so without the check the whole run
// fails to sync; its file store would keep both copies.
const spoolRoot = mkdtempSync(join(tmpdir(), 'mlflow-kit-replay-dup-'));

afterAll(async () => {
  await closeStores();
  rmSync(spoolRoot, { recursive: true, force: true });
});

function points(key: string, from: number, to: number, timestamp: number): Metric[] {
  const list: Metric[] = [];
  for (let step = from; step < to; step++) list.push({ key, value: step / 7, timestamp, step });
  return list;
}

describe('the replay of a spooled run whose answer was lost', () => {
  it('adds every point once when part of the spool is already on the server', async () => {
    const store = await storeFor({ trackingUri: trackingUri() });
    const experimentName = uniqueName('replay-dup');
    const experimentId = await store.createExperiment(experimentName);
    const created = await store.createRun({
      experimentId,
      startTime: Date.now(),
      runName: 'lost-answer',
      userId: 'test',
      tags: {},
    });
    const runId = created.info.runId;
    const timestamp = Date.now();

    // On the server: steps 0–599 of `a` (one of them twice: a legitimate repeat the user logged) and 0–99 of `b`.
    const stored = [
      ...points('a', 0, 600, timestamp),
      ...points('a', 10, 11, timestamp),
      ...points('b', 0, 100, timestamp),
    ];
    for (let i = 0; i < stored.length; i += 1000)
      await store.logBatch(runId, { metrics: stored.slice(i, i + 1000) });

    // In the spool: the in-flight request (steps 400–599 of `a`, 0–99 of `b`) and what followed it.
    const spool = new RunSpool(spoolRoot, {
      trackingUri: trackingUri(),
      remoteRunId: runId,
      remoteExperimentId: experimentId,
      experimentName,
      localRunId: runId,
      runName: 'lost-answer',
      startTime: created.info.startTime,
      userId: 'test',
    });
    spool.writeBatch({ metrics: [...points('a', 400, 1000, timestamp), ...points('b', 0, 300, timestamp)] });
    spool.writeEnd('KILLED', Date.now());

    const summary = await replayLocalRuns({
      from: spoolStoreDir(spoolRoot, trackingUri()),
      to: trackingUri(),
    });
    const run = summary.runs.find((entry) => entry.localRunId === runId);
    expect(run?.error).toBeUndefined();
    expect(run?.remoteRunId).toBe(runId);
    expect(run?.pointsUploaded).toBe(400 + 200);

    const readBack = await python<{ status: string; a: number[]; b: number[] }>(`
import json
from mlflow import MlflowClient
c = MlflowClient()
r = c.get_run("${runId}")
def steps(k):
    return sorted(m.step for m in c.get_metric_history("${runId}", k))
print(json.dumps({"status": r.info.status, "a": steps("a"), "b": steps("b")}))
`);
    expect(readBack.status).toBe('KILLED');
    // The SQL store keeps one row per (key, step, timestamp, value): step 10 is there once.
    expect(readBack.a).toEqual(Array.from({ length: 1000 }, (_, step) => step));
    expect(readBack.b).toEqual(Array.from({ length: 300 }, (_, step) => step));

    // A second replay finds nothing left to send.
    const again = await replayLocalRuns({ from: spoolStoreDir(spoolRoot, trackingUri()), to: trackingUri() });
    expect(again.runs.find((entry) => entry.localRunId === runId)?.pointsUploaded).toBe(0);
  });
});
