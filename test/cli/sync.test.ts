import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type SyncSummary, syncLocalRuns } from '@mlflow-kit/cli';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { python, trackingUri, uniqueName } from '../helpers/python.js';
import { readLocal, readRemote, spawnCli, writeLocalRuns } from './fixtures.js';

const RUNS = 10;
const POINTS = 10_000;

async function expectIdentical(root: string, experimentName: string): Promise<void> {
  const local = await readLocal(root, experimentName);
  const remote = await readRemote(experimentName);
  expect(remote.count, 'runs on the server').toBe(RUNS);
  expect(Object.keys(remote.runs).sort()).toEqual(Object.keys(local).sort());
  for (const [localId, run] of Object.entries(local)) {
    const copy = remote.runs[localId];
    expect(copy, `server copy of ${localId}`).toBeDefined();
    expect(copy?.history.loss, `every point of ${run.run_name}`).toHaveLength(POINTS);
    expect(copy).toEqual(run);
  }
}

describe('mlflow-kit sync into the real server', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mlflow-kit-sync-'));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  describe('10 runs × 10,000 points', () => {
    let root: string;
    let experimentName: string;
    let first: SyncSummary;

    beforeAll(async () => {
      root = join(dir, 'full', 'mlruns');
      experimentName = uniqueName('sync-full');
      await writeLocalRuns(root, experimentName, RUNS, POINTS);
      first = await syncLocalRuns({ from: root, to: trackingUri() });
    }, 600_000);

    it('uploads every run with identical data: names, times, status, params, tags, every point, artifacts, parents', async () => {
      expect(first).toMatchObject({
        created: RUNS,
        failed: 0,
        pointsUploaded: RUNS * (POINTS + 20),
        artifactsUploaded: RUNS * 2,
      });
      process.stderr.write(
        `[sync] ${first.pointsUploaded} points in ${first.durationMs} ms: ${first.pointsPerSecond} points/s\n`,
      );
      await expectIdentical(root, experimentName);
    }, 600_000);

    it('uploads nothing on a second sync', async () => {
      const second = await syncLocalRuns({ from: root, to: trackingUri() });
      expect(second).toMatchObject({
        created: 0,
        resumed: 0,
        unchanged: RUNS,
        pointsUploaded: 0,
        paramsUploaded: 0,
        artifactsUploaded: 0,
      });
      expect((await readRemote(experimentName)).count).toBe(RUNS);
    }, 600_000);

    it('leaves the local store readable by the official client next to its sync state file', async () => {
      expect((await readdir(root)).some((name) => name.startsWith('.mlflow-kit-sync-'))).toBe(true);
      const read = await python<{ runs: number }>(
        `
import json, mlflow
e = mlflow.get_experiment_by_name(${JSON.stringify(experimentName)})
print(json.dumps({"runs": len(mlflow.search_runs([e.experiment_id], output_format="list"))}))
`,
        { MLFLOW_TRACKING_URI: pathToFileURL(root).href },
      );
      expect(read.runs).toBe(RUNS);
    });

    it('rebuilds a lost sync state from the server without creating a run twice', async () => {
      for (const name of await readdir(root)) {
        if (name.startsWith('.mlflow-kit-sync-')) await rm(join(root, name));
      }
      const again = await syncLocalRuns({ from: root, to: trackingUri() });
      expect(again).toMatchObject({ created: 0, failed: 0, pointsUploaded: 0, artifactsUploaded: 0 });
      await expectIdentical(root, experimentName);
    }, 600_000);
  });

  it('completes a sync killed halfway without duplicates, and a third sync adds nothing', async () => {
    const root = join(dir, 'killed', 'mlruns');
    const experimentName = uniqueName('sync-killed');
    await writeLocalRuns(root, experimentName, RUNS, POINTS);

    const first = spawnCli(['sync', root, '--to', trackingUri(), '--concurrency', '2']);
    let killedAt = '';
    first.onStderr((text) => {
      const percent = [...text.matchAll(/\]\s+(\d+)%/g)].map((match) => Number(match[1])).pop();
      if (killedAt === '' && percent !== undefined && percent >= 30) {
        killedAt = `${percent}%`;
        first.child.kill('SIGKILL');
      }
    });
    const killed = await first.done;
    expect(killed.signal, `the first sync should be killed mid-way; stderr:\n${killed.stderr}`).toBe(
      'SIGKILL',
    );
    expect(killedAt).not.toBe('');
    const partial = await readRemote(experimentName);
    const partialPoints = Object.values(partial.runs).reduce(
      (sum, run) => sum + (run.history.loss?.length ?? 0),
      0,
    );
    expect(partialPoints).toBeLessThan(RUNS * POINTS);

    const second = spawnCli(['sync', root, '--to', trackingUri(), '--json', '--quiet']);
    const resumed = await second.done;
    expect(resumed.code, resumed.stderr).toBe(0);
    const summary = JSON.parse(resumed.stdout) as SyncSummary;
    expect(summary.failed).toBe(0);
    expect(summary.created + summary.resumed + summary.unchanged).toBe(RUNS);
    await expectIdentical(root, experimentName);

    const third = await syncLocalRuns({ from: root, to: trackingUri() });
    expect(third).toMatchObject({ created: 0, resumed: 0, pointsUploaded: 0, artifactsUploaded: 0 });
  }, 900_000);
});
