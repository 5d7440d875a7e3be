import { getActiveRun, startRun, withRun } from '@mlflow-kit/core';
import { createMemoryStore } from '@mlflow-kit/core/testing';
import { describeBackends } from '@mlflow-kit/test-support/describe-backends';
import { smallClassifier, trainingData } from '@mlflow-kit/test-support/test-models';
import * as tf from '@tensorflow/tfjs';
import { afterEach, describe, expect, it } from 'vitest';
import { ERROR_TAG, mlflowCallback } from './callback.js';

afterEach(async () => {
  // A failed test must not leave its run active for the next one.
  for (let run = getActiveRun(); run; run = getActiveRun()) await run.end();
});

const decode = (bytes: Uint8Array | undefined): string => new TextDecoder().decode(bytes);

describeBackends('mlflowCallback', (backend) => {
  it('logs params, per-epoch metrics with val_*, tags, the summary and the model for model.fit', async () => {
    const store = createMemoryStore();
    const run = await startRun({ enabled: true, store });
    const model = smallClassifier();
    const { xs, ys } = trainingData();
    const fitArgs = { epochs: 3, batchSize: 8, validationSplit: 0.25 };
    await model.fit(xs, ys, { ...fitArgs, callbacks: mlflowCallback({ run, tf, fitArgs, model }) });
    await run.end();

    const [record] = store.runs();
    expect(record?.info.status).toBe('FINISHED');
    expect(record?.data.params).toMatchObject({
      epochs: '3',
      batch_size: '8',
      initial_epoch: '0',
      steps_per_epoch: 'None',
      validation_split: '0.25',
      validation_data: 'false',
      shuffle: 'true',
      class_weight: 'None',
      opt_name: 'Adam',
      opt_learning_rate: '0.01',
      opt_beta_1: '0.9',
      opt_beta_2: '0.999',
      loss_function: 'categoricalCrossentropy',
      compiled_metrics: 'accuracy',
      num_layers: '2',
      total_params: '67',
      trainable_params: '67',
    });
    expect(record?.data.tags).toMatchObject({
      'tfjs.version': tf.version.tfjs,
      'tfjs.backend': backend.name,
    });
    for (const key of ['loss', 'acc', 'val_loss', 'val_acc', 'epoch_duration_seconds']) {
      expect(record?.history[key]?.map((point) => point.step)).toEqual([0, 1, 2]);
    }
    const root = run.artifactUri;
    expect(decode(store.artifacts.get(`${root}/model_summary.txt`))).toContain('Total params: 67');
    const mlmodel = decode(store.artifacts.get(`${root}/model/MLmodel`));
    expect(mlmodel).toContain('tfjs:');
    expect(mlmodel).toMatch(new RegExp(`^run_id: "?${run.runId}"?$`, 'm'));
    expect(mlmodel).toContain(
      '"[{\\"type\\":\\"tensor\\",\\"tensor-spec\\":{\\"dtype\\":\\"float32\\",\\"shape\\":[-1,4]}}]"',
    );
    expect(JSON.parse(decode(store.artifacts.get(`${root}/model/model.json`)))).toMatchObject({
      format: 'layers-model',
      weightsManifest: [{ paths: ['group1-shard1of1.bin'] }],
    });
    expect(store.artifacts.get(`${root}/model/group1-shard1of1.bin`)?.byteLength).toBe(67 * 4);
  });

  it('logs batch metrics every N batches at the global batch count', async () => {
    const store = createMemoryStore();
    const run = await startRun({ enabled: true, store });
    const model = smallClassifier();
    const { xs, ys } = trainingData(48);
    await model.fit(xs, ys, {
      epochs: 2,
      batchSize: 8,
      callbacks: mlflowCallback({ run, logEvery: 2, logModel: false }),
    });
    await run.end();
    const [record] = store.runs();
    // 6 batches per epoch, 12 in all: every second one.
    expect(record?.history.batch_loss?.map((point) => point.step)).toEqual([2, 4, 6, 8, 10, 12]);
    expect(record?.history.batch_acc).toHaveLength(6);
    expect(record?.history.batch_batch).toBeUndefined();
    expect(record?.history.loss?.map((point) => point.step)).toEqual([0, 1]);
  });

  it('logs steps_per_epoch and the batch size seen for model.fitDataset', async () => {
    const store = createMemoryStore();
    const run = await startRun({ enabled: true, store });
    const model = smallClassifier();
    const { xs, ys } = trainingData(48);
    const dataset = tf.data
      .zip({ xs: tf.data.array(xs.unstack()), ys: tf.data.array(ys.unstack()) })
      .batch(12);
    await model.fitDataset(dataset.repeat(), {
      epochs: 2,
      batchesPerEpoch: 4,
      validationData: dataset,
      callbacks: mlflowCallback({ run, logEvery: 'batch', logModel: false }),
    });
    await run.end();
    const [record] = store.runs();
    expect(record?.data.params).toMatchObject({
      epochs: '2',
      steps_per_epoch: '4',
      batch_size: '12',
      do_validation: 'true',
    });
    expect(record?.history.val_loss?.map((point) => point.step)).toEqual([0, 1]);
    expect(record?.history.batch_loss?.map((point) => point.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('logs early stopping settings and the epoch it stopped at', async () => {
    const store = createMemoryStore();
    const run = await startRun({ enabled: true, store });
    const model = smallClassifier();
    const { xs, ys } = trainingData();
    const earlyStopping = tf.callbacks.earlyStopping({ monitor: 'loss', patience: 1, minDelta: 10 });
    await model.fit(xs, ys, {
      epochs: 20,
      callbacks: mlflowCallback({ run, tf, callbacks: [earlyStopping], logModel: false }),
    });
    await run.end();
    const [record] = store.runs();
    expect(record?.data.params).toMatchObject({
      monitor: 'loss',
      min_delta: '10',
      patience: '1',
      baseline: 'None',
      restore_best_weights: 'false',
      mode: 'auto',
    });
    expect(record?.history.stopped_epoch).toEqual([expect.objectContaining({ value: 1, step: 0 })]);
    expect(record?.history.loss).toHaveLength(2);
  });

  it('sees the model as a plain callback object when given the model', async () => {
    const store = createMemoryStore();
    const run = await startRun({ enabled: true, store });
    const model = smallClassifier();
    const { xs, ys } = trainingData();
    await model.fit(xs, ys, { epochs: 1, callbacks: mlflowCallback({ run, model, logModel: false }) });
    await run.end();
    expect(store.runs()[0]?.data.params).toMatchObject({ opt_name: 'Adam', total_params: '67' });
    expect(store.artifacts.has(`${run.artifactUri}/model_summary.txt`)).toBe(true);
  });

  it('runs the user callbacks it wraps, tfjs callbacks and plain objects alike', async () => {
    const store = createMemoryStore();
    const run = await startRun({ enabled: true, store });
    const model = smallClassifier();
    const { xs, ys } = trainingData();
    const seen: string[] = [];
    const plain = {
      onEpochEnd: async (epoch: number, logs?: { loss?: number }) => {
        seen.push(`epoch ${epoch} ${typeof logs?.loss}`);
      },
      onBatchEnd: async () => {
        seen.push('batch');
      },
    };
    const history = new tf.History();
    await model.fit(xs, ys, {
      epochs: 2,
      batchSize: 24,
      callbacks: mlflowCallback({ run, tf, callbacks: [history, plain], logModel: false }),
    });
    await run.end();
    expect(seen).toEqual(['batch', 'batch', 'epoch 0 number', 'batch', 'batch', 'epoch 1 number']);
    expect(history.history.loss).toHaveLength(2);
  });

  it('also works in a list after tfjs callbacks, with or without tf', async () => {
    const store = createMemoryStore();
    const run = await startRun({ enabled: true, store });
    const model = smallClassifier();
    const { xs, ys } = trainingData();
    const earlyStopping = tf.callbacks.earlyStopping({ monitor: 'loss', patience: 50 });
    await model.fit(xs, ys, {
      epochs: 2,
      batchSize: 24,
      callbacks: [earlyStopping, mlflowCallback({ run, logModel: false }) as never],
    });
    await run.end();
    expect(store.runs()[0]?.history.loss?.map((point) => point.step)).toEqual([0, 1]);
  });

  it('also works as a tf.Callback in a list with tfjs callbacks', async () => {
    const store = createMemoryStore();
    const run = await startRun({ enabled: true, store });
    const model = smallClassifier();
    const { xs, ys } = trainingData();
    const earlyStopping = tf.callbacks.earlyStopping({ monitor: 'loss', patience: 50 });
    await model.fit(xs, ys, {
      epochs: 2,
      batchSize: 24,
      callbacks: [earlyStopping, mlflowCallback({ run, tf, logEvery: 'batch', logModel: false }) as never],
    });
    await run.end();
    const [record] = store.runs();
    expect(record?.history.loss?.map((point) => point.step)).toEqual([0, 1]);
    expect(record?.history.batch_loss).toHaveLength(4);
  });

  describe('without `tf`, first or last in a callbacks list', () => {
    class CountingCallback extends tf.Callback {
      epochs = 0;
      override async onEpochEnd(): Promise<void> {
        this.epochs++;
      }
    }
    const others = {
      // Stops after the second epoch: no later val_loss is a billion lower than the first.
      'tf.callbacks.earlyStopping': () => {
        const callback = tf.callbacks.earlyStopping({ monitor: 'val_loss', minDelta: 1e9, patience: 1 });
        return { callback, epochs: 2, check: () => expect(callback.model?.stopTraining).toBe(true) };
      },
      'a user tf.Callback': () => {
        const callback = new CountingCallback();
        return { callback, epochs: 3, check: () => expect(callback.epochs).toBe(3) };
      },
      'a plain callback object': () => {
        let epochs = 0;
        const callback = {
          onEpochEnd: async () => {
            epochs++;
          },
        };
        return { callback, epochs: 3, check: () => expect(epochs).toBe(3) };
      },
    };
    for (const [name, make] of Object.entries(others)) {
      for (const position of ['first', 'last'] as const) {
        if (name === 'a plain callback object' && position === 'first') continue; // tested below
        it(`is a tf.Callback that logs, and ${name} works, with mlflowCallback ${position}`, async () => {
          const store = createMemoryStore();
          const run = await startRun({ enabled: true, store });
          const model = smallClassifier();
          const { xs, ys } = trainingData();
          const ours = mlflowCallback({ run, logModel: false });
          expect(ours).toBeInstanceOf(tf.Callback);
          const other = make();
          const callbacks = position === 'first' ? [ours, other.callback] : [other.callback, ours];
          await model.fit(xs, ys, { epochs: 3, validationSplit: 0.25, callbacks: callbacks as never });
          await run.end();
          other.check();
          const [record] = store.runs();
          expect(record?.history.val_loss?.map((point) => point.step)).toEqual(
            Array.from({ length: other.epochs }, (_, epoch) => epoch),
          );
          // After a plain object tfjs wraps every callback as one, and a wrapped callback never sees the model.
          const seesModel = name !== 'a plain callback object';
          expect(record?.data.params).toMatchObject(seesModel ? { total_params: '67' } : { epochs: '3' });
          expect(record?.data.params.total_params).toBe(seesModel ? '67' : undefined);
          expect(record?.data.tags).toMatchObject({ 'tfjs.version': tf.version.tfjs });
        });
      }
    }

    it('a plain callback object after it fails in tfjs as after any tf.Callback, and works inside its `callbacks`', async () => {
      const model = smallClassifier();
      const { xs, ys } = trainingData();
      const plain = { onEpochEnd: async () => {} };
      const fit = model.fit(xs, ys, {
        epochs: 1,
        callbacks: [mlflowCallback({ enabled: false }), plain] as never,
      });
      await expect(fit).rejects.toThrow(/setParams is not a function/);
      const store = createMemoryStore();
      const run = await startRun({ enabled: true, store });
      let epochs = 0;
      const counted = { onEpochEnd: async () => void epochs++ };
      const earlyStopping = tf.callbacks.earlyStopping({ monitor: 'loss', minDelta: 1e9, patience: 1 });
      await model.fit(xs, ys, {
        epochs: 3,
        callbacks: mlflowCallback({ run, logModel: false, callbacks: [counted, earlyStopping] }),
      });
      await run.end();
      expect(epochs).toBe(2);
      expect(store.runs()[0]?.history.stopped_epoch).toEqual([expect.objectContaining({ value: 1 })]);
    });
  });

  it("names metrics as Keras does with metricNames: 'keras' (accuracy, val_accuracy, batch_accuracy)", async () => {
    const store = createMemoryStore();
    const run = await startRun({ enabled: true, store });
    const model = smallClassifier();
    const { xs, ys } = trainingData();
    const callbacks = mlflowCallback({ run, tf, metricNames: 'keras', logEvery: 'batch', logModel: false });
    await model.fit(xs, ys, { epochs: 2, batchSize: 12, validationSplit: 0.25, callbacks });
    await run.end();
    const keys = Object.keys(store.runs()[0]?.history ?? {}).sort();
    expect(keys).toEqual([
      'accuracy',
      'batch_accuracy',
      'batch_loss',
      'epoch_duration_seconds',
      'loss',
      'val_accuracy',
      'val_loss',
    ]);
    expect(() => mlflowCallback({ tf, metricNames: 'Keras' as never })).toThrow(
      "metricNames is Keras: pass 'tfjs' (names as tfjs reports them) or 'keras' (accuracy, val_accuracy, ...).",
    );
  });

  it('never throws into fit when the store fails, and training finishes', async () => {
    const store = createMemoryStore();
    // The artifacts that cannot be stored keep end() waiting only for its bounded time.
    const run = await startRun({ enabled: true, store, flushIntervalMs: 60_000, exitTimeoutSeconds: 1 });
    store.uploadArtifact = async () => {
      throw new Error('disk full');
    };
    const model = smallClassifier();
    const { xs, ys } = trainingData();
    const history = await model.fit(xs, ys, { epochs: 2, callbacks: mlflowCallback({ run }) });
    expect(history.history.loss).toHaveLength(2);
    await run.end();
    expect(store.runs()[0]?.history.loss).toHaveLength(2);
  });

  it('starts and ends its own run when none is active and tracking is on', async () => {
    const store = createMemoryStore();
    const model = smallClassifier();
    const { xs, ys } = trainingData();
    const callback = mlflowCallback({ enabled: true, store, experimentName: 'own', logModel: false });
    await model.fit(xs, ys, { epochs: 1, callbacks: callback });
    const [record] = store.runs();
    expect(record?.info.status).toBe('FINISHED');
    expect(callback.run?.runId).toBe(record?.info.runId);
  });

  it('records nothing and adds no batch hook when tracking is off, as a plain object', async () => {
    const callback = mlflowCallback({ enabled: false, logEvery: 'batch', tf: {} });
    expect(callback.onBatchEnd).toBeUndefined();
    const model = smallClassifier();
    const { xs, ys } = trainingData();
    await model.fit(xs, ys, { epochs: 1, callbacks: callback });
    expect(callback.run).toBeUndefined();
  });

  it('ends a run it started FAILED when a wrapped callback throws, and rethrows the error', async () => {
    const store = createMemoryStore();
    const model = smallClassifier();
    const { xs, ys } = trainingData();
    const boom = new Error('callback broke');
    const callback = mlflowCallback({
      tf,
      enabled: true,
      store,
      logModel: false,
      callbacks: {
        onEpochEnd: async () => {
          throw boom;
        },
      },
    });
    await expect(model.fit(xs, ys, { epochs: 2, callbacks: callback })).rejects.toBe(boom);
    const [record] = store.runs();
    expect(record?.info.status).toBe('FAILED');
    expect(record?.data.tags[ERROR_TAG]).toBe('Error: callback broke');
    expect(getActiveRun()).toBeUndefined();
  });

  it('leaves a run it did not start open when a wrapped callback throws', async () => {
    const store = createMemoryStore();
    const run = await startRun({ enabled: true, store });
    const model = smallClassifier();
    const { xs, ys } = trainingData();
    const callback = mlflowCallback({
      tf,
      run,
      logModel: false,
      callbacks: {
        onTrainEnd: async () => {
          throw new Error('late');
        },
      },
    });
    await expect(model.fit(xs, ys, { epochs: 1, callbacks: callback })).rejects.toThrow('late');
    expect(store.runs()[0]?.info.status).toBe('RUNNING');
    await run.end();
  });

  it('logs batch metrics when tracking is switched on only by a later withRun', async () => {
    const store = createMemoryStore();
    const callback = mlflowCallback({ tf, logEvery: 'batch', logModel: false });
    const model = smallClassifier();
    const { xs, ys } = trainingData(48);
    await withRun({ enabled: true, store }, async () => {
      await model.fit(xs, ys, { epochs: 1, batchSize: 16, callbacks: callback });
    });
    const [record] = store.runs();
    expect(record?.history.loss).toHaveLength(1);
    expect(record?.history.batch_loss?.map((point) => point.step)).toEqual([1, 2, 3]);
  });

  it('rejects a logEvery that is not epoch, batch or a positive whole number', () => {
    expect(() => mlflowCallback({ logEvery: 0.5 })).toThrow(/logEvery/);
    expect(() => mlflowCallback({ logEvery: 0 })).toThrow(/logEvery/);
    expect(() => mlflowCallback({ logEvery: 'step' as 'batch' })).toThrow(/logEvery/);
  });
});
