import { join } from 'node:path';
import { createClient } from '@mlflow-kit/core';
import { summaryFileWriter, tensorBoard } from '@mlflow-kit/tensorboard';
import * as tf from '@tensorflow/tfjs';
import { afterEach, describe, expect, it } from 'vitest';
import { trackingUri, uniqueName } from '../helpers/python.js';
import { readClientRun, readEventDirs, tempDirs } from '../helpers/tensorboard.js';

const tempDir = tempDirs('mlflow-kit-tfjs-tb-');
const savedEnv = { ...process.env };
afterEach(() => {
  for (const key of ['MLFLOW_KIT_ENABLED', 'MLFLOW_TRACKING_URI', 'MLFLOW_EXPERIMENT_NAME']) {
    if (savedEnv[key] === undefined) delete process.env[key];
    else process.env[key] = savedEnv[key];
  }
});

/** Tracking switched on the way a tfjs-node script's user does it: environment variables only. */
function trackViaEnvironment(): string {
  const experimentName = uniqueName('tb-dropin');
  process.env.MLFLOW_KIT_ENABLED = 'true';
  process.env.MLFLOW_TRACKING_URI = trackingUri();
  process.env.MLFLOW_EXPERIMENT_NAME = experimentName;
  return experimentName;
}

async function onlyRun(experimentName: string): Promise<string> {
  const client = createClient({ trackingUri: trackingUri() });
  const experiment = await client.getExperimentByName(experimentName);
  const runs = await client.searchAllRuns({ experimentIds: [experiment?.experimentId ?? ''] });
  expect(runs).toHaveLength(1);
  return runs[0]?.info.runId as string;
}

