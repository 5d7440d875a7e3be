import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  closeStores,
  getOrCreateExperiment,
  type Metric,
  MlflowApiError,
  MlflowKitError,
  type TrackingOptions,
  type TrackingStore,
} from '@mlflow-kit/core';
import { afterAll, describe, expect, it } from 'vitest';
import { python as runPython, trackingUri, uniqueName } from '../helpers/python.js';
import { storeFor } from '../helpers/stores.js';
import { freePort } from '../setup/mlflow-env.js';

/** MLflow's telemetry thread sometimes dies on exit with KeyError '_MLFLOW_TELEMETRY_SESSION_ID'; it is off here. */
const python = <T>(code: string): Promise<T> => runPython<T>(code, { MLFLOW_DISABLE_TELEMETRY: 'true' });

function makeStore(options: TrackingOptions = {}): Promise<TrackingStore> {
  return storeFor({ trackingUri: trackingUri(), maxRetries: 2, backoffFactor: 0.05, ...options });
}

afterAll(closeStores);

async function newRun(
  store: TrackingStore,
): Promise<{ runId: string; experimentId: string; artifactUri: string }> {
  const experimentId = await store.createExperiment(uniqueName('rest-store'));
  const run = await store.createRun({
    experimentId,
    startTime: Date.now(),
    userId: 'tester',
    runName: 'rest-store-test',
    tags: {},
  });
  return { runId: run.info.runId, experimentId, artifactUri: run.info.artifactUri };
}

async function rejection(promise: Promise<unknown>): Promise<MlflowApiError> {
  try {
    await promise;
  } catch (error) {
    if (MlflowApiError.isInstance(error)) return error;
    throw error;
  }
  throw new Error('expected an MlflowApiError');
}

