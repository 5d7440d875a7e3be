import { type DatasetInput, getActiveRun, withRun } from '@mlflow-kit/core';
import { createMemoryStore, type MemoryStore } from '@mlflow-kit/core/testing';
import { describeBackends } from '@mlflow-kit/test-support/describe-backends';
import { smallClassifier, trainingData } from '@mlflow-kit/test-support/test-models';
import * as tf from '@tensorflow/tfjs';
import { afterEach, expect, it } from 'vitest';
import { autolog } from '../autolog.js';
import { mlflowCallback } from '../callback.js';

const undo: (() => void)[] = [];
afterEach(async () => {
  for (const step of undo.splice(0)) step();
  for (let run = getActiveRun(); run; run = getActiveRun()) await run.end();
});

function inputs(store: MemoryStore): Record<string, DatasetInput> {
  const list = store.runs()[0]?.inputs?.datasetInputs ?? [];
  return Object.fromEntries(list.map((input) => [input.tags?.['mlflow.data.context'] ?? '?', input]));
}

const FEATURES_SPEC = '[{"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 4]}}]';
const TARGETS_SPEC = '[{"type": "tensor", "tensor-spec": {"dtype": "int32", "shape": [-1, 3]}}]'; // tf.oneHot gives int32

describeBackends('datasets of fit and fitDataset', () => {
  it('autolog fit(x, y) logs the train and eval tensors: digest, tensor-spec schema, profile, code source', async () => {
    const store = createMemoryStore();
    undo.push(autolog({ tf, enabled: true, store, logModel: false }));
    const model = smallClassifier();
    const { xs, ys } = trainingData(48);
    const validation = trainingData(12);
    await model.fit(xs, ys, { epochs: 1, validationData: [validation.xs, validation.ys] });
    const { train, eval: evaluation } = inputs(store);
    expect(train?.dataset).toMatchObject({ name: 'dataset', sourceType: 'code' });
    expect(train?.dataset.digest).toMatch(/^[0-9a-f]{8}$/);
    expect(evaluation?.dataset.digest).toMatch(/^[0-9a-f]{8}$/);
    expect(evaluation?.dataset.digest).not.toBe(train?.dataset.digest);
    expect(JSON.parse(train!.dataset.schema!)).toEqual({
      mlflow_tensorspec: { features: FEATURES_SPEC, targets: TARGETS_SPEC },
    });
    expect(JSON.parse(train!.dataset.profile!)).toEqual({
      num_rows: 48,
      features_shape: [48, 4],
      features_size: 192,
      features_nbytes: 768,
      targets_shape: [48, 3],
      targets_size: 144,
      targets_nbytes: 576,
    });
    expect(JSON.parse(evaluation!.dataset.profile!).num_rows).toBe(12);
    expect(JSON.parse(train!.dataset.source).tags['mlflow.source.type']).toBe('LOCAL');
    // The data's own tensors are untouched, and nothing the digest read is left behind (a second fit, once
    // the optimizer has made its own state).
    expect(xs.isDisposed).toBe(false);
    const before = tf.memory().numTensors;
    await model.fit(xs, ys, { epochs: 1, validationData: [validation.xs, validation.ys] });
    expect(store.runs()).toHaveLength(2);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('the same data gives the same digest; other data another one', async () => {
    const store = createMemoryStore();
    undo.push(autolog({ tf, enabled: true, store, logModel: false }));
    const digests: string[] = [];
    for (const rows of [48, 48, 47]) {
      const { xs, ys } = trainingData(rows);
      await smallClassifier().fit(xs, ys, { epochs: 1 });
    }
    for (const record of store.runs()) digests.push(record.inputs!.datasetInputs[0]!.dataset.digest);
    expect(digests[0]).toBe(digests[1]);
    expect(digests[2]).not.toBe(digests[0]);
  });

  it('autolog fitDataset watches the datasets while training iterates them: batches, rows, and no second pass', async () => {
    const store = createMemoryStore();
    undo.push(autolog({ tf, enabled: true, store, logModel: false }));
    const { xs, ys } = trainingData(48);
    let pulled = 0;
    const elements = tf.data.zip({ xs: tf.data.array(tf.unstack(xs)), ys: tf.data.array(tf.unstack(ys)) });
    const dataset = elements
      .map((element) => {
        pulled++;
        return element;
      })
      .batch(10) as unknown as tf.data.Dataset<tf.TensorContainer>;
    const validation = tf.data
      .zip({ xs: tf.data.array(tf.unstack(xs.slice(0, 8))), ys: tf.data.array(tf.unstack(ys.slice(0, 8))) })
      .batch(4);
    await smallClassifier().fitDataset(dataset, { epochs: 2, validationData: validation });
    // Two epochs pull every element twice: the logging adds no pass of its own.
    expect(pulled).toBe(96);
    const { train, eval: evaluation } = inputs(store);
    expect(JSON.parse(train!.dataset.profile!)).toMatchObject({
      num_rows: 48,
      num_batches: 5,
      features_cardinality: 5,
      batch_features_shape: [10, 4],
    });
    expect(JSON.parse(evaluation!.dataset.profile!)).toMatchObject({ num_rows: 8, num_batches: 2 });
    expect(JSON.parse(train!.dataset.schema!)).toEqual({
      mlflow_tensorspec: { features: FEATURES_SPEC, targets: TARGETS_SPEC },
    });
    // The dataset's own iterator() is back.
    expect(Object.hasOwn(dataset, 'iterator')).toBe(false);
    expect(Object.hasOwn(validation, 'iterator')).toBe(false);
  });

  it('mlflowCallback logs the trainingData it is given; logDatasets: false logs none', async () => {
    const store = createMemoryStore();
    const { xs, ys } = trainingData(48);
    await withRun({ enabled: true, store }, async () => {
      await smallClassifier().fit(xs, ys, {
        epochs: 1,
        callbacks: mlflowCallback({ tf, logModel: false, trainingData: { x: xs, y: ys } }),
      });
    });
    expect(Object.keys(inputs(store))).toEqual(['train']);

    const quiet = createMemoryStore();
    undo.push(autolog({ tf, enabled: true, store: quiet, logModel: false, logDatasets: false }));
    await smallClassifier().fit(xs, ys, { epochs: 1 });
    expect(quiet.runs()[0]?.inputs?.datasetInputs).toEqual([]);
  });

  it('a multi-input model names its features after the model inputs', async () => {
    const store = createMemoryStore();
    undo.push(autolog({ tf, enabled: true, store, logModel: false }));
    const left = tf.input({ shape: [2], name: 'left' });
    const right = tf.input({ shape: [3], name: 'right' });
    const merged = tf.layers.concatenate().apply([left, right]) as tf.SymbolicTensor;
    const output = tf.layers.dense({ units: 1 }).apply(merged) as tf.SymbolicTensor;
    const model = tf.model({ inputs: [left, right], outputs: output });
    model.compile({ optimizer: 'sgd', loss: 'meanSquaredError' });
    await model.fit([tf.ones([6, 2]), tf.zeros([6, 3])], tf.ones([6, 1]), { epochs: 1 });
    const { train } = inputs(store);
    const features = JSON.parse(JSON.parse(train!.dataset.schema!).mlflow_tensorspec.features);
    expect(features.map((spec: { name: string }) => spec.name)).toEqual(['left', 'right']);
    expect(JSON.parse(train!.dataset.profile!).features_shape).toEqual({ left: [6, 2], right: [6, 3] });
  });
});
