import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { closeStores } from '@mlflow-kit/core';
import { MemoryStore } from '@mlflow-kit/core/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalStore } from '../../core/src/local-store.js';
import { formatProgress } from './progress.js';
import { formatRunsTable, listRuns } from './runs.js';
import { formatSyncSummary, syncLocalRuns } from './sync.js';

let dir: string;
let root: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mlflow-kit-cli-unit-'));
  root = join(dir, 'mlruns');
});

afterEach(async () => {
  await closeStores();
  await rm(dir, { recursive: true, force: true });
});

async function writeRun(): Promise<string> {
  const store = new LocalStore(root);
  const experimentId = await store.createExperiment('unit-sync');
  const run = await store.createRun({
    experimentId,
    startTime: 1000,
    userId: 'u',
    runName: 'only',
    tags: {},
  });
  await store.logBatch(run.info.runId, {
    metrics: Array.from({ length: 1500 }, (_, step) => ({ key: 'loss', value: step, timestamp: 5000, step })),
  });
  await store.updateRun(run.info.runId, { status: 'FINISHED', endTime: 9000 });
  return run.info.runId;
}

describe('syncLocalRuns', () => {
  it("uploads with core's replay and draws progress lines on a stream that is not a terminal", async () => {
    const runId = await writeRun();
    const destination = new MemoryStore();
    const lines: string[] = [];
    const seen: number[] = [];
    const summary = await syncLocalRuns({
      from: root,
      to: 'memory:',
      destination,
      progressStream: { write: (text: string) => lines.push(text) },
      onProgress: (progress) => seen.push(progress.pointsDone),
    });
    expect(summary).toMatchObject({ created: 1, failed: 0, pointsUploaded: 1500 });
    expect(summary.runs[0]?.localRunId).toBe(runId);
    expect(seen.at(-1)).toBe(1500);
    expect(lines.length).toBeGreaterThan(0);
    // The first frame comes at once, while the runs are counted; the bar with an ETA follows.
    expect(lines[0]).toMatch(/^sync \[ *<=> *\] counting: /);
    for (const line of lines.filter((text) => !text.includes('counting')))
      expect(line).toMatch(/^sync \[[#.]+\] +\d+% .* points\/s · ETA .*\n$/);
    expect(lines.at(-1)).toMatch(/100% 1,500\/1,500 points · 1\/1 runs · 0 artifacts/);
    expect(formatSyncSummary(summary)).toMatch(/1 created, 0 resumed, 0 unchanged, 0 failed/);
    // The server's id of the created run, next to the local one.
    const remoteRunId = summary.runs[0]?.remoteRunId;
    expect(remoteRunId).toBeTruthy();
    expect(formatSyncSummary(summary)).toContain(`+ unit-sync/only: local ${runId} → run ${remoteRunId}`);
  });

  it('explains what to pass for a missing store or a destination that is not a server', async () => {
    await expect(syncLocalRuns({ from: join(dir, 'nowhere'), to: 'http://127.0.0.1:5000' })).rejects.toThrow(
      /There is no local store/,
    );
    await writeRun();
    await expect(syncLocalRuns({ from: root, to: join(dir, 'other') })).rejects.toThrow(
      /--to http\(s\):\/\/host:port/,
    );
  });
});

describe('progress and listings', () => {
  it('draws a bar with percentage, counts and rate', () => {
    expect(
      formatProgress(
        {
          phase: 'uploading',
          runsPlanned: 4,
          pointsDone: 500,
          pointsTotal: 1000,
          runsDone: 1,
          runsTotal: 4,
          artifactsDone: 2,
          elapsedMs: 1500,
        },
        10,
        500,
      ),
    ).toBe('[#####.....]  50% 500/1,000 points · 1/4 runs · 2 artifacts · 500 points/s · ETA 1s');
  });

  it('shows an indeterminate bar while counting, with the runs counted so far', () => {
    const counting = formatProgress(
      {
        phase: 'counting',
        runsPlanned: 2,
        pointsDone: 0,
        pointsTotal: 30_000,
        runsDone: 0,
        runsTotal: 5,
        artifactsDone: 0,
        elapsedMs: 300,
      },
      10,
    );
    expect(counting).toBe(
      '[   <=>    ] counting: 2/5 runs, 30,000 points to upload so far · ETA once counted',
    );
  });

  it('lists the runs of a local store, newest first', async () => {
    await writeRun();
    const runs = await listRuns({ trackingUri: root });
    expect(runs.map((run) => run.runName)).toEqual(['only']);
    expect(formatRunsTable(runs)).toMatch(/^EXPERIMENT\s+RUN ID\s+NAME\s+STATUS/);
    await expect(listRuns({ trackingUri: root, experimentName: 'missing' })).rejects.toThrow(
      /No experiment named "missing".*mlflow-kit experiments list/,
    );
  });
});
