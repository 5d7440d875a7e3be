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
  private queue: Uint8Array[] = [];
  private queuedBytes = 0;
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

  /** Queues an encoded `Event`. */
  add(event: Uint8Array): void {
    if (this.fd === undefined) return;
    const record = frameRecord(event);
    this.queue.push(record);
    this.queuedBytes += record.length;
    if (this.queue.length >= this.maxQueue) this.flush();
  }

  /** Writes every queued event to the file. */
  flush(): void {
    if (this.fd === undefined || this.queue.length === 0) return;
    const chunk =
      this.queue.length === 1 ? (this.queue[0] as Uint8Array) : Buffer.concat(this.queue, this.queuedBytes);
    this.queue = [];
    this.queuedBytes = 0;
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
