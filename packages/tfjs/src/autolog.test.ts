import { getActiveRun, withRun } from '@mlflow-kit/core';
import { createMemoryStore } from '@mlflow-kit/core/testing';
import { describeBackends } from '@mlflow-kit/test-support/describe-backends';
import { smallClassifier, trainingData } from '@mlflow-kit/test-support/test-models';
import * as tf from '@tensorflow/tfjs';
import { afterEach, expect, it } from 'vitest';
import { type AutologTfModule, autolog, ERROR_TAG } from './autolog.js';
import { loadModel } from './load-model.js';

const undo: (() => void)[] = [];
afterEach(async () => {
  for (const step of undo.splice(0)) step();
  for (let run = getActiveRun(); run; run = getActiveRun()) await run.end();
});

describeBackends('autolog', () => {
  it('logs every fit into a run of its own, ended FINISHED, with the Sequential as the model', async () => {
    const store = createMemoryStore();
    undo.push(autolog({ tf, enabled: true, store, experimentName: 'auto' }));
    const model = smallClassifier();
    const { xs, ys } = trainingData();
    await model.fit(xs, ys, { epochs: 2, batchSize: 16, validationSplit: 0.25 });
    const [record] = store.runs();
    expect(record?.info.status).toBe('FINISHED');
    expect(record?.data.tags['mlflow.autologging']).toBe('tfjs');
    expect(record?.data.params).toMatchObject({
      epochs: '2',
      batch_size: '16',
      validation_split: '0.25',
      opt_name: 'Adam',
    });
    expect(record?.history.val_loss).toHaveLength(2);

    const loaded = await loadModel(`runs:/${record?.info.runId}/model`, { tf, store });
    expect(loaded.getClassName()).toBe('Sequential');
    const expected = (model.predict(xs) as typeof xs).arraySync();
    expect((loaded.predict(xs) as typeof xs).arraySync()).toEqual(expected);
  });

  it('logs into the active run and leaves it open', async () => {
    const store = createMemoryStore();
    undo.push(autolog({ tf, enabled: true, store, logModel: false }));
    const model = smallClassifier();
    const { xs, ys } = trainingData();
    await withRun({ enabled: true, store }, async (run) => {
      await model.fit(xs, ys, { epochs: 1 });
      expect(getActiveRun()?.runId).toBe(run.runId);
    });
    expect(store.runs()).toHaveLength(1);
    expect(store.runs()[0]?.history.loss).toHaveLength(1);
  });

  it('ends the run FAILED with the error as a tag when fit throws, and rethrows', async () => {
    const store = createMemoryStore();
    undo.push(autolog({ tf, enabled: true, store }));
    const model = smallClassifier();
    const { xs } = trainingData();
    await expect(model.fit(xs, tf.zeros([48, 5]), { epochs: 1 })).rejects.toThrow();
    const [record] = store.runs();
    expect(record?.info.status).toBe('FAILED');
    expect(record?.data.tags[ERROR_TAG]).toMatch(/Error/);
  });

  it('keeps the user callbacks working and logs early stopping', async () => {
    const store = createMemoryStore();
    undo.push(autolog({ tf, enabled: true, store, logModel: false }));
    const model = smallClassifier();
    const { xs, ys } = trainingData();
    const epochs: number[] = [];
    await model.fit(xs, ys, {
      epochs: 20,
      callbacks: [
        tf.callbacks.earlyStopping({ monitor: 'loss', patience: 1, minDelta: 10 }),
        { onEpochEnd: async (epoch: number) => void epochs.push(epoch) } as never,
      ],
    });
    expect(epochs).toEqual([0, 1]);
    const [record] = store.runs();
    expect(record?.data.params).toMatchObject({ monitor: 'loss', patience: '1' });
    expect(record?.history.stopped_epoch?.[0]?.value).toBe(1);
  });

  it('patches nothing when tracking is off, and undoes its patch', async () => {
    const fit = tf.LayersModel.prototype.fit;
    const sequentialFit = tf.Sequential.prototype.fit;
    autolog({ tf, enabled: false });
    expect(tf.LayersModel.prototype.fit).toBe(fit);
    const disable = autolog({ tf, enabled: true, store: createMemoryStore() });
    expect(tf.Sequential.prototype.fit).not.toBe(sequentialFit);
    disable();
    expect(tf.LayersModel.prototype.fit).toBe(fit);
    expect(tf.Sequential.prototype.fit).toBe(sequentialFit);
  });

  it('logs fitDataset with steps_per_epoch', async () => {
    const store = createMemoryStore();
    undo.push(autolog({ tf, enabled: true, store, logModel: false }));
    const model = smallClassifier();
    const { xs, ys } = trainingData();
    const dataset = tf.data
      .zip({ xs: tf.data.array(xs.unstack()), ys: tf.data.array(ys.unstack()) })
      .batch(16);
    await model.fitDataset(dataset, { epochs: 2 });
    const [record] = store.runs();
    expect(record?.info.status).toBe('FINISHED');
    expect(record?.data.params).toMatchObject({ epochs: '2', validation_data: 'false' });
    expect(record?.history.loss).toHaveLength(2);
  });

  it('rejects invalid options at once, before patching anything or undoing the previous patch', () => {
    const fit = tf.LayersModel.prototype.fit;
    expect(() => autolog({ tf, enabled: true, store: createMemoryStore(), logEvery: 0 })).toThrow(/logEvery/);
    expect(tf.LayersModel.prototype.fit).toBe(fit);
    const disable = autolog({ tf, enabled: true, store: createMemoryStore() });
    undo.push(disable);
    const patched = tf.LayersModel.prototype.fit;
    expect(() => autolog({ tf, enabled: true, logEvery: 'step' as 'batch' })).toThrow(/logEvery/);
    expect(tf.LayersModel.prototype.fit).toBe(patched);
  });

  it('ends its run FAILED when fit throws before training starts', async () => {
    const store = createMemoryStore();
    class FakeModel {
      fit(): Promise<unknown> {
        throw new TypeError('bad arguments');
      }
    }
    const fakeTf = { LayersModel: FakeModel } as unknown as AutologTfModule;
    undo.push(autolog({ tf: fakeTf, enabled: true, store, logModel: false }));
    const model = new FakeModel();
    await expect(model.fit()).rejects.toThrow('bad arguments');
    const [record] = store.runs();
    expect(record?.info.status).toBe('FAILED');
    expect(record?.data.tags[ERROR_TAG]).toBe('TypeError: bad arguments');
  });
});
