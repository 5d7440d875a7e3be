import { diag } from './diag.js';
import { MlflowApiError, MlflowRunDeletedError } from './errors.js';
import { inBackground } from './internal/background.js';
import { itemBytes, nextChunkSizes } from './internal/log-batch-chunks.js';
import { BYTES_PER_QUEUED_POINT, MetricQueue } from './internal/metric-queue.js';
import type { SpoolSink } from './internal/spool-sink.js';
import type { ArtifactSource, TrackingStore } from './store.js';
import type { KeyValue, LogBatch, Metric } from './types.js';
import { LIMITS } from './validation.js';

/** Options of {@link RunLogger}. */
export interface RunLoggerOptions {
  /** Milliseconds between background sends while data is queued. @defaultValue `1000` */
  flushIntervalMs?: number;
  /**
   * Most bytes of data kept in memory while the server does not take it. Past it, the oldest data goes to
   * the spool. @defaultValue `64 MiB`
   */
  maxPendingBytes?: number;
  /** Longest wait of `flush()` before what is left goes to the spool, in ms. @defaultValue `5000` */
  flushTimeoutMs?: number;
  /**
   * Where data goes that the server cannot take; `undefined` keeps it queued instead (the local store,
   * which is a disk itself). @defaultValue `undefined`
   */
  spool?: SpoolSink | undefined;
  /** Artifact root of the run, where queued artifacts are uploaded. @defaultValue `''` */
  artifactUri?: string;
  /** Start in offline mode: everything goes to the spool, the server is not called. @defaultValue `false` */
  offline?: boolean;
}

/** Counters of a {@link RunLogger}, for diagnostics and tests. */
export interface RunLoggerStats {
  /** Items the store accepted. */
  sent: number;
  /** Items the server refused (a 4xx answer); reported through `diag`. */
  rejected: number;
  /** Items written to the spool. */
  spooled: number;
  /** Items waiting to be sent. */
  queued: number;
  /** Log-batch and artifact requests sent. */
  requests: number;
}

interface ArtifactJob {
  path: string;
  source: ArtifactSource;
  done: () => void;
  /** Gone to the spool because its caller's bounded wait ran out while it was still queued. */
  spooled?: boolean;
}

const describe = (error: unknown): string => (error instanceof Error ? error.message : String(error));
// A page has no setImmediate: a zero timeout does the same there.
const soon = (work: () => void): unknown =>
  typeof setImmediate === 'function' ? setImmediate(work) : setTimeout(work, 0);
const cancelSoon = (handle: unknown): void => {
  if (typeof clearImmediate === 'function') clearImmediate(handle as ReturnType<typeof setImmediate>);
  else clearTimeout(handle as ReturnType<typeof setTimeout>);
};

/**
 * The per-run send queue, the one way data of a run reaches its store. `add*` calls only append (O(1),
 * columnar chunks for metric points); sending happens on a timer, when a full batch is queued, and on
 * `flush()`. Requests go out one at a time, cut to MLflow's log-batch limits, each with the store's retries.
 *
 * Nothing is lost and nothing throws: a batch the server refuses (4xx) is reported once through `diag`;
 * when the server answers that the run is deleted, that batch and everything after it go to the spool
 * ({@link RunLogger.runDeleted});
 * data the server cannot take within its retry budget, data over the memory bound, and what is still queued
 * when `flush()`'s bounded wait runs out go to the run's spool on disk.
 */
export class RunLogger {
  private readonly metrics = new MetricQueue();
  private params: KeyValue[] = [];
  private paramsHead = 0;
  private readonly tags = new Map<string, string>();
  private artifacts: ArtifactJob[] = [];
  private artifactsHead = 0;
  private otherBytes = 0;
  private inFlight: LogBatch | undefined;
  /** A batch that failed for transport reasons, sent again first (O(1), unlike putting it back in the queue). */
  private retryBatch: LogBatch | undefined;
  private inFlightArtifact: ArtifactJob | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private spillTimer: unknown;
  private sending: Promise<void> | undefined;
  private readonly flushIntervalMs: number;
  private readonly maxPendingBytes: number;
  private readonly flushTimeoutMs: number;
  private readonly spool: SpoolSink | undefined;
  private readonly artifactUri: string;
  private offline: boolean;
  private deletedError: MlflowRunDeletedError | undefined;
  private transportFailures = 0;
  private readonly counters = { sent: 0, rejected: 0, spooled: 0, requests: 0 };

