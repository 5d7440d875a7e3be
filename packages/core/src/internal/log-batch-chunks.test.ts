import { describe, expect, it } from 'vitest';
import type { KeyValue, LogBatch, Metric } from '../types.js';
import { chunkBatch, nextChunkSizes } from './log-batch-chunks.js';

const metrics = (count: number, key = 'loss'): Metric[] =>
  Array.from({ length: count }, (_, step) => ({ key, value: step, timestamp: 1000 + step, step }));
const items = (count: number, prefix: string, value = 'v'): KeyValue[] =>
  Array.from({ length: count }, (_, index) => ({ key: `${prefix}${index}`, value }));
const sizeOf = (chunk: LogBatch) =>
  (chunk.params?.length ?? 0) + (chunk.tags?.length ?? 0) + (chunk.metrics?.length ?? 0);

describe('chunkBatch', () => {
  it('fills requests as MLflow does: 100 params and 100 tags topped up with metrics, then 1000 metrics each', () => {
    const chunks = chunkBatch({ params: items(150, 'p'), tags: items(120, 't'), metrics: metrics(2500) });
    expect(chunks.map((chunk) => [chunk.params?.length, chunk.tags?.length, chunk.metrics?.length])).toEqual([
      [100, 100, 800],
      [50, 20, 930],
      [undefined, undefined, 770],
    ]);
    for (const chunk of chunks) expect(sizeOf(chunk)).toBeLessThanOrEqual(1000);
  });

  it('keeps every item exactly once and in order', () => {
    const batch = { params: items(230, 'p'), tags: items(7, 't'), metrics: metrics(3333) };
    const chunks = chunkBatch(batch);
    expect(chunks.flatMap((chunk) => chunk.params ?? [])).toEqual(batch.params);
    expect(chunks.flatMap((chunk) => chunk.tags ?? [])).toEqual(batch.tags);
    expect(chunks.flatMap((chunk) => chunk.metrics ?? [])).toEqual(batch.metrics);
  });

  it('keeps each request under 1 MB when values are long', () => {
    const chunks = chunkBatch({
      params: items(100, 'p', 'x'.repeat(6000)),
      tags: items(100, 't', 'y'.repeat(8000)),
    });
    expect(chunks.length).toBeGreaterThan(1);
    for (const chunk of chunks) expect(JSON.stringify(chunk).length).toBeLessThan(1_000_000);
    expect(chunks.reduce((sum, chunk) => sum + sizeOf(chunk), 0)).toBe(200);
  });

  it('puts a repeated param key into the next request, since the server refuses a duplicate in one', () => {
    const chunks = chunkBatch({
      params: [
        { key: 'lr', value: '0.1' },
        { key: 'epochs', value: '3' },
        { key: 'lr', value: '0.1' },
      ],
    });
    expect(chunks.map((chunk) => chunk.params?.map((param) => param.key))).toEqual([
      ['lr', 'epochs'],
      ['lr'],
    ]);
  });

  it('returns no request for an empty batch', () => {
    expect(chunkBatch({})).toEqual([]);
  });
});

describe('nextChunkSizes', () => {
  it('always takes at least one item, so a caller draining a queue makes progress', () => {
    expect(nextChunkSizes({ params: [{ key: 'big', value: 'z'.repeat(2_000_000) }] })).toEqual({
      params: 1,
      tags: 0,
      metrics: 0,
    });
    expect(nextChunkSizes({ metrics: metrics(5) })).toEqual({ params: 0, tags: 0, metrics: 5 });
  });
});
