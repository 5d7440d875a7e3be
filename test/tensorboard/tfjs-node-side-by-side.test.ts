import { summaryFileWriter, tensorBoard } from '@mlflow-kit/tensorboard';
import type * as tfjs from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { type EventDir, readEventDirs, tempDirs } from '../helpers/tensorboard.js';
import { loadTfjsNode } from '../helpers/tfjs-node.js';

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

const tfnode = loadTfjsNode<TfNode>();

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
  writer.scalar('big_step', 1, 2 ** 40);
  writer.histogram('h', tf.tensor1d([0.1, 0.4, 0.4, 0.9, 1.7, 2.2, 2.3]), 1, 5, 'described');
  writer.histogram('h', tf.randomNormal([8, 8], 0, 1, 'float32', 7), 2);
  writer.histogram('ints', tf.tensor1d([1, 5, 9], 'int32'), 0, 4);
  writer.histogram('constant', tf.tensor1d([3, 3, 3]), 0);
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

describe.skipIf(!tfnode)(
  tfnode
    ? 'side by side with tfjs-node’s native writer'
    : 'side by side with tfjs-node’s native writer — skipped: @tensorflow/tfjs-node (with its native addon) cannot be loaded in this checkout',
  () => {
    const tf = tfnode as TfNode;

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
        (w) => w.scalar('a', 1, 0, 'description'),
        (w) => w.scalar('a', tf.tensor1d([1, 2]) as unknown as tfjs.Scalar, 0),
        (w) => w.histogram('a', tf.tensor1d([1, 2]), 1.5),
        (w) => w.histogram('a', tf.tensor1d([1, 2]), 0, 0),
        (w) => w.histogram('a', tf.tensor1d([1, 2]), 0, 2.5),
      ];
      for (const call of cases) expect(errorOf(() => call(ours))).toBe(errorOf(() => call(theirs)));
      expect(errorOf(() => summaryFileWriter(''))).toBe(errorOf(() => tf.node.summaryFileWriter('')));
    });

    it('tensorBoard() in the same fit writes the same tags, steps and values as tf.node.tensorBoard()', async () => {
      const build = (): tfjs.Sequential => {
        const model = tf.sequential({
          layers: [
            tf.layers.dense({ units: 4, inputShape: [3], activation: 'relu' }),
            tf.layers.dense({ units: 2, activation: 'softmax' }),
          ],
        });
        model.compile({
          optimizer: tf.train.sgd(0.05),
          loss: 'categoricalCrossentropy',
          metrics: ['accuracy'],
        });
        return model;
      };
      const first = build();
      const second = build();
      second.setWeights(first.getWeights());
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
      await first.fit(xs, ys, { ...fit, callbacks: [tf.node.tensorBoard(theirs, args)] });
      await second.fit(xs, ys, { ...fit, callbacks: [tensorBoard(ours, { ...args, tf, enabled: false })] });
      expect(withoutWallTimes(await readEventDirs(ours))).toEqual(
        withoutWallTimes(await readEventDirs(theirs)),
      );
    });
  },
);
