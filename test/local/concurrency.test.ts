import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { closeStores, createClient } from '@mlflow-kit/core';
import { REPO_ROOT, TSX_ARGS } from '@mlflow-kit/test-support/tsx';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { python } from '../helpers/python.js';
import { storeFor } from '../helpers/stores.js';

const WRITER = join(REPO_ROOT, 'test/local/fixtures/concurrent-writer.ts');

function startWriter(args: string[]): {
  child: ChildProcess;
  done: Promise<{ code: number | null; stdout: string; stderr: string }>;
} {
  const child = spawn(process.execPath, [...TSX_ARGS, WRITER, ...args], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
  return { child, done };
}

describe('LocalStore with several processes writing at once', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mlflow-kit-concurrency-'));
  });

  afterAll(async () => {
    await closeStores();
    await rm(dir, { recursive: true, force: true });
  });

  it('4 processes logging to one experiment name: one experiment, 4 runs, every point, readable by MLflow', async () => {
    const root = join(dir, 'mlruns');
    const experimentName = 'shared-experiment';
    const points = 5000;
    const startAt = String(Date.now() + 2500);
    const writers = Array.from({ length: 4 }, (_, worker) =>
      startWriter([root, experimentName, String(worker), String(points), startAt]),
    );
    const results = await Promise.all(writers.map((writer) => writer.done));
    for (const result of results) expect(result.code, result.stderr).toBe(0);

    const experimentDirs = (await readdir(root)).filter((name) => /^[0-9]+$/.test(name) && name !== '0');
    const names = await Promise.all(
      experimentDirs.map(
        async (id) => (await readFile(join(root, id, 'meta.yaml'), 'utf8')).match(/^name: (.*)$/m)?.[1],
      ),
    );
    expect(names).toEqual([experimentName]);

    const store = await storeFor({ trackingUri: root });
    const client = createClient({ trackingUri: root });
    const experiment = await store.getExperimentByName(experimentName);
    const runs = await store.searchRuns({ experimentIds: [experiment!.experimentId] });
    expect(runs.items).toHaveLength(4);
    for (const run of runs.items) {
      const worker = Number(run.data.params.worker);
      expect(run.info.status).toBe('FINISHED');
      const history = await client.getMetricHistory(run.info.runId, 'loss');
      expect(history.map((point) => point.step)).toEqual(Array.from({ length: points }, (_, step) => step));
      expect(history.every((point) => point.value === worker + point.step / 1e6)).toBe(true);
      expect(await client.getMetricHistory(run.info.runId, `worker/${worker}`)).toHaveLength(points);
    }

    const read = await python<{
      experiments: number;
      runs: { worker: string; loss: number; own: number; status: string }[];
    }>(
      `
import json
from mlflow import MlflowClient
c = MlflowClient()
exps = [e for e in c.search_experiments() if e.name == "${experimentName}"]
runs = c.search_runs([exps[0].experiment_id])
out = []
for r in runs:
    w = r.data.params["worker"]
    out.append({"worker": w, "status": r.info.status,
                "loss": len(c.get_metric_history(r.info.run_id, "loss")),
                "own": len(c.get_metric_history(r.info.run_id, "worker/" + w))})
print(json.dumps({"experiments": len(exps), "runs": sorted(out, key=lambda x: x["worker"])}))
`,
      { MLFLOW_TRACKING_URI: pathToFileURL(root).href },
    );
    expect(read.experiments).toBe(1);
    expect(read.runs).toEqual(
      ['0', '1', '2', '3'].map((worker) => ({ worker, status: 'FINISHED', loss: points, own: points })),
    );
  });

  it('a writer killed mid-run leaves a store the official client still reads', async () => {
    const root = join(dir, 'killed');
    const writer = startWriter([root, 'killed-experiment', '7', '0', '0', 'endless']);
    // Wait until the run exists and points are flowing, then kill without warning.
    const deadline = Date.now() + 60_000;
    let runId = '';
    while (Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      const store = await storeFor({ trackingUri: root });
      const experiment = await store.getExperimentByName('killed-experiment').catch(() => undefined);
      if (experiment) {
        const runs = await store.searchRuns({ experimentIds: [experiment.experimentId] });
        const run = runs.items[0];
        if (
          run &&
          (await createClient({ trackingUri: root }).getMetricHistory(run.info.runId, 'loss')).length > 2000
        ) {
          runId = run.info.runId;
          break;
        }
      }
    }
    expect(runId).not.toBe('');
    writer.child.kill('SIGKILL');
    await writer.done;

    const read = await python<{ status: string; points: number; steps_ok: boolean }>(
      `
import json
from mlflow import MlflowClient
c = MlflowClient()
r = c.get_run("${runId}")
h = c.get_metric_history("${runId}", "loss")
steps = sorted(m.step for m in h)
print(json.dumps({"status": r.info.status, "points": len(h), "steps_ok": steps == list(range(len(h)))}))
`,
      { MLFLOW_TRACKING_URI: pathToFileURL(root).href },
    );
    expect(read.status).toBe('RUNNING');
    expect(read.points).toBeGreaterThan(2000);
    expect(read.steps_ok).toBe(true);
  });
});