  constructor(
    private readonly store: TrackingStore,
    private readonly runId: string,
    options: RunLoggerOptions = {},
  ) {
    this.flushIntervalMs = options.flushIntervalMs ?? 1000;
    this.maxPendingBytes = options.maxPendingBytes ?? 64 * 1024 * 1024;
    this.flushTimeoutMs = options.flushTimeoutMs ?? 5000;
    this.spool = options.spool;
    this.artifactUri = options.artifactUri ?? '';
    this.offline = (options.offline ?? false) && this.spool !== undefined;
  }

  /** Counters since the logger was made. */
  get stats(): RunLoggerStats {
    return { ...this.counters, queued: this.queued() };
  }

  /** Whether some data is not known to be on the server: in the spool, or in a request not yet answered. */
  get undelivered(): boolean {
    return (
      (this.spool?.used ?? false) ||
      this.inFlight !== undefined ||
      this.inFlightArtifact !== undefined ||
      this.retryBatch !== undefined
    );
  }

  /**
   * The error the run's `flush()` and `end()` reject with once the server answered that the run is deleted;
   * `undefined` while it is not. From that answer on, the run's data goes to the spool (see
   * {@link MlflowRunDeletedError}).
   */
  get runDeleted(): MlflowRunDeletedError | undefined {
    return this.deletedError;
  }

  /**
   * Records that the server refuses the run because it is deleted (the answer of a log-batch or of the end
   * status): one diag error at once, and from now on every item goes to the spool, where `mlflow-kit sync`
   * finds it after the run is restored. Without a spool (a local store), the data stays queued.
   */
  markDeleted(answer: unknown): MlflowRunDeletedError {
    if (this.deletedError) return this.deletedError;
    this.deletedError = new MlflowRunDeletedError({
      runId: this.runId,
      trackingUri: this.store.trackingUri,
      permanent: MlflowRunDeletedError.answerOf(answer) === 'removed',
      syncCommand: this.spool?.command,
      cause: answer,
    });
    diag.error(this.deletedError.message);
    if (this.spool) {
      this.offline = true;
      this.clearTimer();
      this.spillQueued();
    }
    return this.deletedError;
  }

  /** Whether a request is still waiting for its answer. */
  get busy(): boolean {
    return this.sending !== undefined;
  }

  /** Queues one metric point (already validated). */
  addMetric(point: Metric): void {
    this.metrics.push(point.key, point.value, point.timestamp, point.step);
    if (this.metrics.length % LIMITS.maxMetricsPerBatch === 0) this.checkBound();
    if (this.metrics.length >= LIMITS.maxMetricsPerBatch) this.sendSoon(true);
    else if (!this.timer && !this.sending) this.schedule();
  }

  /** Queues metric points (already validated). */
  addMetrics(points: Metric[]): void {
    for (const point of points) this.metrics.push(point.key, point.value, point.timestamp, point.step);
    this.checkBound();
    this.sendSoon(this.metrics.length >= LIMITS.maxMetricsPerBatch);
  }

  /** Queues params (already validated and de-duplicated). */
  addParams(params: KeyValue[]): void {
    for (const param of params) {
      this.params.push(param);
      this.otherBytes += itemBytes(param.key, param.value);
    }
    this.sendSoon(this.params.length - this.paramsHead >= LIMITS.maxParamsTagsPerBatch);
  }

