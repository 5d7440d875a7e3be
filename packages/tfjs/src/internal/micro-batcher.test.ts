import { describe, expect, it } from 'vitest';
import { type BatchItem, MicroBatcher } from './micro-batcher.js';

interface Item extends BatchItem {
  id: number;
}

function recorder(): { calls: number[][]; run(items: Item[]): Promise<string[]> } {
  const calls: number[][] = [];
  return {
    calls,
    async run(items) {
      calls.push(items.map((item) => item.id));
      return items.map((item) => `out-${item.id}`);
    },
  };
}

const item = (id: number, rows = 1, batchKey = '4'): Item => ({ id, rows, batchKey });

describe('MicroBatcher', () => {
  it('gathers requests arriving within the wait into one call, each getting its own output', async () => {
    const { calls, run } = recorder();
    const batcher = new MicroBatcher(run, { maxBatchSize: 64, maxWaitMs: 20 });
    const outputs = await Promise.all([1, 2, 3].map((id) => batcher.submit(item(id))));
    expect(outputs).toEqual(['out-1', 'out-2', 'out-3']);
    expect(calls).toEqual([[1, 2, 3]]);
  });

  it('starts a call as soon as maxBatchSize rows wait, and never puts more rows in one call', async () => {
    const { calls, run } = recorder();
    const batcher = new MicroBatcher(run, { maxBatchSize: 4, maxWaitMs: 10_000 });
    const outputs = Promise.all(
      [item(1, 2), item(2, 1), item(3, 2), item(4, 2)].map((i) => batcher.submit(i)),
    );
    await batcher.drain();
    await outputs;
    expect(calls).toEqual([
      [1, 2],
      [3, 4],
    ]);
  });

  it('runs requests of different row shapes in separate calls, and a large request alone', async () => {
    const { calls, run } = recorder();
    const batcher = new MicroBatcher(run, { maxBatchSize: 8, maxWaitMs: 5 });
    await Promise.all([item(1), item(2, 1, '3'), item(3), item(4, 9)].map((i) => batcher.submit(i)));
    expect(calls).toContainEqual([4]);
    expect(calls).toContainEqual([1, 3]);
    expect(calls).toContainEqual([2]);
  });

  it('with maxBatchSize 1 runs every request at once, alone', async () => {
    const { calls, run } = recorder();
    const batcher = new MicroBatcher(run, { maxBatchSize: 1, maxWaitMs: 10_000 });
    await Promise.all([1, 2].map((id) => batcher.submit(item(id))));
    expect(calls).toEqual([[1], [2]]);
  });

  it('rejects every request of a call that failed', async () => {
    const batcher = new MicroBatcher<Item, string>(
      async () => {
        throw new Error('predict failed');
      },
      { maxBatchSize: 8, maxWaitMs: 1 },
    );
    const results = await Promise.allSettled([1, 2].map((id) => batcher.submit(item(id))));
    expect(results.map((result) => result.status)).toEqual(['rejected', 'rejected']);
  });
});
