import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createClient, getActiveRun, startRun } from '@mlflow-kit/core';
import { describeBackends } from '@mlflow-kit/test-support/describe-backends';
import { smallClassifier as classifier, trainingData as data } from '@mlflow-kit/test-support/test-models';
import { autolog, ERROR_TAG, loadModel, logModel, mlflowCallback } from '@mlflow-kit/tfjs';
import * as tf from '@tensorflow/tfjs';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { startMlflow2Proxy } from '../helpers/mlflow2-proxy.js';
import { python as runPython, trackingUri, uniqueName } from '../helpers/python.js';

/** MLflow's telemetry thread can die noisily on exit; it is off here. */
const python = <T>(code: string, env: Record<string, string> = {}): Promise<T> =>
  runPython<T>(code, { MLFLOW_DISABLE_TELEMETRY: 'true', ...env });

interface PyRun {
  status: string;
  params: Record<string, string>;
  tags: Record<string, string>;
  history: Record<string, [number, number][]>;
  artifacts: string[];
  mlmodel?: {
    flavors: Record<string, Record<string, unknown>>;
    inputs: unknown;
    outputs: unknown;
    run_id: string;
  };
}

/** What the official Python client sees of a run: status, params, tags, metric histories, artifact files, MLmodel. */
function readRun(runId: string, env: Record<string, string> = {}): Promise<PyRun> {
  return python<PyRun>(
    `
import json, mlflow
from mlflow.tracking import MlflowClient
from mlflow.models import Model
c = MlflowClient()
r = c.get_run("${runId}")
def walk(path):
    out = []
    for f in c.list_artifacts("${runId}", path):
        out.extend(walk(f.path) if f.is_dir else [f.path])
    return out
files = walk(None)
history = {k: [[m.step, m.value] for m in sorted(c.get_metric_history("${runId}", k), key=lambda m: (m.step, m.timestamp))] for k in r.data.metrics}
res = {"status": r.info.status, "params": r.data.params, "tags": r.data.tags, "history": history, "artifacts": sorted(files)}
# runs:/<id>/model is the run's model/ folder, or else the logged model "model" the run produced.
if "model/MLmodel" in files or r.outputs.model_outputs:
    m = Model.load("runs:/${runId}/model")
    res["mlmodel"] = {"flavors": m.flavors, "inputs": m.signature.inputs.to_dict(), "outputs": m.signature.outputs.to_dict(), "run_id": m.run_id}
print(json.dumps(res))
`,
    env,
  );
}

interface PyLoggedModel {
  outputs: [string, number][];
  name: string;
  status: string;
  params: Record<string, string>;
  runParams: Record<string, string>;
  metrics: Record<string, [number, number, string]>;
  runLoss: number;
  sourceRunId: string;
  modelTags: Record<string, string>;
  search: string[];
  files: string[];
  flavor: Record<string, unknown>;
  mlmodelId: string;
  runArtifacts: string[];
  version?: { source: string; run_id: string };
}

/**
 * What the official Python client sees of the logged model a run produced: the model, its params and metrics,
 * the run's outputs, a search, the downloaded files and MLmodel; `extra` adds Python dict entries.
 */
function readLoggedModel(runId: string, env: Record<string, string>, extra = ''): Promise<PyLoggedModel> {
  return python<PyLoggedModel>(
    `
import json, os, mlflow
from mlflow.tracking import MlflowClient
from mlflow.models import Model
c = MlflowClient()
r = c.get_run("${runId}")
outs = [[o.model_id, o.step] for o in r.outputs.model_outputs]
m = c.get_logged_model(outs[0][0])
found = c.search_logged_models(experiment_ids=[r.info.experiment_id])
mm = Model.load(f"models:/{m.model_id}")
print(json.dumps({"outputs": outs, "name": m.name, "status": str(m.status), "params": m.params,
  "runParams": r.data.params,
  "metrics": {x.key: [x.value, x.step, x.run_id] for x in m.metrics}, "runLoss": r.data.metrics["loss"],
  "sourceRunId": m.source_run_id, "modelTags": m.tags, "search": [x.model_id for x in found],
  "files": sorted(os.listdir(mlflow.artifacts.download_artifacts(f"models:/{m.model_id}"))),
  "flavor": mm.flavors["tfjs"], "mlmodelId": mm.model_id,
  "runArtifacts": [f.path for f in c.list_artifacts("${runId}")], ${extra}}))
`,
    env,
  );
}

const undo: (() => void)[] = [];
afterEach(async () => {
  for (const step of undo.splice(0)) step();
  for (let run = getActiveRun(); run; run = getActiveRun()) await run.end();
});

