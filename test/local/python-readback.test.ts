import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { closeStores, startRun } from '@mlflow-kit/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { python } from '../helpers/python.js';
import { storeFor } from '../helpers/stores.js';
import { type MlflowServer, startMlflowServer } from '../setup/mlflow-env.js';

interface PyRun {
  info: Record<string, unknown>;
  params: Record<string, string>;
  tags: Record<string, string>;
  metrics: Record<string, number | string>;
  history: Record<string, [number, number | string, number][]>;
  artifacts: { path: string; is_dir: boolean; size: number | null }[];
  text: string;
  experiment: { name: string; tags: Record<string, string> };
  children: string[];
}

/** Reads a run with the official client and prints what a test compares (non-finite floats as strings). */
function readRunScript(runId: string): string {
  return `
import json, math, mlflow
from mlflow import MlflowClient
def f(v):
    return v if math.isfinite(v) else str(v)
c = MlflowClient()
r = c.get_run("${runId}")
hist = {k: [[m.timestamp, f(m.value), m.step] for m in c.get_metric_history(r.info.run_id, k)] for k in r.data.metrics}
def walk(path=None):
    out = []
    for fi in c.list_artifacts(r.info.run_id, path):
        out.append({"path": fi.path, "is_dir": fi.is_dir, "size": fi.file_size})
        if fi.is_dir:
            out.extend(walk(fi.path))
    return out
text = open(mlflow.artifacts.download_artifacts(run_id=r.info.run_id, artifact_path="notes/summary.txt")).read()
e = c.get_experiment(r.info.experiment_id)
children = [x.info.run_id for x in c.search_runs([r.info.experiment_id], filter_string="tags.mlflow.parentRunId = '%s'" % r.info.run_id)]
print(json.dumps({
  "info": {"run_id": r.info.run_id, "run_name": r.info.run_name, "status": r.info.status, "start_time": r.info.start_time,
           "end_time": r.info.end_time, "user_id": r.info.user_id, "artifact_uri": r.info.artifact_uri,
           "lifecycle_stage": r.info.lifecycle_stage, "experiment_id": r.info.experiment_id},
  "params": r.data.params, "tags": r.data.tags, "metrics": {k: f(v) for k, v in r.data.metrics.items()},
  "history": hist, "artifacts": walk(), "text": text,
  "experiment": {"name": e.name, "tags": e.tags}, "children": children,
}))
`;
}

