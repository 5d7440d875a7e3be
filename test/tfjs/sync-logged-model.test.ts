import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createClient, replayLocalRuns } from '@mlflow-kit/core';
import {
  smallClassifier as classifier,
  trainingData as data,
  useWasm,
} from '@mlflow-kit/test-support/test-models';
import { autolog, loadModel } from '@mlflow-kit/tfjs';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMlflow2Proxy } from '../helpers/mlflow2-proxy.js';
import { python, trackingUri, uniqueName } from '../helpers/python.js';

interface SyncedModel {
  runIds: string[];
  outputs: [string, number][];
  models: string[];
  name: string;
  status: string;
  params: Record<string, string>;
  runParams: Record<string, string>;
  tags: Record<string, string>;
  metrics: Record<string, [number, number, string]>;
  runLoss: number;
  mlmodel: { model_id: string; run_id: string };
  runArtifacts: string[];
}

/** What the official Python client sees on the server of the experiment a local run was synced into. */
function readSynced(experimentName: string, uri = trackingUri()): Promise<SyncedModel> {
  return python<SyncedModel>(
    `
import json
from mlflow.tracking import MlflowClient
from mlflow.models import Model
c = MlflowClient()
e = c.get_experiment_by_name("${experimentName}")
runs = c.search_runs([e.experiment_id])
r = runs[0]
outs = [[o.model_id, o.step] for o in r.outputs.model_outputs]
models = c.search_logged_models(experiment_ids=[e.experiment_id])
res = {"runIds": [x.info.run_id for x in runs], "outputs": outs, "models": [m.model_id for m in models],
  "runParams": r.data.params, "runLoss": r.data.metrics["loss"],
  "runArtifacts": sorted(f.path for f in c.list_artifacts(r.info.run_id))}
if outs:
    m = c.get_logged_model(outs[0][0])
    mm = Model.load(f"models:/{m.model_id}")
    res.update({"name": m.name, "status": str(m.status), "params": m.params, "tags": m.tags,
      "metrics": {x.key: [x.value, x.step, x.run_id] for x in m.metrics},
      "mlmodel": {"model_id": mm.model_id, "run_id": mm.run_id}})
print(json.dumps(res))
`,
    { MLFLOW_DISABLE_TELEMETRY: 'true', MLFLOW_TRACKING_URI: uri },
  );
}

/** Trains the small classifier with autolog into the local store at `root`; returns its predictions. */
async function trainLocally(root: string, experimentName: string): Promise<number[][]> {
  const disable = autolog({ tf, enabled: true, trackingUri: pathToFileURL(root).href, experimentName });
  try {
    const model = classifier();
    const { xs, ys } = data();
    await model.fit(xs, ys, { epochs: 2, validationSplit: 0.25 });
    return (model.predict(xs) as tf.Tensor2D).arraySync();
  } finally {
    disable();
  }
}

describe('mlflow-kit sync of a local run with an MLflow 3 logged model', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mlflow-kit-sync-model-'));
  beforeAll(async () => {
    await useWasm();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("uploads the model as the server's own logged model: output link, params, tags, metrics, files and status; a second sync sends nothing", async () => {
    const root = join(dir, 'v3', 'mlruns');
    const experimentName = uniqueName('sync-model');
    const expected = await trainLocally(root, experimentName);
    const first = await replayLocalRuns({ from: root, to: trackingUri() });
    expect(first).toMatchObject({ created: 1, failed: 0 });
    const seen = await readSynced(experimentName);
    expect(seen.outputs).toHaveLength(1);
    const [modelId, step] = seen.outputs[0]!;
    const runId = seen.runIds[0]!;
    expect(step).toBe(1);
    expect(seen.models).toEqual([modelId]);
    expect(seen.name).toBe('model');
    expect(seen.status).toMatch(/READY/);
    expect(seen.params).toEqual(seen.runParams);
    expect(seen.tags['mlflow.source.name']).toBeTruthy();
    expect(seen.metrics.loss).toEqual([seen.runLoss, 1, runId]);
    // The MLmodel names the server's model and run, not the local ones.
    expect(seen.mlmodel).toEqual({ model_id: modelId, run_id: runId });
    expect(seen.runArtifacts).not.toContain('model');

    const loaded = await loadModel(`models:/${modelId}`, { tf, trackingUri: trackingUri() });
    const { xs } = data();
    expect((loaded.predict(xs) as tf.Tensor2D).arraySync()).toEqual(expected);

    const second = await replayLocalRuns({ from: root, to: trackingUri() });
    expect(second).toMatchObject({ unchanged: 1, failed: 0, artifactsUploaded: 0 });
    expect((await readSynced(experimentName)).models).toEqual([modelId]);
  });

  it("into a server before MLflow 3 (404 on logged-models): the model's files go to the run's artifacts under its name", async () => {
    const root = join(dir, 'v2', 'mlruns');
    await trainLocally(root, uniqueName('sync-model-v2'));
    const proxy = await startMlflow2Proxy(trackingUri());
    try {
      const summary = await replayLocalRuns({ from: root, to: proxy.uri });
      expect(summary.failed).toBe(0);
      expect(proxy.refused).toBeGreaterThan(0);
      const client = createClient({ trackingUri: trackingUri() });
      const run = summary.runs[0]!;
      const files = await client.listArtifacts(run.remoteRunId!, 'model');
      expect(files.map((file) => file.path)).toEqual(
        expect.arrayContaining(['model/MLmodel', 'model/model.json']),
      );
    } finally {
      await proxy.close();
    }
  });
});
