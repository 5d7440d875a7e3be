import { closeSync, fsyncSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { diag } from '@mlflow-kit/core';
import { maskedCrc32c } from './crc32c.js';
import { encodeEvent } from './summary-proto.js';

/** Options of {@link EventFileWriter}. */
export interface EventFileWriterOptions {
  /** Queued events that trigger a write to disk. @defaultValue `10` */
  maxQueue?: number;
  /** Milliseconds between background writes of queued events. @defaultValue `120000` */
  flushMillis?: number;
  /** Appended to the file name. @defaultValue `''` */
  filenameSuffix?: string;
}

const open = new Set<EventFileWriter>();
let exitHookInstalled = false;
let counter = 0;

function flushAllAtExit(): void {
  for (const writer of open) writer.close();
}

function varintSize(value: number): number {
  if (value < 0) return 10;
  let size = 1;
  for (let v = value; v >= 0x80; v = Math.floor(v / 0x80)) size++;
  return size;
}

function writeVarint(out: Buffer, offset: number, value: number): number {
  let at = offset;
  if (value < 0) {
    let big = BigInt.asUintN(64, BigInt(value));
    while (big >= 0x80n) {
      out[at++] = Number(big & 0x7fn) | 0x80;
      big >>= 7n;
    }
    out[at++] = Number(big);
    return at;
  }
  let v = value;
  while (v >= 0x80) {
    out[at++] = (v % 0x80) | 0x80;
    v = Math.floor(v / 0x80);
  }
  out[at++] = v;
  return at;
}

/** Frames one record as TFRecord: length, masked CRC of the length, data, masked CRC of the data. */
export function frameRecord(data: Uint8Array): Uint8Array {
  const record = new Uint8Array(16 + data.length);
  const view = new DataView(record.buffer);
  view.setBigUint64(0, BigInt(data.length), true);
  view.setUint32(8, maskedCrc32c(record, 0, 8), true);
  record.set(data, 12);
  view.setUint32(12 + data.length, maskedCrc32c(data), true);
  return record;
}

/**
 * Appends TFRecord-framed `Event`s to one `events.out.tfevents.<seconds>.<host>.<pid>.<n><suffix>` file.
 * `add` only queues; the queue is written when it holds `maxQueue` events, every `flushMillis`, on
 * `flush()`/`close()` and at process exit (synchronously, so `process.exit()` loses nothing).
 */
export class EventFileWriter {
  /** Absolute or relative path of the event file. */
  readonly path: string;
  private fd: number | undefined;
  /** Framed records not yet written, back to back; calls append here without allocating. */
  private pending: Buffer = Buffer.allocUnsafe(64 * 1024);
  private pendingBytes = 0;
  private pendingEvents = 0;
  private readonly tagBytes = new Map<string, Buffer>();
  private readonly maxQueue: number;
  private readonly timer: NodeJS.Timeout | undefined;
  private failed = false;

  constructor(logdir: string, options: EventFileWriterOptions = {}) {
    this.maxQueue = Math.max(1, options.maxQueue ?? 10);
    const seconds = Math.floor(Date.now() / 1000);
    counter += 1;
    this.path = join(
      logdir,
      `events.out.tfevents.${seconds}.${hostname()}.${process.pid}.${counter}${options.filenameSuffix ?? ''}`,
    );
    mkdirSync(logdir, { recursive: true });
    this.fd = openSync(this.path, 'a');
    this.add(encodeEvent({ wallTime: Date.now() / 1000, fileVersion: 'brain.Event:2' }));
    this.flush();
    const flushMillis = options.flushMillis ?? 120_000;
    if (flushMillis > 0) {
      this.timer = setInterval(() => this.flush(), flushMillis);
      this.timer.unref();
    }
    open.add(this);
    if (!exitHookInstalled) {
      exitHookInstalled = true;
      process.on('exit', flushAllAtExit);
    }
  }

  private reserve(bytes: number): Buffer {
    if (this.pendingBytes + bytes > this.pending.length) {
      const next = Buffer.allocUnsafe(Math.max(this.pending.length * 2, this.pendingBytes + bytes));
      this.pending.copy(next, 0, 0, this.pendingBytes);
      this.pending = next;
    }
    return this.pending;
  }

  private queued(): void {
    this.pendingEvents += 1;
    if (this.pendingEvents >= this.maxQueue) this.flush();
  }

  /** Queues an encoded `Event`. */
  add(event: Uint8Array): void {
    if (this.fd === undefined) return;
    const out = this.reserve(event.length + 16);
    const start = this.pendingBytes;
    out.writeBigUInt64LE(BigInt(event.length), start);
    out.writeUInt32LE(maskedCrc32c(out, start, start + 8), start + 8);
    out.set(event, start + 12);
    out.writeUInt32LE(maskedCrc32c(event), start + 12 + event.length);
    this.pendingBytes += event.length + 16;
    this.queued();
  }

  /**
   * Queues the `Event{wall_time, step, summary{value{tag, simple_value}}}` of a scalar, encoded and framed
   * straight into the pending buffer: the hot path of every training loop, so it allocates nothing.
   */
  addScalar(tag: string, value: number, step: number, wallTime: number): void {
    if (this.fd === undefined) return;
    let tagBytes = this.tagBytes.get(tag);
    if (!tagBytes) {
      tagBytes = Buffer.from(tag, 'utf8');
      if (this.tagBytes.size < 10_000) this.tagBytes.set(tag, tagBytes);
    }
    const valueLength = 1 + varintSize(tagBytes.length) + tagBytes.length + 5;
    const summaryLength = 1 + varintSize(valueLength) + valueLength;
    const stepLength = step === 0 ? 0 : 1 + varintSize(step);
    const eventLength = 9 + stepLength + 1 + varintSize(summaryLength) + summaryLength;
    const out = this.reserve(eventLength + 16);
    const start = this.pendingBytes;
    out.writeBigUInt64LE(BigInt(eventLength), start);
    out.writeUInt32LE(maskedCrc32c(out, start, start + 8), start + 8);
    let at = start + 12;
    out[at++] = 0x09; // wall_time, fixed64
    out.writeDoubleLE(wallTime, at);
    at += 8;
    if (step !== 0) {
      out[at++] = 0x10; // step, varint
      at = writeVarint(out, at, step);
    }
    out[at++] = 0x2a; // summary
    at = writeVarint(out, at, summaryLength);
    out[at++] = 0x0a; // summary.value
    at = writeVarint(out, at, valueLength);
    out[at++] = 0x0a; // value.tag
    at = writeVarint(out, at, tagBytes.length);
    tagBytes.copy(out, at);
    at += tagBytes.length;
    out[at++] = 0x15; // value.simple_value, fixed32
    out.writeFloatLE(value, at);
    at += 4;
    out.writeUInt32LE(maskedCrc32c(out, start + 12, at), at);
    this.pendingBytes = at + 4;
    this.queued();
  }

  /** Writes every queued event to the file. */
  flush(): void {
    if (this.fd === undefined || this.pendingBytes === 0) return;
    const chunk = this.pending.subarray(0, this.pendingBytes);
    this.pendingBytes = 0;
    this.pendingEvents = 0;
    try {
      let written = 0;
      while (written < chunk.length) written += writeSync(this.fd, chunk, written);
    } catch (error) {
      if (!this.failed) {
        this.failed = true;
        diag.warn(
          `Could not write TensorBoard events to ${this.path}; training goes on: ${(error as Error).message}`,
        );
      }
    }
  }

  /** Writes what is queued and closes the file; later `add` calls are ignored. */
  close(): void {
    if (this.fd === undefined) return;
    this.flush();
    if (this.timer) clearInterval(this.timer);
    try {
      fsyncSync(this.fd);
    } catch {
      // Not every file system supports fsync; the data is written either way.
    }
    closeSync(this.fd);
    this.fd = undefined;
    open.delete(this);
  }

  /** Whether `close()` has been called. */
  get closed(): boolean {
    return this.fd === undefined;
  }
}
