import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalStore } from './local-store.js';
import { replayLocalRuns, SOURCE_RUN_TAG } from './replay-local-runs.js';
import { MemoryStore } from './testing/memory-store.js';

let dir: string;
let root: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mlflow-kit-replay-unit-'));
  root = join(dir, 'mlruns');
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function writeRuns(): Promise<{ parent: string; child: string }> {
  const store = new LocalStore(root);
  const experimentId = await store.createExperiment('unit-sync');
  const parent = await store.createRun({
    experimentId,
    startTime: 1000,
    userId: 'u',
    runName: 'parent',
    tags: {},
  });
  const child = await store.createRun({
    experimentId,
    startTime: 2000,
    userId: 'u',
    runName: 'child',
    tags: { 'mlflow.parentRunId': parent.info.runId },
  });
  await store.logBatch(child.info.runId, {
    params: [{ key: 'lr', value: '0.1' }],
    metrics: Array.from({ length: 2500 }, (_, step) => ({
      key: 'loss',
      value: 1 / (step + 1),
      timestamp: 5000 + step,
      step,
    })),
  });
  await store.uploadArtifact(child.info.artifactUri, 'out/a.txt', { bytes: new TextEncoder().encode('abc') });
  await store.updateRun(child.info.runId, { status: 'FINISHED', endTime: 9000 });
  return { parent: parent.info.runId, child: child.info.runId };
}

function remoteRuns(destination: MemoryStore) {
  return destination.searchRuns({ experimentIds: ['1'], viewType: 'ALL' });
}

describe('replayLocalRuns', () => {
  it('copies runs with parents remapped, in batches of at most 1000 points, and records its progress', async () => {
    const { parent, child } = await writeRuns();
    const destination = new MemoryStore();
    const progress: number[] = [];
    const summary = await replayLocalRuns({
      from: root,
      to: 'memory:',
      destination,
      onProgress: (p) => progress.push(p.pointsDone),
    });
    expect(summary).toMatchObject({ created: 2, failed: 0, pointsUploaded: 2500, artifactsUploaded: 1 });
    expect(Math.max(...destination.batches.map(({ batch }) => batch.metrics?.length ?? 0))).toBe(1000);
    expect(progress.at(-1)).toBe(2500);

    const runs = (await remoteRuns(destination)).items;
    const remoteParent = runs.find((run) => run.data.tags[SOURCE_RUN_TAG] === parent);
    const remoteChild = runs.find((run) => run.data.tags[SOURCE_RUN_TAG] === child);
    expect(remoteChild?.data.tags['mlflow.parentRunId']).toBe(remoteParent?.info.runId);
    expect(remoteChild?.info).toMatchObject({
      status: 'FINISHED',
      startTime: 2000,
      endTime: 9000,
      runName: 'child',
    });
    expect(remoteChild?.data.params).toEqual({ lr: '0.1' });
    expect((await destination.getMetricHistory(remoteChild?.info.runId ?? '', 'loss')).items).toHaveLength(
      2500,
    );
  });

  it('uploads only what is new on the next sync, and nothing when nothing changed', async () => {
    const { child } = await writeRuns();
    const destination = new MemoryStore();
    await replayLocalRuns({ from: root, to: 'memory:', destination });
    const store = new LocalStore(root);
    await store.logBatch(child, { metrics: [{ key: 'loss', value: 0, timestamp: 99_999, step: 2500 }] });
    const second = await replayLocalRuns({ from: root, to: 'memory:', destination });
    expect(second).toMatchObject({
      created: 0,
      resumed: 1,
      unchanged: 1,
      pointsUploaded: 1,
      artifactsUploaded: 0,
      paramsUploaded: 0,
    });
    const third = await replayLocalRuns({ from: root, to: 'memory:', destination });
    expect(third).toMatchObject({ created: 0, resumed: 0, unchanged: 2, pointsUploaded: 0 });
  });

  it('finds runs it uploaded before by their source tag when the state file is gone', async () => {
    await writeRuns();
    const destination = new MemoryStore();
    await replayLocalRuns({ from: root, to: 'memory:', destination });
    for (const name of await readdir(root))
      if (name.startsWith('.mlflow-kit-sync-')) await rm(join(root, name));
    const again = await replayLocalRuns({ from: root, to: 'memory:', destination });
    expect(again).toMatchObject({ created: 0, pointsUploaded: 0, artifactsUploaded: 0 });
    expect((await remoteRuns(destination)).items).toHaveLength(2);
  });

  it('refuses a second sync to the same server while one is running, and breaks a dead sync lock', async () => {
    await writeRuns();
    const destination = new MemoryStore();
    await replayLocalRuns({ from: root, to: 'memory:', destination });
    const state = (await readdir(root)).find((name) => name.endsWith('.json'));
    const lock = join(root, state?.replace(/\.json$/, '.lock') ?? 'x.lock');
    await writeFile(lock, `${hostname()} ${process.pid}\n`);
    await expect(replayLocalRuns({ from: root, to: 'memory:', destination })).rejects.toThrow(
      /Another mlflow-kit sync/,
    );
    await writeFile(lock, `${hostname()} 999999999\n`);
    await expect(replayLocalRuns({ from: root, to: 'memory:', destination })).resolves.toMatchObject({
      failed: 0,
    });
  });

  it('explains what to pass for a missing store or a destination that is not a server', async () => {
    await expect(
      replayLocalRuns({ from: join(dir, 'nowhere'), to: 'http://127.0.0.1:5000' }),
    ).rejects.toThrow(/There is no local store/);
    await writeRuns();
    await expect(replayLocalRuns({ from: root, to: join(dir, 'other') })).rejects.toThrow(
      /--to http\(s\):\/\/host:port/,
    );
  });
});

