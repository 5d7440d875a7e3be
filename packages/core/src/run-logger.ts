import { diag } from './diag.js';
import { MlflowApiError } from './errors.js';
import { nextChunkSizes } from './internal/log-batch-chunks.js';
import type { TrackingStore } from './store.js';
import type { KeyValue, LogBatch, Metric } from './types.js';
import { LIMITS } from './validation.js';

/** Options of {@link RunLogger}. */
export interface RunLoggerOptions {
  /** Milliseconds between background sends while data is queued. @defaultValue `1000` */
  flushIntervalMs?: number;
  /**
   * Most items kept in memory while the server does not answer. Past it, the oldest metric points are
   * dropped and the drop is reported. @defaultValue `1_000_000`
   */
  maxQueuedItems?: number;
}

/** Counters of a {@link RunLogger}, for diagnostics and tests. */
export interface RunLoggerStats {
  /** Items the store accepted. */
  sent: number;
  /** Items the server refused (a 4xx answer); reported through `diag`. */
  rejected: number;
  /** Items dropped because the queue was full. */
  dropped: number;
  /** Items waiting to be sent. */
  queued: number;
  /** Log-batch requests sent. */
  requests: number;
}

/**
 * The per-run send queue. `add*` calls only append to arrays; sending happens on a timer, when a full
 * batch is queued, and on `flush()`. Requests go out one at a time, cut to MLflow's log-batch limits.
 * Failures never throw: refused batches are reported once through `diag`; batches that failed for
 * transport reasons stay queued and are tried again on the next send.
 */
export class RunLogger {
  private metrics: Metric[] = [];
  private params: KeyValue[] = [];
  private readonly tags = new Map<string, string>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private sending: Promise<void> | undefined;
  private readonly flushIntervalMs: number;
  private readonly maxQueuedItems: number;
  private transportFailures = 0;
  private readonly counters = { sent: 0, rejected: 0, dropped: 0, requests: 0 };

  constructor(
    private readonly store: TrackingStore,
    private readonly runId: string,
    options: RunLoggerOptions = {},
  ) {
    this.flushIntervalMs = options.flushIntervalMs ?? 1000;
    this.maxQueuedItems = options.maxQueuedItems ?? 1_000_000;
  }

  /** Counters since the logger was made. */
  get stats(): RunLoggerStats {
    return { ...this.counters, queued: this.queued() };
  }

  /** Queues one metric point (already validated). */
  addMetric(point: Metric): void {
    this.metrics.push(point);
    if (this.metrics.length >= LIMITS.maxMetricsPerBatch) {
      this.enforceBound();
      this.sendSoon(true);
    } else if (!this.timer && !this.sending) {
      this.schedule();
    }
  }

  /** Queues metric points (already validated). */
  addMetrics(points: Metric[]): void {
    for (const point of points) this.metrics.push(point);
    this.enforceBound();
    this.sendSoon(this.metrics.length >= LIMITS.maxMetricsPerBatch);
  }

  /** Queues params (already validated and de-duplicated). */
  addParams(params: KeyValue[]): void {
    for (const param of params) this.params.push(param);
    this.sendSoon(this.params.length >= LIMITS.maxParamsTagsPerBatch);
  }

  /** Queues tags; a later value of the same key replaces a queued one. */
  addTags(tags: KeyValue[]): void {
    for (const tag of tags) {
      this.tags.delete(tag.key);
      this.tags.set(tag.key, tag.value);
    }
    this.sendSoon(this.tags.size >= LIMITS.maxParamsTagsPerBatch);
  }

  /**
   * Sends everything queued now and waits for it. Resolves, never rejects: what could not be sent is
   * reported through `diag` and stays queued for the next attempt.
   */
  async flush(): Promise<void> {
    this.clearTimer();
    // Items added while a send is under way are picked up by the same drain loop.
    while (this.queued() > 0 || this.sending) {
      const before = this.queued();
      this.kick();
      await this.sending;
      if (this.queued() > 0 && this.queued() >= before) break; // the server is not taking data now
    }
  }

  /** Stops the timer. Queued data stays until the next `flush()`. */
  close(): void {
    this.clearTimer();
  }

  private queued(): number {
    return this.metrics.length + this.params.length + this.tags.size;
  }

  // A full batch is sent at once while the server answers; after a transport failure only the backoff
  // timer sends, so a training loop logging into an outage does not fire a request per log call.
  private sendSoon(batchIsFull: boolean): void {
    if (batchIsFull && this.transportFailures === 0) this.kick();
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
      this.kick();
    }, delay);
    this.timer.unref?.();
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private kick(): void {
    if (this.sending) return;
    this.clearTimer();
    this.sending = this.drain().finally(() => {
      this.sending = undefined;
      if (this.queued() > 0) this.schedule();
    });
  }

  private async drain(): Promise<void> {
    while (this.queued() > 0) {
      const batch = this.takeBatch();
      const count = (batch.metrics?.length ?? 0) + (batch.params?.length ?? 0) + (batch.tags?.length ?? 0);
      this.counters.requests++;
      try {
        await this.store.logBatch(this.runId, batch);
        this.counters.sent += count;
        if (this.transportFailures > 0) diag.info(`Sending to run ${this.runId} works again.`);
        this.transportFailures = 0;
      } catch (error) {
        if (MlflowApiError.isInstance(error) && !error.retryable) {
          this.counters.rejected += count;
          diag.once(
            `rejected:${this.runId}:${error.errorCode ?? error.status}`,
            'error',
            `The server refused ${count} item(s) for run ${this.runId}: ${error.message}`,
          );
          continue;
        }
        this.putBack(batch);
        this.transportFailures++;
        diag.once(
          `transport:${this.runId}`,
          'error',
          `Could not send data for run ${this.runId}; it stays queued (${this.queued()} items) and is sent again later: ${
            error instanceof Error ? error.message : String(error)
          }`,
        );
        return;
      }
    }
  }

  private takeBatch(): LogBatch {
    const tags = [...this.tags].map(([key, value]) => ({ key, value }));
    const sizes = nextChunkSizes({ params: this.params, tags, metrics: this.metrics });
    for (const tag of tags.slice(0, sizes.tags)) this.tags.delete(tag.key);
    const batch: LogBatch = {};
    if (sizes.metrics > 0) batch.metrics = this.metrics.splice(0, sizes.metrics);
    if (sizes.params > 0) batch.params = this.params.splice(0, sizes.params);
    if (sizes.tags > 0) batch.tags = tags.slice(0, sizes.tags);
    return batch;
  }

  private putBack(batch: LogBatch): void {
    if (batch.metrics) this.metrics = batch.metrics.concat(this.metrics);
    if (batch.params) this.params = batch.params.concat(this.params);
    for (const tag of batch.tags ?? []) {
      // A newer value queued meanwhile wins over the one that failed.
      if (!this.tags.has(tag.key)) this.tags.set(tag.key, tag.value);
    }
    this.enforceBound();
  }

  private enforceBound(): void {
    const excess = this.queued() - this.maxQueuedItems;
    if (excess <= 0) return;
    const dropped = Math.min(excess, this.metrics.length);
    this.metrics.splice(0, dropped);
    this.counters.dropped += dropped;
    diag.once(
      `dropped:${this.runId}`,
      'error',
      `The send queue of run ${this.runId} is full (${this.maxQueuedItems} items) while the server does not take data: the oldest metric points are being dropped. Raise maxQueuedItems or check the server.`,
    );
  }
}