describe('RestStore against the real MLflow server, read back by the Python client', () => {
  it('writes params, every metric point with its step and timestamp, NaN, tags and artifact bytes that Python reads back exactly', async () => {
    const store = await makeStore();
    const { runId } = await newRun(store);
    const base = 1_700_000_000_000;
    const loss: Metric[] = Array.from({ length: 25 }, (_, step) => ({
      key: 'train/loss',
      value: 1 / (step + 1),
      timestamp: base + step * 7,
      step,
    }));
    await store.logBatch(runId, {
      params: [
        { key: 'lr', value: '0.001' },
        { key: 'layers', value: '[64, 32]' },
      ],
      metrics: [
        ...loss,
        { key: 'weird', value: Number.NaN, timestamp: base, step: 0 },
        { key: 'weird', value: Number.POSITIVE_INFINITY, timestamp: base + 1, step: 1 },
        { key: 'weird', value: Number.NEGATIVE_INFINITY, timestamp: base + 2, step: 2 },
      ],
      tags: [
        { key: 'framework', value: 'tfjs' },
        { key: 'note', value: 'ünïcødé ✓' },
      ],
    });
    const bytes = new Uint8Array(4096).map((_, index) => (index * 7 + 3) % 256);
    await store.uploadArtifact((await store.getRun(runId)).info.artifactUri, 'outputs/data.bin', { bytes });
    await store.updateRun(runId, { status: 'FINISHED', endTime: base + 1000 });

    const seen = await python<{
      params: Record<string, string>;
      tags: Record<string, string>;
      status: string;
      end_time: number;
      loss: [number, number, number][];
      weird: [string, number, number][];
      artifact_hex: string;
    }>(`
import json, math, tempfile
from mlflow import MlflowClient
from mlflow.artifacts import download_artifacts
c = MlflowClient()
r = c.get_run("${runId}")
def show(v):
    return "NaN" if math.isnan(v) else ("Infinity" if v > 1e308 else ("-Infinity" if v < -1e308 else repr(v)))
loss = [[m.value, m.step, m.timestamp] for m in c.get_metric_history("${runId}", "train/loss")]
weird = [[show(m.value), m.step, m.timestamp] for m in c.get_metric_history("${runId}", "weird")]
path = download_artifacts(run_id="${runId}", artifact_path="outputs/data.bin", dst_path=tempfile.mkdtemp())
print(json.dumps({"params": r.data.params, "tags": r.data.tags, "status": r.info.status, "end_time": r.info.end_time,
  "loss": loss, "weird": weird, "artifact_hex": open(path, "rb").read().hex()}))
`);
    expect(seen.params).toEqual({ lr: '0.001', layers: '[64, 32]' });
    expect(seen.tags).toMatchObject({ framework: 'tfjs', note: 'ünïcødé ✓' });
    expect(seen.status).toBe('FINISHED');
    expect(seen.end_time).toBe(base + 1000);
    expect(seen.loss).toEqual(loss.map((point) => [point.value, point.step, point.timestamp]));
    expect(seen.weird).toEqual([
      ['NaN', 0, base],
      ['Infinity', 1, base + 1],
      ['-Infinity', 2, base + 2],
    ]);
    expect(seen.artifact_hex).toBe(Buffer.from(bytes).toString('hex'));
  });

  it('reads back what the Python client logged, NaN included', async () => {
    const store = await makeStore();
    const experimentName = uniqueName('from-python');
    const { run_id: runId } = await python<{ run_id: string }>(`
import json, mlflow
mlflow.set_experiment("${experimentName}")
with mlflow.start_run() as run:
    mlflow.log_param("alpha", "0.5")
    mlflow.log_metric("m", float("nan"), step=4)
    mlflow.log_metric("m", 2.5, step=5)
    mlflow.set_tag("who", "python")
print(json.dumps({"run_id": run.info.run_id}))
`);
    const run = await store.getRun(runId);
    expect(run.info.status).toBe('FINISHED');
    expect(run.data.params.alpha).toBe('0.5');
    expect(run.data.tags.who).toBe('python');
    expect(run.data.metrics.m).toBe(2.5);
    const history = await store.getMetricHistory(runId, 'm');
    expect(history.items.map((point) => point.step)).toEqual([4, 5]);
    expect(Number.isNaN(history.items[0]?.value)).toBe(true);
    expect((await store.getExperimentByName(experimentName))?.experimentId).toBe(run.info.experimentId);
  });

  it('resolves two stores racing to create the same experiment to one experiment', async () => {
    const name = uniqueName('race');
    // Two clients: stores are shared per configuration, so the two differ in a header.
    const [a, b] = await Promise.all([
      makeStore({ headers: { 'x-test-client': 'a' } }),
      makeStore({ headers: { 'x-test-client': 'b' } }),
    ]);
    const outcomes = await Promise.allSettled([a.createExperiment(name), b.createExperiment(name)]);
    const failed = outcomes.filter((outcome) => outcome.status === 'rejected');
    expect(failed).toHaveLength(1);
    for (const outcome of failed) {
      expect(MlflowApiError.isInstance(outcome.reason) && outcome.reason.errorCode).toBe(
        'RESOURCE_ALREADY_EXISTS',
      );
    }

    const raced = uniqueName('race-goc');
    const ids = await Promise.all([
      getOrCreateExperiment(a, raced),
      getOrCreateExperiment(b, raced),
      getOrCreateExperiment(a, raced),
    ]);
    expect(new Set(ids).size).toBe(1);
    const found = await a.searchExperiments({ filter: `name = '${raced}'` });
    expect(found.items).toHaveLength(1);
  });

  it('reports an invalid metric key as 400 INVALID_PARAMETER_VALUE from the server', async () => {
    const store = await makeStore();
    const { runId } = await newRun(store);
    const error = await rejection(
      store.logBatch(runId, { metrics: [{ key: 'bad//key', value: 1, timestamp: Date.now(), step: 0 }] }),
    );
    expect(error).toMatchObject({ status: 400, errorCode: 'INVALID_PARAMETER_VALUE', retryable: false });
    expect(error.message).toMatch(
      /^\[POST\] \/api\/2\.0\/mlflow\/runs\/log-batch: 400 INVALID_PARAMETER_VALUE: .*bad\/\/key/,
    );
  });

  it('reports a changed param value as 400 INVALID_PARAMETER_VALUE and keeps the first value', async () => {
    const store = await makeStore();
    const { runId } = await newRun(store);
    await store.logBatch(runId, { params: [{ key: 'epochs', value: '10' }] });
    const error = await rejection(store.logBatch(runId, { params: [{ key: 'epochs', value: '20' }] }));
    expect(error).toMatchObject({ status: 400, errorCode: 'INVALID_PARAMETER_VALUE' });
    expect(error.serverMessage).toMatch(/epochs/);
    expect((await store.getRun(runId)).data.params.epochs).toBe('10');
  });

  it('refuses to log to a deleted run', async () => {
    const store = await makeStore();
    const { runId } = await newRun(store);
    await store.deleteRun(runId);
    const error = await rejection(store.logBatch(runId, { tags: [{ key: 'late', value: 'yes' }] }));
    expect(error).toMatchObject({ status: 400, errorCode: 'INVALID_PARAMETER_VALUE', retryable: false });
    expect(error.serverMessage).toMatch(/active/);
  });

  it('fails fast with a retryable MlflowApiError without a status when nothing listens at the URI', async () => {
    const port = await freePort();
    const store = await makeStore({
      trackingUri: `http://127.0.0.1:${port}`,
      maxRetries: 3,
      backoffFactor: 0.01,
      backoffJitter: 0.01,
    });
    const started = Date.now();
    const error = await rejection(store.getExperimentByName('anything'));
    expect(error.status).toBeUndefined();
    expect(error.retryable).toBe(true);
    expect(error.endpoint).toBe('[GET] /api/2.0/mlflow/experiments/get-by-name');
    expect(error.message).toMatch(/ECONNREFUSED/);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('writes artifacts of a file:// root straight to disk, where the Python client finds them', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mlflow-kit-file-root-'));
    try {
      const store = await makeStore();
      const experimentId = await store.createExperiment(uniqueName('file-root'), {
        artifactLocation: pathToFileURL(dir).href,
      });
      const run = await store.createRun({ experimentId, startTime: Date.now(), userId: 'tester', tags: {} });
      expect(run.info.artifactUri).toMatch(/^file:\/\//);
      await store.uploadArtifact(run.info.artifactUri, 'model/weights.bin', {
        bytes: new Uint8Array([9, 8, 7]),
      });
      expect(await readFile(join(dir, run.info.runId, 'artifacts', 'model', 'weights.bin'))).toEqual(
        Buffer.from([9, 8, 7]),
      );
      expect(await store.listArtifacts(run.info.artifactUri, 'model')).toEqual([
        { path: 'model/weights.bin', isDir: false, fileSize: 3 },
      ]);
      const seen = await python<{ files: string[] }>(`
import json
from mlflow import MlflowClient
print(json.dumps({"files": [f.path for f in MlflowClient().list_artifacts("${run.info.runId}", "model")]}))
`);
      expect(seen.files).toEqual(['model/weights.bin']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses an s3:// artifact root with a message that points at the artifact proxy', async () => {
    const store = await makeStore();
    const experimentId = await store.createExperiment(uniqueName('s3-root'), {
      artifactLocation: 's3://some-bucket/prefix',
    });
    const run = await store.createRun({ experimentId, startTime: Date.now(), userId: 'tester', tags: {} });
    const attempt = store.uploadArtifact(run.info.artifactUri, 'a.txt', { bytes: new Uint8Array([1]) });
    await expect(attempt).rejects.toSatisfy((error: unknown) => MlflowKitError.isInstance(error));
    await expect(
      store.uploadArtifact(run.info.artifactUri, 'a.txt', { bytes: new Uint8Array([1]) }),
    ).rejects.toThrow(/s3:.*mlflow server --serve-artifacts/);
  });
});
