import { MlflowValidationError } from '@mlflow-kit/core';
import { summaryFileWriter, tensorBoard } from '@mlflow-kit/tensorboard';
import { describeWithTfjsNode } from '@mlflow-kit/test-support/describe-backends';
import type * as tfjs from '@tensorflow/tfjs';
import { expect, it } from 'vitest';
import { type EventDir, readEventDirs, tempDirs } from '../helpers/tensorboard.js';

type TfNode = typeof tfjs & {
  node: {
    summaryFileWriter: (logdir: string) => Writer;
    tensorBoard: (logdir: string, args?: object) => tfjs.CustomCallback;
  };
};
interface Writer {
  scalar(name: string, value: number | tfjs.Scalar, step: number, description?: string): void;
  histogram(name: string, data: tfjs.Tensor, step: number, buckets?: number, description?: string): void;
  flush(): void;
}

const tempDir = tempDirs('mlflow-kit-tfnode-');

/** Event contents without wall times, which differ between any two writers. */
function withoutWallTimes(dirsRead: Record<string, EventDir>): unknown {
  return JSON.parse(JSON.stringify(dirsRead, (key, value) => (key === 'wallTime' ? undefined : value)));
}

function script(writer: Writer, tf: typeof tfjs): void {
  for (let step = 0; step < 5; step++) {
    writer.scalar('loss', Math.exp(-step / 3), step);
    writer.scalar('tensor', tf.scalar(step * 0.5), step);
  }
  writer.scalar('nan', Number.NaN, 0);
  writer.scalar('big_step', 1, 2 ** 31 - 2); // the largest step tfjs-node's Int64Scalar accepts
  writer.scalar('negative_step', 1, -(2 ** 31) + 1);
  writer.histogram('h', tf.tensor1d([0.1, 0.4, 0.4, 0.9, 1.7, 2.2, 2.3]), 1, 5, 'described');
  writer.histogram('h', tf.randomNormal([8, 8], 0, 1, 'float32', 7), 2);
  writer.histogram('ints', tf.tensor1d([1, 5, 9], 'int32'), 0, 4);
  writer.histogram('empty', tf.tensor1d([]), 0);
  writer.flush();
}

function errorOf(call: () => void): string {
  try {
    call();
  } catch (error) {
    return (error as Error).message;
  }
  return 'no error';
}

