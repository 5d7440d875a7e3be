import type { Metric } from '../types.js';

const CHUNK = 1024;

interface Chunk {
  keys: string[];
  values: Float64Array;
  timestamps: Float64Array;
  steps: Float64Array;
  /** Index of the first point not yet taken. */
  head: number;
  /** Index after the last point written. */
  tail: number;
}

const newChunk = (): Chunk => ({
  keys: new Array<string>(CHUNK),
  values: new Float64Array(CHUNK),
  timestamps: new Float64Array(CHUNK),
  steps: new Float64Array(CHUNK),
  head: 0,
  tail: 0,
});

/** Bytes one queued point costs in memory: three doubles and a reference to its (shared) key. */
export const BYTES_PER_QUEUED_POINT = 32;

/**
 * A FIFO of metric points kept in fixed-size columnar chunks: appending and taking are O(1) per point
 * whatever the length (no `Array.shift`), and a point costs {@link BYTES_PER_QUEUED_POINT} bytes instead of
 * a ~100-byte object.
 */
export class MetricQueue {
  private chunks: Chunk[] = [];
  private first = 0;
  private count = 0;

  /** Points queued. */
  get length(): number {
    return this.count;
  }

  /** Appends one point. */
  push(key: string, value: number, timestamp: number, step: number): void {
    let chunk = this.chunks[this.chunks.length - 1];
    if (!chunk || chunk.tail === CHUNK) {
      chunk = newChunk();
      this.chunks.push(chunk);
    }
    const index = chunk.tail++;
    chunk.keys[index] = key;
    chunk.values[index] = value;
    chunk.timestamps[index] = timestamp;
    chunk.steps[index] = step;
    this.count++;
  }

  /** Key of the oldest point, without taking it. */
  peekKey(offset = 0): string | undefined {
    let skip = offset;
    for (let index = this.first; index < this.chunks.length; index++) {
      const chunk = this.chunks[index]!;
      const size = chunk.tail - chunk.head;
      if (skip < size) return chunk.keys[chunk.head + skip];
      skip -= size;
    }
    return undefined;
  }

  /** Removes and returns up to `limit` of the oldest points. */
  take(limit: number): Metric[] {
    const out: Metric[] = [];
    while (out.length < limit && this.count > 0) {
      const chunk = this.chunks[this.first]!;
      const end = Math.min(chunk.tail, chunk.head + (limit - out.length));
      for (let index = chunk.head; index < end; index++) {
        out.push({
          key: chunk.keys[index]!,
          value: chunk.values[index]!,
          timestamp: chunk.timestamps[index]!,
          step: chunk.steps[index]!,
        });
        chunk.keys[index] = '';
      }
      this.count -= end - chunk.head;
      chunk.head = end;
      if (chunk.head === chunk.tail && (chunk.tail === CHUNK || this.first < this.chunks.length - 1)) {
        this.first++;
      } else if (chunk.head === chunk.tail) {
        chunk.head = 0;
        chunk.tail = 0;
      }
    }
    // Drop taken chunks now and then, so the array of chunks does not grow without bound.
    if (this.first > 64 && this.first * 2 > this.chunks.length) {
      this.chunks = this.chunks.slice(this.first);
      this.first = 0;
    }
    if (this.count === 0) {
      this.chunks = [];
      this.first = 0;
    }
    return out;
  }
}
