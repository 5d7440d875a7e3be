import { describe, expect, it } from 'vitest';
import { histogramStats, tfjsBuckets } from './histogram.js';

describe('tfjs-node bucketing and histogram statistics', () => {
  it('no data gives no bucket, equal values one bucket of width 1 centred on the value', () => {
    expect(tfjsBuckets([])).toEqual({ edges: [], counts: [] });
    expect(tfjsBuckets([3, 3, 3], 30)).toEqual({ edges: [2.5, 3.5], counts: [3] });
  });

  it('spreads values over equal-width buckets from min to max, the maximum in the last bucket', () => {
    expect(tfjsBuckets([0, 1, 1, 2, 2, 2], 2)).toEqual({ edges: [0, 1, 2], counts: [1, 5] });
    const { edges, counts } = tfjsBuckets([0.1, 0.4, 0.4, 0.9], 4);
    expect(counts).toEqual([1, 2, 0, 1]);
    expect(edges[0]).toBe(Math.fround(0.1));
    expect(edges[4]).toBe(Math.fround(0.9));
  });

  it('refuses a bucket count that is not a positive integer, in tfjs-node’s words', () => {
    expect(() => tfjsBuckets([1, 2], 0)).toThrow(
      'Expected bucket count to be a strictly positive integer, but it was 0',
    );
  });

  it('computes min, max, mean, population std and count', () => {
    expect(histogramStats([2, 4, 4, 4, 5, 5, 7, 9])).toEqual({
      min: 2,
      max: 9,
      mean: 5,
      std: 2,
      count: 8,
      sum: 40,
      sumSquares: 232,
    });
    expect(histogramStats([])).toMatchObject({ count: 0, mean: 0, std: 0 });
  });
});