describe('replayLocalRuns for a live process', () => {
  it('replays only the runs asked for, with the parents they need, and leaves the others', async () => {
    const { parent, child } = await writeRuns();
    const store = new LocalStore(root);
    const other = await store.createRun({
      experimentId: (await store.getExperimentByName('unit-sync'))?.experimentId ?? '',
      startTime: 3000,
      userId: 'u',
      runName: 'other',
      tags: {},
    });
    const destination = new MemoryStore();
    const summary = await replayLocalRuns({ from: root, destination, runIds: [child] });
    expect(summary.runs.map((run) => run.localRunId)).toEqual([parent, child]);
    const runs = (await remoteRuns(destination)).items;
    expect(runs.map((run) => run.data.tags[SOURCE_RUN_TAG]).sort()).toEqual([parent, child].sort());
    expect(runs.some((run) => run.data.tags[SOURCE_RUN_TAG] === other.info.runId)).toBe(false);
    const remoteChild = runs.find((run) => run.data.tags[SOURCE_RUN_TAG] === child);
    const remoteParent = runs.find((run) => run.data.tags[SOURCE_RUN_TAG] === parent);
    expect(remoteChild?.data.tags['mlflow.parentRunId']).toBe(remoteParent?.info.runId);
  });

  it('stops at an abort signal, and the next replay resumes without sending a point twice', async () => {
    const { child } = await writeRuns();
    const destination = new MemoryStore();
    const controller = new AbortController();
    await expect(
      replayLocalRuns({
        from: root,
        destination,
        onProgress: (progress) => {
          if (progress.pointsDone > 0) controller.abort(new Error('stopped by the test'));
        },
        signal: controller.signal,
      }),
    ).rejects.toThrow('stopped by the test');
    const remoteChild = (await remoteRuns(destination)).items.find(
      (run) => run.data.tags[SOURCE_RUN_TAG] === child,
    );
    const sentBefore = (await destination.getMetricHistory(remoteChild?.info.runId ?? '', 'loss')).items
      .length;
    expect(sentBefore).toBe(1000);
    expect(remoteChild?.info.status).toBe('RUNNING');

    const resumed = await replayLocalRuns({ from: root, destination });
    expect(resumed).toMatchObject({ created: 0, failed: 0, pointsUploaded: 1500 });
    const history = (await destination.getMetricHistory(remoteChild?.info.runId ?? '', 'loss')).items;
    expect(history.map((point) => point.step)).toEqual(Array.from({ length: 2500 }, (_, step) => step));
    expect((await destination.getRun(remoteChild?.info.runId ?? '')).info.status).toBe('FINISHED');
  });

  it('needs a destination', async () => {
    await writeRuns();
    await expect(replayLocalRuns({ from: root })).rejects.toThrow(/pass `to`/);
  });
});