/** The one run of an experiment, by experiment name. */
async function onlyRun(experimentName: string): Promise<string> {
  const client = createClient({ trackingUri: trackingUri() });
  const experiment = await client.getExperimentByName(experimentName);
  const runs = await client.searchAllRuns({ experimentIds: [experiment!.experimentId] });
  expect(runs).toHaveLength(1);
  return runs[0]!.info.runId;
}

const steps = (points: [number, number][] | undefined): number[] => (points ?? []).map(([step]) => step);

/** Turns autologging on against the test server for this test (undone after it). */
function autologTo(experimentName: string, options: Partial<Parameters<typeof autolog>[0]> = {}): void {
  undo.push(autolog({ tf, enabled: true, trackingUri: trackingUri(), experimentName, ...options }));
}

describeBackends('tfjs autologging against the real MLflow server', (backend) => {
  it('a real fit: Python sees params, epoch histories, tags, the summary and the model', async () => {
    const experimentName = uniqueName('tfjs');
    autologTo(experimentName);
    const model = classifier();
    const { xs, ys } = data();
    await model.fit(xs, ys, { epochs: 4, batchSize: 16, validationSplit: 0.25 });
    const run = await readRun(await onlyRun(experimentName));

    expect(run.status).toBe('FINISHED');
    expect(run.params).toMatchObject({
      epochs: '4',
      batch_size: '16',
      initial_epoch: '0',
      validation_split: '0.25',
      shuffle: 'true',
      class_weight: 'None',
      opt_name: 'Adam',
      opt_learning_rate: '0.01',
      loss_function: 'categoricalCrossentropy',
      num_layers: '2',
      total_params: '67',
      trainable_params: '67',
    });
    expect(run.tags).toMatchObject({
      'mlflow.autologging': 'tfjs',
      'tfjs.version': '4.22.0',
      'tfjs.backend': backend.name,
    });
    for (const key of ['loss', 'acc', 'val_loss', 'val_acc', 'epoch_duration_seconds'])
      expect(steps(run.history[key])).toEqual([0, 1, 2, 3]);
    // The model is an MLflow 3 logged model with its own artifacts; the run keeps the summary.
    expect(run.artifacts).toEqual(['model_summary.txt']);
    expect(run.mlmodel?.flavors.tfjs).toMatchObject({
      format: 'layers-model',
      model_file: 'model.json',
      tfjs_version: '4.22.0',
    });
    expect(run.mlmodel?.inputs).toEqual([
      { type: 'tensor', 'tensor-spec': { dtype: 'float32', shape: [-1, 4] } },
    ]);
    expect(run.mlmodel?.outputs).toEqual([
      { type: 'tensor', 'tensor-spec': { dtype: 'float32', shape: [-1, 3] } },
    ]);
  });

  it("metricNames: 'keras': Python sees accuracy and val_accuracy, as a Keras autolog run names them", async () => {
    const experimentName = uniqueName('tfjs-keras-names');
    autologTo(experimentName, {
      metricNames: 'keras',
      logModel: false,
    });
    const model = classifier();
    const { xs, ys } = data();
    await model.fit(xs, ys, { epochs: 2, batchSize: 16, validationSplit: 0.25 });
    const run = await readRun(await onlyRun(experimentName));
    expect(Object.keys(run.history).sort()).toEqual([
      'accuracy',
      'epoch_duration_seconds',
      'loss',
      'val_accuracy',
      'val_loss',
    ]);
    expect(steps(run.history.val_accuracy)).toEqual([0, 1]);
  });

  it('a fitDataset with per-batch logging: Python sees steps_per_epoch and batch histories at the global step', async () => {
    const experimentName = uniqueName('tfjs');
    autologTo(experimentName, {
      logEvery: 2,
      logModel: false,
    });
    const model = classifier();
    const { xs, ys } = data(48);
    const dataset = tf.data
      .zip({ xs: tf.data.array(xs.unstack()), ys: tf.data.array(ys.unstack()) })
      .batch(12);
    await model.fitDataset(dataset.repeat(), { epochs: 3, batchesPerEpoch: 4, validationData: dataset });
    const run = await readRun(await onlyRun(experimentName));
    expect(run.params).toMatchObject({
      epochs: '3',
      steps_per_epoch: '4',
      batch_size: '12',
      validation_data: 'true',
    });
    expect(steps(run.history.val_loss)).toEqual([0, 1, 2]);
    expect(steps(run.history.batch_loss)).toEqual([2, 4, 6, 8, 10, 12]);
    expect(run.artifacts).toEqual(['model_summary.txt']);
  });

  it('an early-stopped run: Python sees the early-stopping params and stopped_epoch', async () => {
    const experimentName = uniqueName('tfjs');
    autologTo(experimentName, { logModel: false });
    const model = classifier();
    const { xs, ys } = data();
    await model.fit(xs, ys, {
      epochs: 30,
      callbacks: [tf.callbacks.earlyStopping({ monitor: 'loss', patience: 2, minDelta: 5 })],
    });
    const run = await readRun(await onlyRun(experimentName));
    expect(run.params).toMatchObject({
      monitor: 'loss',
      min_delta: '5',
      patience: '2',
      baseline: 'None',
      restore_best_weights: 'false',
    });
    expect(run.history.stopped_epoch).toEqual([[0, 2]]);
    expect(steps(run.history.loss)).toEqual([0, 1, 2]);
  });

  it('a failing run: Python sees it FAILED with the error tag, and fit still throws', async () => {
    const experimentName = uniqueName('tfjs');
    autologTo(experimentName);
    const model = classifier();
    const { xs } = data();
    const failure = await model.fit(xs, tf.zeros([48, 5]), { epochs: 2 }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(Error);
    const run = await readRun(await onlyRun(experimentName));
    expect(run.status).toBe('FAILED');
    expect(run.tags[ERROR_TAG]).toContain((failure as Error).message.slice(0, 40));
  });

  it('registers the model; loadModel by alias, version, latest and runs:/ predicts what the trained model predicts', async () => {
    const name = uniqueName('tfjs-iris');
    const run = await startRun({
      enabled: true,
      trackingUri: trackingUri(),
      experimentName: uniqueName('tfjs'),
    });
    const model = classifier();
    const { xs, ys } = data();
    await model.fit(xs, ys, { epochs: 3, callbacks: mlflowCallback({ tf, run, logModel: false }) });
    const info = await logModel(run, model, 'model', { registeredModelName: name, tf });
    await run.end();
    expect(info?.registeredModelVersion).toBe('1');

    const client = createClient({ trackingUri: trackingUri() });
    await client.setRegisteredModelAlias(name, 'champion', '1');
    const expected = (model.predict(xs) as tf.Tensor).arraySync();
    for (const uri of [
      `models:/${name}@champion`,
      `models:/${name}/1`,
      `models:/${name}/latest`,
      `runs:/${run.runId}/model`,
    ]) {
      const loaded = await loadModel(uri, { tf, trackingUri: trackingUri() });
      expect((loaded.predict(xs) as tf.Tensor).arraySync(), uri).toEqual(expected);
    }

    const seen = await python<{ source: string; run_id: string; files: string[] }>(`
import json, os, mlflow
from mlflow.tracking import MlflowClient
c = MlflowClient()
v = c.get_model_version_by_alias("${name}", "champion")
path = mlflow.artifacts.download_artifacts("models:/${name}@champion")
print(json.dumps({"source": v.source, "run_id": v.run_id, "files": sorted(os.listdir(path))}))
`);
    expect(seen.run_id).toBe(run.runId);
    expect(seen.source).toBe(info?.modelUri);
    expect(info?.modelUri).toMatch(/^models:\/m-[0-9a-f]{32}$/);
    // Python adds its own registered_model_meta file to the download.
    expect(seen.files).toEqual(expect.arrayContaining(['MLmodel', 'group1-shard1of1.bin', 'model.json']));
  });

  it("an MLflow 3 logged model: Python sees it with the run's params, the final epoch metrics and the run's output; it loads by models:/<id> and registers from it", async () => {
    const experimentName = uniqueName('tfjs-logged');
    const name = uniqueName('tfjs-logged-model');
    autologTo(experimentName, { registeredModelName: name });
    const model = classifier();
    const { xs, ys } = data();
    await model.fit(xs, ys, { epochs: 3, batchSize: 16, validationSplit: 0.25 });
    const runId = await onlyRun(experimentName);
    const seen = await readLoggedModel(
      runId,
      {},
      `"version": (lambda v: {"source": v.source, "run_id": v.run_id})(c.get_model_version("${name}", "1")),`,
    );
    expect(seen.outputs).toHaveLength(1);
    const [modelId, step] = seen.outputs[0]!;
    expect(modelId).toMatch(/^m-[0-9a-f]{32}$/);
    expect(step).toBe(2);
    expect(seen).toMatchObject({ name: 'model', sourceRunId: runId, search: [modelId], mlmodelId: modelId });
    expect(seen.status).toMatch(/READY/);
    expect(seen.params).toEqual(seen.runParams);
    expect(seen.params.epochs).toBe('3');
    expect(Object.keys(seen.metrics)).toEqual(expect.arrayContaining(['loss', 'acc', 'val_loss', 'val_acc']));
    expect(seen.metrics.loss).toEqual([seen.runLoss, 2, runId]);
    // The server keeps the source and run of the version, and tags the logged model with its registrations.
    expect(seen.version).toMatchObject({ source: `models:/${modelId}`, run_id: runId });
    expect(seen.modelTags['mlflow.modelVersions']).toContain(name);
    expect(seen.files).toEqual(expect.arrayContaining(['MLmodel', 'group1-shard1of1.bin', 'model.json']));
    expect(seen.flavor).toMatchObject({ format: 'layers-model' });
    // The model's files live in the logged model, not in the run's artifacts.
    expect(seen.runArtifacts).not.toContain('model');

    const expected = (model.predict(xs) as tf.Tensor).arraySync();
    for (const uri of [`models:/${modelId}`, `runs:/${runId}/model`, `models:/${name}/1`]) {
      const loaded = await loadModel(uri, { tf, trackingUri: trackingUri() });
      expect((loaded.predict(xs) as tf.Tensor).arraySync(), uri).toEqual(expected);
    }
  });

  it("a server before MLflow 3 (404 on logged-models): the model goes to the run's artifacts and registers from there", async () => {
    const proxy = await startMlflow2Proxy(trackingUri());
    undo.push(() => void proxy.close());
    const name = uniqueName('tfjs-v2');
    const run = await startRun({
      enabled: true,
      trackingUri: proxy.uri,
      experimentName: uniqueName('tfjs-v2'),
    });
    const model = classifier();
    const { xs, ys } = data();
    await model.fit(xs, ys, { epochs: 2, callbacks: mlflowCallback({ tf, run, logModel: false }) });
    const info = await logModel(run, model, 'model', { registeredModelName: name, tf });
    await run.end();
    expect(proxy.refused).toBeGreaterThan(0);
    expect(info?.modelUri).toBe(`runs:/${run.runId}/model`);
    expect(info?.modelId).toBeUndefined();
    const seen = await readRun(run.runId);
    expect(seen.artifacts).toEqual(expect.arrayContaining(['model/MLmodel', 'model/model.json']));
    const loaded = await loadModel(`models:/${name}/1`, { tf, trackingUri: proxy.uri });
    expect((loaded.predict(xs) as tf.Tensor).arraySync()).toEqual(
      (model.predict(xs) as tf.Tensor).arraySync(),
    );
  });
});

describeBackends('tfjs autologging into the local store', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'mlflow-kit-tfjs-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('Python reads a run logged to ./mlruns with its logged model, and loadModel reads the model back by models:/<id> and runs:/', async () => {
    const uri = pathToFileURL(join(dir, 'mlruns')).href;
    const experimentName = uniqueName('tfjs-local');
    undo.push(autolog({ tf, enabled: true, trackingUri: uri, experimentName }));
    const model = classifier();
    const { xs, ys } = data();
    await model.fit(xs, ys, { epochs: 2, validationSplit: 0.25 });
    const client = createClient({ trackingUri: uri });
    const experiment = await client.getExperimentByName(experimentName);
    const [record] = await client.searchAllRuns({ experimentIds: [experiment!.experimentId] });
    const run = await readRun(record!.info.runId, { MLFLOW_TRACKING_URI: uri });
    expect(run.status).toBe('FINISHED');
    expect(steps(run.history.val_loss)).toEqual([0, 1]);
    const runId = record!.info.runId;
    const seen = await readLoggedModel(runId, { MLFLOW_TRACKING_URI: uri });
    const [modelId, step] = seen.outputs[0]!;
    expect(step).toBe(1);
    expect(seen).toMatchObject({ name: 'model', search: [modelId] });
    expect(seen.status).toMatch(/READY/);
    expect(seen.params).toEqual(seen.runParams);
    expect(seen.metrics.loss).toEqual([seen.runLoss, 1, runId]);
    expect(seen.flavor).toMatchObject({ format: 'layers-model' });
    expect(seen.files).toEqual(expect.arrayContaining(['MLmodel', 'group1-shard1of1.bin', 'model.json']));
    // The run's history keeps one point per epoch: the model's metrics are not written to the run twice.
    expect(steps(run.history.loss)).toEqual([0, 1]);
    for (const modelUri of [`models:/${modelId}`, `runs:/${runId}/model`]) {
      const loaded = await loadModel(modelUri, { tf, trackingUri: uri });
      expect((loaded.predict(xs) as tf.Tensor).arraySync(), modelUri).toEqual(
        (model.predict(xs) as tf.Tensor).arraySync(),
      );
    }
  });
});