  /** Queues tags; a later value of the same key replaces a queued one. */
  addTags(tags: KeyValue[]): void {
    for (const tag of tags) {
      this.tags.delete(tag.key);
      this.tags.set(tag.key, tag.value);
      this.otherBytes += itemBytes(tag.key, tag.value);
    }
    this.sendSoon(this.tags.size >= LIMITS.maxParamsTagsPerBatch);
  }

  /**
   * Queues an artifact file. Resolves once it is on the server or in the spool (or refused and reported);
   * never rejects.
   */
  addArtifact(path: string, source: ArtifactSource): Promise<void> {
    return new Promise((resolve) => {
      // The caller (often a training callback) waits at most the bounded time, also while the logger backs
      // off after failures: then the file goes to the spool, or without one stays queued for the next attempt.
      const timer = setTimeout(() => {
        if (this.spool && !job.spooled && this.inFlightArtifact !== job) {
          job.spooled = true;
          this.spoolArtifact(job);
        } else if (!this.spool) {
          diag.warn(
            `Artifact ${path} of run ${this.runId} is not written yet; it stays queued and is tried again.`,
          );
          job.done();
        }
      }, this.flushTimeoutMs);
      const job: ArtifactJob = {
        path,
        source,
        done: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      this.artifacts.push(job);
      if ('bytes' in source) this.otherBytes += source.bytes.byteLength;
      this.checkBound();
      this.sendSoon(true);
    });
  }

  /**
   * Sends everything queued and waits for it, at most `timeoutMs`; then what is left goes to the spool. When
   * the server refuses to take data (a transport failure after the store's retries) it returns at once and
   * the data stays queued for the next attempt, within the memory bound. Resolves, never rejects.
   */
  async flush(timeoutMs = this.flushTimeoutMs): Promise<void> {
    this.clearTimer();
    if (this.offline) {
      this.spillQueued();
      return;
    }
    const deadline = Date.now() + timeoutMs;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    try {
      // Items added while a send is under way are picked up by the same drain loop.
      while (this.queued() > 0 || this.sending) {
        const before = this.queued();
        this.kick();
        if ((await Promise.race([this.sending, timedOut])) === 'timeout' || Date.now() >= deadline) {
          this.spillQueued();
          return;
        }
        // The server does not take data now: it stays queued for the next attempt (end() and the exit spool it).
        if (this.queued() > 0 && this.queued() >= before) break;
      }
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stops the timers. Queued data stays until the next `flush()`. */
  close(): void {
    this.clearTimer();
    if (this.spillTimer) cancelSoon(this.spillTimer);
    this.spillTimer = undefined;
  }

  /**
   * Writes everything not known to be on the server to the spool, synchronously: what is queued and what
   * is in a request not yet answered (if the server did take it, the replay's copy is ignored by the server
   * as an exact duplicate). For `process.on('exit')`, crash and signal handlers.
   */
  spillAllSync(): void {
    this.close();
    if (!this.spool) return;
    if (this.inFlight) {
      this.writeToSpool(this.inFlight);
      this.inFlight = undefined;
    }
    if (this.inFlightArtifact) {
      this.spoolArtifact(this.inFlightArtifact);
      this.inFlightArtifact = undefined;
    }
    this.spillQueued();
  }

  private queued(): number {
    const retry = this.retryBatch;
    return (
      (retry ? (retry.metrics?.length ?? 0) + (retry.params?.length ?? 0) + (retry.tags?.length ?? 0) : 0) +
      this.metrics.length +
      (this.params.length - this.paramsHead) +
      this.tags.size +
      (this.artifacts.length - this.artifactsHead)
    );
  }

  // Over the memory bound, the oldest data goes to the spool, soon but not inside the log call.
  private checkBound(): void {
    if (this.spillTimer || !this.spool) return;
    if (this.metrics.length * BYTES_PER_QUEUED_POINT + this.otherBytes <= this.maxPendingBytes) return;
    this.spillTimer = soon(() => {
      this.spillTimer = undefined;
      diag.once(
        `bound:${this.runId}`,
        'warn',
        `Run ${this.runId} has over ${Math.round(this.maxPendingBytes / 1048576)} MiB of data the server has not taken: the oldest goes to the spool at ${this.spool?.storeDir}.`,
      );
      this.spillQueued(Math.floor((this.maxPendingBytes * 0.75) / BYTES_PER_QUEUED_POINT));
    });
  }

  // A full batch is sent at once while the server answers; after a transport failure only the backoff
  // timer sends, so a training loop logging into an outage does not fire a request per log call.
  private sendSoon(batchIsFull: boolean): void {
    if (batchIsFull && this.transportFailures === 0 && !this.offline) this.kick();
    else this.schedule();
  }

  private schedule(): void {
    if (this.timer || this.sending) return;
    const delay =
      this.transportFailures > 0
        ? Math.min(60_000, this.flushIntervalMs * 2 ** this.transportFailures)
        : this.flushIntervalMs;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.offline) this.spillQueued();
      else this.kick();
    }, delay);
    this.timer.unref?.();
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private kick(): void {
    if (this.sending || this.offline) return;
    this.clearTimer();
    // Background work: an unanswered request does not keep the process alive; the bounded waits of flush(),
    // end() and the exit hooks do, each for at most its bound.
    this.sending = inBackground(() => this.drain()).finally(() => {
      this.sending = undefined;
      if (this.queued() > 0) this.schedule();
    });
  }

  private async drain(): Promise<void> {
    while (this.queued() > 0) {
      // Artifacts first: they are few, and their callers wait for them.
      const job = this.artifactsHead < this.artifacts.length ? this.takeArtifact() : undefined;
      if (job?.spooled) continue;
      const batch = job ? undefined : (this.retryBatch ?? this.takeBatch());
      if (batch === this.retryBatch) this.retryBatch = undefined;
      const count = batch
        ? (batch.metrics?.length ?? 0) + (batch.params?.length ?? 0) + (batch.tags?.length ?? 0)
        : 1;
      this.counters.requests++;
      this.inFlight = batch;
      this.inFlightArtifact = job;
      try {
        if (job) await this.store.uploadArtifact(this.artifactUri, job.path, job.source);
        else await this.store.logBatch(this.runId, batch as LogBatch);
        this.counters.sent += count;
        if (this.transportFailures > 0) {
          diag.warn(`The server takes data for run ${this.runId} again; the outage is over.`);
          if (this.spool?.used) void this.spool.replay(this.store);
        }
        this.transportFailures = 0;
      } catch (error) {
        if (MlflowRunDeletedError.answerOf(error) !== undefined) {
          // Kept, not dropped: the run may be restored, and then `mlflow-kit sync` uploads the spool into it.
          if (this.inFlight === batch && batch) this.retryBatch = batch;
          if (this.inFlightArtifact === job && job && this.spool) {
            this.inFlightArtifact = undefined;
            this.spoolArtifact(job);
          }
          this.markDeleted(error);
          return;
        }
        if (MlflowApiError.isInstance(error) && !error.retryable) {
          this.counters.rejected += count;
          diag.once(
            `rejected:${this.runId}:${error.errorCode ?? error.status}`,
            'error',
            `The server refused ${count} item(s) for run ${this.runId}: ${error.message}`,
          );
          continue;
        }
        this.transportFailures++;
        if (this.transportFailures === 1) {
          diag.warn(
            this.spool
              ? `The server does not take data for run ${this.runId} (${describe(error)}); until it does, the data goes to the spool at ${this.spool.storeDir}.`
              : `Could not write data of run ${this.runId}; it stays queued and is tried again: ${describe(error)}`,
          );
        }
        // The batch waits in memory for the next attempt (with backoff); the memory bound, flush()'s deadline
        // and the exit move it to the spool. An artifact goes to the spool at once: its caller is waiting.
        // Only a request still in flight is kept: the exit may have spooled it already.
        if (this.inFlight === batch && batch) this.retryBatch = batch;
        if (this.inFlightArtifact === job && job) {
          if (this.spool) this.spoolArtifact(job);
          else
            diag.error(
              `Could not write artifact ${job.path} of run ${this.runId} to ${this.store.trackingUri}.`,
            );
        }
        return;
      } finally {
        if (this.inFlight === batch) this.inFlight = undefined;
        if (this.inFlightArtifact === job) {
          this.inFlightArtifact = undefined;
          job?.done();
        }
      }
    }
  }

  private takeArtifact(): ArtifactJob {
    const job = this.artifacts[this.artifactsHead]!;
    this.artifacts[this.artifactsHead++] = undefined as unknown as ArtifactJob;
    if (this.artifactsHead === this.artifacts.length) {
      this.artifacts = [];
      this.artifactsHead = 0;
    }
    if ('bytes' in job.source) this.otherBytes -= job.source.bytes.byteLength;
    return job;
  }

  private takeBatch(): LogBatch {
    const params = this.params.slice(this.paramsHead, this.paramsHead + LIMITS.maxParamsTagsPerBatch);
    const tags: KeyValue[] = [];
    for (const [key, value] of this.tags) {
      if (tags.length >= LIMITS.maxParamsTagsPerBatch) break;
      tags.push({ key, value });
    }
    const sizes = nextChunkSizes({ params, tags, metrics: this.metrics });
    const batch: LogBatch = {};
    if (sizes.params > 0) {
      batch.params = params.slice(0, sizes.params);
      this.paramsHead += sizes.params;
      if (this.paramsHead === this.params.length) {
        this.params = [];
        this.paramsHead = 0;
      }
    }
    if (sizes.tags > 0) {
      batch.tags = tags.slice(0, sizes.tags);
      for (const tag of batch.tags) this.tags.delete(tag.key);
    }
    for (const item of [...(batch.params ?? []), ...(batch.tags ?? [])])
      this.otherBytes -= itemBytes(item.key, item.value);
    if (sizes.metrics > 0) batch.metrics = this.metrics.take(sizes.metrics);
    return batch;
  }

  private writeToSpool(batch: LogBatch): void {
    try {
      this.spool!.writeBatch(batch);
      this.counters.spooled +=
        (batch.metrics?.length ?? 0) + (batch.params?.length ?? 0) + (batch.tags?.length ?? 0);
    } catch (error) {
      diag.error(
        `Could not write run ${this.runId}'s data to the spool ${this.spool!.storeDir}: ${describe(error)}`,
      );
    }
  }

  private spoolArtifact(job: ArtifactJob): void {
    try {
      this.spool!.writeArtifact(job.path, job.source);
      this.counters.spooled++;
    } catch (error) {
      diag.error(
        `Could not write artifact ${job.path} of run ${this.runId} to the spool: ${describe(error)}`,
      );
    }
    job.done();
  }

  /** Writes queued data to the spool, oldest first, until at most `keepPoints` metric points stay queued. */
  private spillQueued(keepPoints = 0): void {
    if (!this.spool) return;
    if (this.retryBatch) {
      this.writeToSpool(this.retryBatch);
      this.retryBatch = undefined;
    }
    while (this.metrics.length > keepPoints) {
      this.writeToSpool({ metrics: this.metrics.take(Math.min(10_000, this.metrics.length - keepPoints)) });
    }
    if (keepPoints > 0) return;
    const batch: LogBatch = {};
    if (this.paramsHead < this.params.length) batch.params = this.params.slice(this.paramsHead);
    this.params = [];
    this.paramsHead = 0;
    if (this.tags.size > 0) batch.tags = [...this.tags].map(([key, value]) => ({ key, value }));
    this.tags.clear();
    if (batch.params || batch.tags) this.writeToSpool(batch);
    while (this.artifactsHead < this.artifacts.length) this.spoolArtifact(this.takeArtifact());
    this.otherBytes = 0;
  }
}