describe('LocalStore: what the official MLflow client reads back', () => {
  let dir: string;
  let root: string;
  let runId = '';
  let childId = '';
  let experimentName = '';
  let startedAt = 0;
  let localRead: Promise<PyRun> | undefined;
  const readLocal = (): Promise<PyRun> =>
    (localRead ??= python<PyRun>(readRunScript(runId), { MLFLOW_TRACKING_URI: pathToFileURL(root).href }));

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mlflow-kit-readback-'));
    root = join(dir, 'mlruns');
    experimentName = `readback-${Date.now().toString(36)}`;
    startedAt = Date.now();
    const run = await startRun({ enabled: true, trackingUri: root, experimentName, runName: 'parent run' });
    runId = run.runId;
    run.logParams({ lr: 0.01, optimizer: 'adam', 'model/layers': 3 });
    run.setTag('team', 'vision');
    for (let step = 0; step < 50; step++) {
      run.logMetric('train/loss', 1 / (step + 1), { step, timestamp: startedAt + step });
      run.logMetric('acc', step / 50, { step, timestamp: startedAt + step });
    }
    run.logMetric('weird', Number.NaN, { step: 0, timestamp: startedAt });
    run.logMetric('weird', Number.POSITIVE_INFINITY, { step: 1, timestamp: startedAt + 1 });
    run.logMetric('weird', Number.NEGATIVE_INFINITY, { step: 2, timestamp: startedAt + 2 });
    run.logMetric('tiny', 1e-7, { step: 0, timestamp: startedAt });
    run.logMetric('huge', 1e300, { step: -5, timestamp: startedAt });
    await run.logText('hello from mlflow-kit', 'notes/summary.txt');
    await run.logDict({ a: 1, b: [1, 2] }, 'config.json');
    const file = join(dir, 'weights.bin');
    await writeFile(file, new Uint8Array([1, 2, 3, 4, 5]));
    await run.logArtifact(file, 'model');
    const child = await startRun({ enabled: true, trackingUri: root, nested: true, runName: 'child' });
    childId = child.runId;
    child.logMetric('inner', 2, { step: 1 });
    await child.end();
    await run.end({ status: 'FINISHED' });
  });

  afterAll(async () => {
    await closeStores();
    await rm(dir, { recursive: true, force: true });
  });

  it('reads the run info, params, tags and latest metrics exactly as written', async () => {
    const read = await readLocal();
    expect(read.info).toMatchObject({
      run_id: runId,
      run_name: 'parent run',
      status: 'FINISHED',
      lifecycle_stage: 'active',
      artifact_uri: `${pathToFileURL(root).href}/${read.info.experiment_id}/${runId}/artifacts`,
    });
    expect(read.info.start_time).toBeGreaterThanOrEqual(startedAt);
    expect(read.info.end_time).toBeGreaterThanOrEqual(read.info.start_time as number);
    expect(read.info.user_id).not.toBe('');
    expect(read.params).toEqual({ lr: '0.01', optimizer: 'adam', 'model/layers': '3' });
    expect(read.tags).toMatchObject({ team: 'vision', 'mlflow.runName': 'parent run' });
    expect(read.metrics).toEqual({
      'train/loss': 1 / 50,
      acc: 49 / 50,
      weird: '-inf',
      tiny: 1e-7,
      huge: 1e300,
    });
    expect(read.experiment.name).toBe(experimentName);
  });

  it('reads every metric point with its timestamp, value and step, non-finite values included', async () => {
    const read = await readLocal();
    expect(read.history['train/loss']).toEqual(
      Array.from({ length: 50 }, (_, step) => [startedAt + step, 1 / (step + 1), step]),
    );
    expect(read.history.weird).toEqual([
      [startedAt, 'nan', 0],
      [startedAt + 1, 'inf', 1],
      [startedAt + 2, '-inf', 2],
    ]);
    expect(read.history.huge).toEqual([[startedAt, 1e300, -5]]);
  });

  it('lists and downloads the artifacts, and finds the nested run by its parent', async () => {
    const read = await readLocal();
    expect(read.text).toBe('hello from mlflow-kit');
    expect(read.artifacts).toEqual(
      expect.arrayContaining([
        { path: 'config.json', is_dir: false, size: expect.any(Number) },
        { path: 'model', is_dir: true, size: null },
        { path: 'model/weights.bin', is_dir: false, size: 5 },
        { path: 'notes/summary.txt', is_dir: false, size: 21 },
      ]),
    );
    expect(read.children).toEqual([childId]);
  });

  it('keeps working for the official client after our own store reads it back', async () => {
    const store = await storeFor({ trackingUri: root });
    const record = await store.getRun(runId);
    expect(record.data.params).toEqual({ lr: '0.01', optimizer: 'adam', 'model/layers': '3' });
    expect(record.data.metrics.weird).toBe(Number.NEGATIVE_INFINITY);
    // And what the Python client writes, we read.
    const written = await python<{ runId: string }>(
      `
import json, mlflow
mlflow.set_experiment("${experimentName}")
with mlflow.start_run(run_name="from python") as r:
    mlflow.log_param("p", "1")
    mlflow.log_metric("m", 0.25, step=7)
print(json.dumps({"runId": r.info.run_id}))
`,
      { MLFLOW_TRACKING_URI: pathToFileURL(root).href },
    );
    const fromPython = await store.getRun(written.runId);
    expect(fromPython.info).toMatchObject({ status: 'FINISHED', runName: 'from python' });
    expect(fromPython.data).toMatchObject({ params: { p: '1' }, metrics: { m: 0.25 } });
  });

  describe('served by `mlflow server --backend-store-uri <dir>`', () => {
    let server: MlflowServer;

    beforeAll(async () => {
      server = await startMlflowServer({ backendStoreUri: root, env: { MLFLOW_ALLOW_FILE_STORE: 'true' } });
    });

    afterAll(async () => {
      await server?.stop();
    });

    it('serves the run, its metric history and its artifacts over REST', async () => {
      const read = await python<PyRun>(readRunScript(runId), { MLFLOW_TRACKING_URI: server.uri });
      expect(read.info).toMatchObject({ run_id: runId, run_name: 'parent run', status: 'FINISHED' });
      expect(read.params).toEqual({ lr: '0.01', optimizer: 'adam', 'model/layers': '3' });
      expect(read.history['train/loss']).toHaveLength(50);
      expect(read.text).toBe('hello from mlflow-kit');
      expect(read.children).toEqual([childId]);
      const response = await fetch(
        `${server.uri}/api/2.0/mlflow/experiments/get-by-name?experiment_name=${encodeURIComponent(experimentName)}`,
      );
      expect(response.status).toBe(200);
    });
  });
});
