/** Settings of a {@link MicroBatcher}. */
export interface MicroBatcherSettings {
  /** Most rows one call of `run` receives; 1 turns batching off (every request runs alone, at once). */
  maxBatchSize: number;
  /** Longest a request waits for others to share its call, in milliseconds. */
  maxWaitMs: number;
}

/** One request: how many rows it holds and the key of requests it may share a call with. */
export interface BatchItem {
  rows: number;
  batchKey: string;
}

interface Pending<I, O> {
  item: I;
  resolve(output: O): void;
  reject(error: unknown): void;
}

/**
 * Gathers concurrent requests into one call of `run`: a call starts when `maxBatchSize` rows wait, or
 * `maxWaitMs` after the first of them arrived. Requests only share a call with requests of the same
 * `batchKey` (the same row shapes); a request larger than `maxBatchSize` runs alone.
 */
export class MicroBatcher<I extends BatchItem, O> {
  private readonly queues = new Map<string, { pending: Pending<I, O>[]; rows: number }>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly running = new Set<Promise<void>>();

  constructor(
    private readonly run: (items: I[]) => Promise<O[]>,
    private readonly settings: MicroBatcherSettings,
  ) {}

  /** Queues a request; resolves with its own share of the call's output. */
  submit(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      const pending = { item, resolve, reject };
      if (this.settings.maxBatchSize <= 1 || item.rows >= this.settings.maxBatchSize) {
        this.start([pending]);
        return;
      }
      let queue = this.queues.get(item.batchKey);
      if (queue && queue.rows + item.rows > this.settings.maxBatchSize) {
        this.start(queue.pending);
        this.queues.delete(item.batchKey);
        queue = undefined;
      }
      if (!queue) {
        queue = { pending: [], rows: 0 };
        this.queues.set(item.batchKey, queue);
      }
      queue.pending.push(pending);
      queue.rows += item.rows;
      if (queue.rows >= this.settings.maxBatchSize) {
        this.start(queue.pending);
        this.queues.delete(item.batchKey);
      }
      if (this.queues.size === 0) this.clearTimer();
      else this.timer ??= setTimeout(() => this.flush(), this.settings.maxWaitMs);
    });
  }

  /** Starts a call for everything queued now. */
  flush(): void {
    this.clearTimer();
    const queues = [...this.queues.values()];
    this.queues.clear();
    for (const queue of queues) this.start(queue.pending);
  }

  /** Flushes, then waits until every call has answered. */
  async drain(): Promise<void> {
    this.flush();
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private start(batch: Pending<I, O>[]): void {
    const call = (async () => {
      try {
        const outputs = await this.run(batch.map((pending) => pending.item));
        for (const [index, pending] of batch.entries()) pending.resolve(outputs[index] as O);
      } catch (error) {
        for (const pending of batch) pending.reject(error);
      }
    })();
    this.running.add(call);
    void call.finally(() => this.running.delete(call));
  }
}
