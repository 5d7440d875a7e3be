import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient, type Run, startRun, withRun } from '@mlflow-kit/core';
import { describe, expect, it } from 'vitest';
import { python, trackingUri, uniqueName } from '../helpers/python.js';

const options = () => ({ enabled: true, trackingUri: trackingUri(), flushIntervalMs: 200 });

interface PyRun {
  status: string;
  start_time: number;
  end_time: number | null;
  run_name: string;
  experiment_id: string;
  params: Record<string, string>;
  tags: Record<string, string>;
  metrics: Record<string, number | string>;
}

function readRun(runId: string): Promise<PyRun> {
  return python<PyRun>(`
import json, math, mlflow
r = mlflow.get_run("${runId}")
enc = lambda v: str(v) if isinstance(v, float) and (math.isnan(v) or math.isinf(v)) else v
print(json.dumps({"status": r.info.status, "start_time": r.info.start_time, "end_time": r.info.end_time,
  "run_name": r.info.run_name, "experiment_id": r.info.experiment_id,
  "params": r.data.params, "tags": r.data.tags, "metrics": {k: enc(v) for k, v in r.data.metrics.items()}}))
`);
}

function readHistory(runId: string, key: string): Promise<[number, number | string, number][]> {
  return python(`
import json, math
from mlflow import MlflowClient
enc = lambda v: str(v) if math.isnan(v) or math.isinf(v) else v
print(json.dumps([[m.timestamp, enc(m.value), m.step] for m in MlflowClient().get_metric_history("${runId}", "${key}")]))
`);
}

