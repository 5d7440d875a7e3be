import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { closeStores, getActiveRun } from '@mlflow-kit/core';
import { describeBackends } from '@mlflow-kit/test-support/describe-backends';
import { smallClassifier } from '@mlflow-kit/test-support/test-models';
import { autolog } from '@mlflow-kit/tfjs';
import * as tf from '@tensorflow/tfjs';
import { afterAll, afterEach, expect, it } from 'vitest';
import { python, trackingUri, uniqueName } from '../helpers/python.js';

const undo: (() => void)[] = [];
const roots: string[] = [];
afterEach(async () => {
  for (const step of undo.splice(0)) step();
  for (let run = getActiveRun(); run; run = getActiveRun()) await run.end();
});
afterAll(async () => {
  await closeStores();
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

interface PyInput {
  context: string;
  name: string;
  digest: string;
  source_type: string;
  schema: string;
  profile: Record<string, unknown>;
}

/** `run.inputs.dataset_inputs` as the official client reads them, by context. */
function readInputs(runId: string, env: Record<string, string> = {}): Promise<Record<string, PyInput>> {
  return python(
    `
import json, mlflow
r = mlflow.get_run("${runId}")
print(json.dumps({next(t.value for t in d.tags if t.key == "mlflow.data.context"): {
  "name": d.dataset.name, "digest": d.dataset.digest, "source_type": d.dataset.source_type,
  "schema": d.dataset.schema, "profile": json.loads(d.dataset.profile)} for d in r.inputs.dataset_inputs}))
`,
    env,
  );
}

/** What Python's `mlflow.data.from_numpy` makes of the same numbers (passed as raw bytes): digest and schema. */
function numpyDataset(
  features: { tensor: tf.Tensor; dtype: string },
  targets: { tensor: tf.Tensor; dtype: string },
): Promise<{ digest: string; schema: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'mlflow-kit-numpy-'));
  roots.push(dir);
  const save = (name: string, tensor: tf.Tensor): string => {
    const data = tensor.dataSync() as Float32Array | Int32Array;
    writeFileSync(join(dir, name), new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    return JSON.stringify(join(dir, name));
  };
  return python(`
import json, numpy as np, mlflow
f = np.fromfile(${save('f', features.tensor)}, dtype="${features.dtype}").reshape(${JSON.stringify(features.tensor.shape)})
t = np.fromfile(${save('t', targets.tensor)}, dtype="${targets.dtype}").reshape(${JSON.stringify(targets.tensor.shape)})
d = mlflow.data.from_numpy(f, targets=t)
print(json.dumps({"digest": d.digest, "schema": d.to_dict()["schema"]}))
`);
}

/** Float32 values with the cases pandas canonicalises (NaN, -0) and more than MLflow's 10,000 hashed values. */
function features(rows: number): tf.Tensor2D {
  const values = Array.from({ length: rows * 4 }, (_, index) => Math.fround(Math.sin(index) * 3));
  values[5] = -0;
  values[9] = Number.NaN;
  return tf.tensor2d(values, [rows, 4], 'float32');
}

describeBackends('datasets logged by autolog, read back by the official Python client', () => {
  it('fit(x, y) on the server: train/eval inputs whose digest and schema equal Python from_numpy of the same data', async () => {
    const experimentName = uniqueName('datasets');
    undo.push(autolog({ tf, enabled: true, trackingUri: trackingUri(), experimentName }));
    const xs = features(3000); // 12,000 values: the digest reads only the first 10,000
    const labels = Array.from({ length: 3000 }, (_, index) => index % 3);
    const ys = tf.oneHot(tf.tensor1d(labels, 'int32'), 3);
    const xVal = features(30);
    const yVal = tf.oneHot(tf.tensor1d(labels.slice(0, 30), 'int32'), 3);
    const model = smallClassifier();
    await model.fit(xs, ys, { epochs: 1, batchSize: 500, validationData: [xVal, yVal] });
    const runId = (await python<string>(`
import json, mlflow
print(json.dumps(mlflow.search_runs(experiment_names=["${experimentName}"], output_format="list")[0].info.run_id))
`)) as string;
    const read = await readInputs(runId);
    const expected = await numpyDataset({ tensor: xs, dtype: 'float32' }, { tensor: ys, dtype: 'int32' });
    expect(read.train).toMatchObject({ name: 'dataset', source_type: 'code', ...expected });
    expect(read.train!.profile).toMatchObject({ num_rows: 3000, features_shape: [3000, 4] });
    const expectedEval = await numpyDataset(
      { tensor: xVal, dtype: 'float32' },
      { tensor: yVal, dtype: 'int32' },
    );
    expect(read.eval).toMatchObject({ digest: expectedEval.digest, schema: expectedEval.schema });
  }, 120_000);

  it('fitDataset into ./mlruns: the official client reads the train dataset from the local store', async () => {
    const root = mkdtempSync(join(tmpdir(), 'mlflow-kit-datasets-'));
    roots.push(root);
    undo.push(autolog({ tf, enabled: true, trackingUri: root, experimentName: 'local-datasets' }));
    const xs = features(40);
    const ys = tf.oneHot(
      tf.tensor1d(
        Array.from({ length: 40 }, (_, index) => index % 3),
        'int32',
      ),
      3,
    );
    const dataset = tf.data
      .zip({ xs: tf.data.array(tf.unstack(xs)), ys: tf.data.array(tf.unstack(ys)) })
      .batch(8);
    await smallClassifier().fitDataset(dataset, { epochs: 2 });
    const runId = await python<string>(
      `
import json, mlflow
print(json.dumps(mlflow.search_runs(search_all_experiments=True, output_format="list")[0].info.run_id))
`,
      { MLFLOW_TRACKING_URI: pathToFileURL(root).href },
    );
    const read = await readInputs(runId, { MLFLOW_TRACKING_URI: pathToFileURL(root).href });
    expect(Object.keys(read)).toEqual(['train']);
    expect(read.train!.profile).toMatchObject({ num_rows: 40, num_batches: 5, features_cardinality: 5 });
    expect(read.train!.digest).toMatch(/^[0-9a-f]{8}$/);
  }, 120_000);
});