function classifier(): tf.Sequential {
  const model = tf.sequential({
    layers: [
      tf.layers.dense({ units: 4, inputShape: [3], activation: 'relu' }),
      tf.layers.dense({ units: 2, activation: 'softmax' }),
    ],
  });
  model.compile({ optimizer: tf.train.sgd(0.05), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  return model;
}

function data(rows = 20): { xs: tf.Tensor2D; ys: tf.Tensor2D } {
  const features = Array.from({ length: rows }, (_, row) => [row % 2, Math.sin(row), (row % 5) / 5]);
  const labels = Array.from({ length: rows }, (_, row) => row % 2);
  return { xs: tf.tensor2d(features), ys: tf.oneHot(tf.tensor1d(labels, 'int32'), 2) as tf.Tensor2D };
}

describe('tfjs-node drop-ins (summaryFileWriter, tensorBoard) against the real server and EventAccumulator', () => {
  it('a tfjs-node summaryFileWriter script runs unchanged: train/ and val/ share one run under key prefixes', async () => {
    const experimentName = trackViaEnvironment();
    const logdir = tempDir();
    // The script as written for tfjs-node, with `tf.node.` swapped for the import.
    const train = summaryFileWriter(join(logdir, 'train'));
    const val = summaryFileWriter(join(logdir, 'val'));
    for (let step = 0; step < 3; step++) {
      train.scalar('loss', 1 / (step + 1), step);
      val.scalar('loss', tf.scalar(2 / (step + 1)), step);
    }
    train.histogram('weights', tf.tensor1d([0, 1, 1, 2, 2, 2]), 7, 2, 'layer weights');
    train.histogram('constant', tf.tensor1d([3, 3, 3]), 7);
    train.histogram('empty', tf.tensor1d([]), 7);
    expect(summaryFileWriter(join(logdir, 'train'))).toBe(train);
    await train.flush();
    await val.flush();

    const events = await readEventDirs(logdir);
    expect(events.train?.scalars.loss?.map((e) => [e.step, e.value])).toEqual([
      [0, 1],
      [1, 0.5],
      [2, Math.fround(1 / 3)],
    ]);
    expect(events.val?.scalars.loss?.map((e) => e.value)).toEqual([2, 1, Math.fround(2 / 3)]);
    expect(events.train?.tensors.weights).toEqual([
      {
        step: 7,
        value: [
          [0, 1, 1],
          [1, 2, 5],
        ],
        plugin: 'histograms',
        description: 'layer weights',
      },
    ]);
    expect(events.train?.tensors.constant).toEqual([
      { step: 7, value: [[2.5, 3.5, 3]], plugin: 'histograms', description: '' },
    ]);
    expect(events.train?.tensors.empty).toEqual([
      { step: 7, value: [], plugin: 'histograms', description: '' },
    ]);

    const run = await readClientRun(await onlyRun(experimentName));
    expect(run.metrics['train/loss']?.map((p) => [p.step, p.value])).toEqual([
      [0, 1],
      [1, 0.5],
      [2, 1 / 3],
    ]);
    // A tensor scalar is float32 already: MLflow gets its exact value.
    expect(run.metrics['val/loss']?.map((p) => p.value)).toEqual([2, 1, Math.fround(2 / 3)]);
    expect(run.metrics['train/weights/mean']).toMatchObject([{ step: 7, value: 8 / 6 }]);
    expect(run.metrics['train/empty/count']).toMatchObject([{ step: 7, value: 0 }]);
    expect(run.artifacts).toEqual([
      'histograms/train/constant.json',
      'histograms/train/constant.png',
      'histograms/train/empty.json',
      'histograms/train/empty.png',
      'histograms/train/weights.json',
      'histograms/train/weights.png',
    ]);
    expect(JSON.parse(run.texts['histograms/train/weights.json'] as string)).toMatchObject({
      tag: 'train/weights',
      steps: [{ step: 7, edges: [0, 1, 2], counts: [1, 5] }],
    });
  });

  it('tensorBoard({ tf }) in fit: batch_/epoch_ tags and steps as tfjs-node, val_ keys in val/, weight histograms, and mixes with earlyStopping in either order', async () => {
    const experimentName = trackViaEnvironment();
    const logdir = tempDir();
    const model = classifier();
    const { xs, ys } = data();
    const callback = tensorBoard(logdir, { updateFreq: 'batch', histogramFreq: 1, tf });
    expect(callback).toBeInstanceOf(tf.Callback);
    // Ours first: tfjs then treats the list as real callbacks, so earlyStopping keeps its methods.
    await model.fit(xs, ys, {
      epochs: 3,
      batchSize: 8,
      validationSplit: 0.2,
      callbacks: [callback, tf.callbacks.earlyStopping({ monitor: 'val_loss', patience: 50 })],
    });

    const events = await readEventDirs(logdir);
    // 16 training rows in batches of 8: 2 batches an epoch, counted across epochs from 1.
    expect(events.train?.scalars.batch_loss?.map((e) => e.step)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(events.train?.scalars.epoch_loss?.map((e) => e.step)).toEqual([1, 2, 3]);
    expect(events.train?.scalars.epoch_acc?.map((e) => e.step)).toEqual([1, 2, 3]);
    expect(events.val?.scalars.epoch_loss?.map((e) => e.step)).toEqual([1, 2, 3]);
    expect(Object.keys(events.val?.scalars ?? {}).sort()).toEqual(['epoch_acc', 'epoch_loss']);
    const weightTags = model.weights.map((w) => w.name);
    expect(Object.keys(events.train?.tensors ?? {}).sort()).toEqual([...weightTags].sort());
    expect(events.train?.tensors[weightTags[0] as string]?.map((e) => e.step)).toEqual([0, 1, 2]);

    const run = await readClientRun(await onlyRun(experimentName));
    expect(run.metrics['train/epoch_loss']?.map((p) => p.step)).toEqual([1, 2, 3]);
    expect(run.metrics['val/epoch_loss']?.map((p) => p.step)).toEqual([1, 2, 3]);
    expect(run.metrics['train/batch_loss']?.map((p) => p.step)).toEqual([1, 2, 3, 4, 5, 6]);
    // The same numbers in both places (float32 in the event file).
    expect(run.metrics['val/epoch_loss']?.map((p) => Math.fround(p.value as number))).toEqual(
      events.val?.scalars.epoch_loss?.map((e) => e.value),
    );
    expect(run.metrics[`train/${weightTags[0]}/mean`]?.map((p) => p.step)).toEqual([0, 1, 2]);

    // And with tfjs' own callback first.
    const second = tensorBoard(tempDir(), { tf, enabled: false });
    await model.fit(xs, ys, {
      epochs: 1,
      batchSize: 8,
      callbacks: [tf.callbacks.earlyStopping({ monitor: 'loss', patience: 5 }), second],
    });
    expect(second.batchesSeen).toBe(3);
  });

  it('bad input gets tfjs-node’s own errors', () => {
    const writer = summaryFileWriter(join(tempDir(), 'errors'), 10, 120_000, '.v2', { enabled: false });
    expect(() => writer.scalar('loss', 1, 0.5)).toThrow(
      'step is expected to be an integer, but is instead 0.5',
    );
    expect(() => writer.scalar('loss', 1, Number.NaN)).toThrow(
      'step is expected to be an integer, but is instead NaN',
    );
    expect(() => writer.scalar('loss', 1, 0, 'about loss')).toThrow(
      'scalar() does not support description yet',
    );
    expect(() => writer.scalar('loss', tf.tensor1d([1, 2]), 0)).toThrow(
      'A non-scalar tensor (rank 1) is passed to writeScalarSummary()',
    );
    expect(() => writer.histogram('h', tf.tensor1d([1, 2]), 1.5)).toThrow(
      'step is expected to be an integer, but is instead 1.5',
    );
    expect(() => writer.histogram('h', tf.tensor1d([1, 2]), 0, 0)).toThrow(
      'Expected bucket count to be a strictly positive integer, but it was 0',
    );
    expect(() => writer.histogram('nan', tf.tensor1d([1, Number.NaN]), 0)).toThrow(/Histogram nan holds NaN/);
    expect(() => summaryFileWriter('')).toThrow('Invalid logdir: . Expected a non-empty string for logdir.');
    expect(() => tensorBoard('logs', { updateFreq: 'step' as 'batch' })).toThrow(
      "Expected updateFreq to be 'batch' or 'epoch', but got step",
    );
    expect(() => tensorBoard('logs', { histogramFreq: 1.5 })).toThrow(
      'Expected histogramFreq to be a positive integer, but got 1.5',
    );
  });
});