describe('Run API against a real MLflow server, read back by the Python client', () => {
  it('round-trips params, every metric point, NaN, tags, status and times', async () => {
    const experimentName = uniqueName('run-api');
    const before = Date.now();
    const run = await startRun({ ...options(), experimentName, runName: 'roundtrip', tags: { team: 'ml' } });
    run.logParams({ lr: 0.001, layers: [64, 32], optimizer: 'adam', dropout: null });
    for (let step = 0; step < 1500; step++)
      run.logMetric('loss', 1 / (step + 1), { step, timestamp: 1_700_000_000_000 + step });
    run.logMetric('weird', Number.NaN, { step: 0, timestamp: 1_700_000_000_000 });
    run.logMetric('weird', Number.POSITIVE_INFINITY, { step: 1, timestamp: 1_700_000_000_001 });
    run.logMetric('weird', Number.NEGATIVE_INFINITY, { step: 2, timestamp: 1_700_000_000_002 });
    run.logMetric('train/accuracy', 0.75, { step: 3 });
    run.setTags({ stage: 'dev', 'nested/key': 'v' });
    await run.end();
    const after = Date.now();

    const read = await readRun(run.runId);
    expect(read.status).toBe('FINISHED');
    expect(read.run_name).toBe('roundtrip');
    expect(read.start_time).toBeGreaterThanOrEqual(before);
    expect(read.end_time).toBeGreaterThanOrEqual(read.start_time);
    expect(read.end_time).toBeLessThanOrEqual(after);
    expect(read.params).toEqual({ lr: '0.001', layers: '[64,32]', optimizer: 'adam', dropout: 'None' });
    expect(read.tags).toMatchObject({
      team: 'ml',
      stage: 'dev',
      'nested/key': 'v',
      'mlflow.runName': 'roundtrip',
      'mlflow.source.type': 'LOCAL',
    });
    expect(read.tags['mlflow.user']).toBeTruthy();
    expect(read.tags['mlflow.source.name']).toBeTruthy();
    expect(read.metrics['train/accuracy']).toBe(0.75);

    const loss = await readHistory(run.runId, 'loss');
    expect(loss).toHaveLength(1500);
    expect(loss).toEqual(
      Array.from({ length: 1500 }, (_, step) => [1_700_000_000_000 + step, 1 / (step + 1), step]),
    );
    // SQL stores keep NaN and clamp infinities to ±1.797e308 (MLflow's sanitize_metric_value).
    const weird = await readHistory(run.runId, 'weird');
    expect(weird[0]).toEqual([1_700_000_000_000, 'nan', 0]);
    expect(weird[1]![1]).toBe(1.7976931348623157e308);
    expect(weird[2]![1]).toBe(-1.7976931348623157e308);
  });

  it('records git tags when the program runs inside a git checkout', async () => {
    const run = await startRun({ ...options(), experimentName: uniqueName('git') });
    await run.end();
    const { tags } = await readRun(run.runId);
    // The test runner's entry point lives in this repository's checkout.
    expect(tags['mlflow.source.git.commit']).toMatch(/^[0-9a-f]{40}$/);
    expect(tags['mlflow.source.git.branch']).toBeTruthy();
  });

  it('links nested runs to their parent and ends a failing withRun FAILED', async () => {
    const experimentName = uniqueName('nested');
    let childId = '';
    let parent: Run | undefined;
    await expect(
      withRun({ ...options(), experimentName }, async (outer) => {
        parent = outer;
        await withRun({ ...options(), nested: true }, async (child) => {
          childId = child.runId;
          child.logMetric('m', 1);
        });
        throw new Error('training diverged');
      }),
    ).rejects.toThrow('training diverged');
    const child = await readRun(childId);
    expect(child.tags['mlflow.parentRunId']).toBe(parent!.runId);
    expect(child.status).toBe('FINISHED');
    expect(child.experiment_id).toBe(parent!.experimentId);
    expect((await readRun(parent!.runId)).status).toBe('FAILED');
  });

  it('uploads artifacts the Python client lists and downloads byte for byte', async () => {
    const run = await startRun({ ...options(), experimentName: uniqueName('artifacts') });
    const dir = mkdtempSync(join(tmpdir(), 'mlflow-kit-art-'));
    mkdirSync(join(dir, 'sub'));
    const binary = Uint8Array.from({ length: 70_000 }, (_, i) => (i * 7919) % 256);
    writeFileSync(join(dir, 'weights.bin'), binary);
    writeFileSync(join(dir, 'sub', 'notes.md'), '# notes\n');
    await run.logArtifact(join(dir, 'weights.bin'), 'model');
    await run.logArtifacts(dir, 'copy');
    await run.logText('héllo wörld', 'text/greeting.txt');
    await run.logDict({ a: 1, nested: { b: [1, 2] } }, 'config.yaml');
    await run.logTable(
      {
        columns: ['epoch', 'loss'],
        data: [
          [0, 0.9],
          [1, 0.5],
        ],
      },
      'eval/table.json',
    );
    await run.logImage(
      { width: 2, height: 1, data: Uint8Array.of(255, 0, 0, 255, 0, 0, 255, 255) },
      'images/pixels.png',
    );
    await run.end();

    const listing = await python<{
      root: string[];
      copy: string[];
      sha: string;
      greeting: string;
      yaml: unknown;
      table: unknown;
      image: number[];
    }>(`
import json, hashlib, os, tempfile, yaml
from mlflow import MlflowClient
from mlflow.artifacts import download_artifacts
c = MlflowClient()
rid = "${run.runId}"
d = tempfile.mkdtemp()
p = download_artifacts(run_id=rid, artifact_path="model/weights.bin", dst_path=d)
t = download_artifacts(run_id=rid, artifact_path="text/greeting.txt", dst_path=d)
y = download_artifacts(run_id=rid, artifact_path="config.yaml", dst_path=d)
tb = download_artifacts(run_id=rid, artifact_path="eval/table.json", dst_path=d)
im = download_artifacts(run_id=rid, artifact_path="images/pixels.png", dst_path=d)
from PIL import Image
img = Image.open(im).convert("RGBA")
print(json.dumps({
  "root": sorted(f.path for f in c.list_artifacts(rid)),
  "copy": sorted(f.path for f in c.list_artifacts(rid, "copy")),
  "sha": hashlib.sha256(open(p, "rb").read()).hexdigest(),
  "greeting": open(t, encoding="utf-8").read(),
  "yaml": yaml.safe_load(open(y)),
  "table": json.load(open(tb)),
  "image": list(img.getpixel((0, 0))) + list(img.getpixel((1, 0))),
}))
`);
    const { createHash } = await import('node:crypto');
    expect(listing.root).toEqual(['config.yaml', 'copy', 'eval', 'images', 'model', 'text']);
    expect(listing.copy).toEqual(['copy/sub', 'copy/weights.bin']);
    expect(listing.sha).toBe(createHash('sha256').update(binary).digest('hex'));
    expect(listing.greeting).toBe('héllo wörld');
    expect(listing.yaml).toEqual({ a: 1, nested: { b: [1, 2] } });
    expect(listing.table).toEqual({
      columns: ['epoch', 'loss'],
      data: [
        [0, 0.9],
        [1, 0.5],
      ],
    });
    expect(listing.image).toEqual([255, 0, 0, 255, 0, 0, 255, 255]);
  });

  it('resumes a run by id: status back to RUNNING, new points appended, params kept', async () => {
    const first = await startRun({ ...options(), experimentName: uniqueName('resume') });
    first.logParam('lr', 0.1);
    first.logMetric('loss', 1, { step: 0 });
    await first.end();
    const resumed = await startRun({ ...options(), runId: first.runId });
    expect((await readRun(first.runId)).status).toBe('RUNNING');
    resumed.logParam('lr', 0.1);
    expect(() => resumed.logParam('lr', 0.2)).toThrow(
      'Param "lr" was already logged with another value and cannot change',
    );
    resumed.logMetric('loss', 0.5, { step: 1 });
    await resumed.end();
    expect((await readHistory(first.runId, 'loss')).map(([, value, step]) => [value, step])).toEqual([
      [1, 0],
      [0.5, 1],
    ]);
  });

  it('reads back through createClient what the Python client logged', async () => {
    const experimentName = uniqueName('py-logged');
    const runId = await python<string>(`
import json, mlflow
mlflow.set_experiment("${experimentName}")
with mlflow.start_run() as r:
    mlflow.log_param("p", "v")
    for s in range(3): mlflow.log_metric("m", s * 0.5, step=s)
print(json.dumps(r.info.run_id))
`);
    const client = createClient({ trackingUri: trackingUri() });
    const run = await client.getRun(runId);
    expect(run.data.params).toEqual({ p: 'v' });
    expect((await client.getMetricHistory(runId, 'm')).map((m) => [m.value, m.step])).toEqual([
      [0, 0],
      [0.5, 1],
      [1, 2],
    ]);
    const experiment = await client.getExperimentByName(experimentName);
    const found = await client.searchAllRuns({
      experimentIds: [experiment!.experimentId],
      filter: "params.p = 'v'",
    });
    expect(found.map((r) => r.info.runId)).toEqual([runId]);
  });
});