describeWithTfjsNode<TfNode>('side by side with tfjs-node’s native writer', (tf) => {
  it('the same script through tf.node.summaryFileWriter and ours reads back identical (tags, steps, values)', async () => {
    const theirs = tempDir();
    const ours = tempDir();
    script(tf.node.summaryFileWriter(theirs), tf);
    script(summaryFileWriter(ours, 10, 120_000, '.v2', { enabled: false }) as unknown as Writer, tf);
    expect(withoutWallTimes(await readEventDirs(ours))).toEqual(
      withoutWallTimes(await readEventDirs(theirs)),
    );
  });

  it('the same bad input gets the same error from both', () => {
    const theirs = tf.node.summaryFileWriter(tempDir());
    const ours = summaryFileWriter(tempDir(), 10, 120_000, '.v2', { enabled: false }) as unknown as Writer;
    const cases: ((writer: Writer) => void)[] = [
      (w) => w.scalar('a', 1, 0.5),
      (w) => w.scalar('a', 1, 2 ** 31 - 1),
      (w) => w.scalar('a', 1, 2 ** 40),
      (w) => w.scalar('a', 1, -(2 ** 31)),
      (w) => w.scalar('a', 1, Number.NaN),
      (w) => w.scalar('a', 1, Number.POSITIVE_INFINITY),
      (w) => w.histogram('a', tf.tensor1d([1, 2]), 2 ** 31),
      (w) => w.histogram('a', tf.tensor1d([1, 2]), 0, -1),
      (w) => w.scalar('a', 1, 0, 'description'),
      (w) => w.scalar('a', tf.tensor1d([1, 2]) as unknown as tfjs.Scalar, 0),
      (w) => w.histogram('a', tf.tensor1d([1, 2]), 1.5),
      (w) => w.histogram('a', tf.tensor1d([1, 2]), 0, 0),
      (w) => w.histogram('a', tf.tensor1d([1, 2]), 0, 2.5),
    ];
    for (const call of cases) expect(errorOf(() => call(ours))).toBe(errorOf(() => call(theirs)));
    expect(errorOf(() => summaryFileWriter(''))).toBe(errorOf(() => tf.node.summaryFileWriter('')));
  });

  it('non-finite histogram data: tfjs-node writes garbage buckets without a word, ours refuses it with a typed error naming the tag', async () => {
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      const dir = tempDir();
      const theirs = tf.node.summaryFileWriter(dir);
      expect(errorOf(() => theirs.histogram('a', tf.tensor1d([1, bad]), 0))).toBe('no error');
      theirs.flush();
      const ours = summaryFileWriter(tempDir(), 10, 120_000, '.v2', { enabled: false });
      let error: unknown;
      try {
        ours.histogram('weights/a', tf.tensor1d([1, bad]), 0);
      } catch (thrown) {
        error = thrown;
      }
      expect(MlflowValidationError.isInstance(error)).toBe(true);
      expect((error as MlflowValidationError).key).toBe('weights/a');
      expect((error as Error).message).toMatch(/weights\/a/);
      // What tfjs-node wrote: buckets with non-finite edges, which TensorBoard cannot draw.
      const buckets = (await readEventDirs(dir))['.']?.tensors.a?.[0]?.value as
        | (number | null)[][]
        | undefined;
      expect(buckets?.[0]?.some((edge) => edge === null || !Number.isFinite(edge))).toBe(true);
    }
  });

  it('constant histogram data: tfjs-node 4.22 throws (its concat of scalars), ours writes the one bucket its code means', async () => {
    const theirs = tf.node.summaryFileWriter(tempDir());
    expect(errorOf(() => theirs.histogram('c', tf.tensor1d([3, 3, 3]), 0))).toMatch(
      /Can't concatenate scalars/,
    );
    const dir = tempDir();
    const ours = summaryFileWriter(dir, 10, 120_000, '.v2', { enabled: false });
    ours.histogram('c', tf.tensor1d([3, 3, 3]), 0);
    ours.flush();
    expect((await readEventDirs(dir))['.']?.tensors.c?.[0]?.value).toEqual([[2.5, 3.5, 3]]);
  });

  it('tensorBoard() in the same fit writes the same tags, steps and values as tf.node.tensorBoard()', async () => {
    const build = (): tfjs.Sequential => {
      const model = tf.sequential({
        layers: [
          // Named: auto names count up per process (dense_Dense1, then dense_Dense3 in the second model).
          tf.layers.dense({ name: 'hidden', units: 4, inputShape: [3], activation: 'relu' }),
          tf.layers.dense({ name: 'out', units: 2, activation: 'softmax' }),
        ],
      });
      model.compile({
        optimizer: tf.train.sgd(0.05),
        loss: 'categoricalCrossentropy',
        metrics: ['accuracy'],
      });
      return model;
    };
    // One model, fit twice from the same weights (SGD keeps no state): two models would get different
    // weight names (tfjs numbers duplicates, `hidden/kernel_1`), hence different histogram tags.
    const model = build();
    const initial = model.getWeights().map((weight) => weight.clone());
    const xs = tf.tensor2d(Array.from({ length: 20 }, (_, row) => [row % 2, Math.sin(row), (row % 5) / 5]));
    const ys = tf.oneHot(
      tf.tensor1d(
        Array.from({ length: 20 }, (_, row) => row % 2),
        'int32',
      ),
      2,
    );
    const args = { updateFreq: 'batch' as const, histogramFreq: 1 };
    const theirs = tempDir();
    const ours = tempDir();
    const fit = { epochs: 3, batchSize: 8, validationSplit: 0.2, shuffle: false };
    await model.fit(xs, ys, { ...fit, callbacks: [tf.node.tensorBoard(theirs, args)] });
    model.setWeights(initial);
    await model.fit(xs, ys, { ...fit, callbacks: [tensorBoard(ours, { ...args, tf, enabled: false })] });
    expect(withoutWallTimes(await readEventDirs(ours))).toEqual(
      withoutWallTimes(await readEventDirs(theirs)),
    );
  });
});
