import { diag } from '../diag.js';
import { MlflowApiError } from '../errors.js';
import type { TrackingStore } from '../store.js';
import { inBackground } from './background.js';
import type { SpoolSink } from './spool-sink.js';

/** Options of {@link OfflineProbe}. */
export interface OfflineProbeOptions {
  /** Milliseconds between two tries while the server does not answer, and the least between two uploads. */
  intervalMs: number;
  /** Called once, with the server's run id, when the replay has created the run there. */
  onCreated?: (remoteRunId: string) => void;
}

/** Longest wait between two tries while the server stays unreachable. */
const MAX_BACKOFF_MS = 300_000;
/**
 * An upload of the spool reads its files again; waiting this many times as long as the last upload took
 * keeps the uploads to at most a fifth of the time (most of it waiting for the server), however large the spool grows.
 */
const UPLOAD_SHARE = 4;

/**
 * Tries the server while a run records offline into its spool (started while the server did not answer),
 * and uploads the spool as soon as the server answers: the run is created there on the first upload, and
 * later uploads add what was spooled since (the replay's state counts what is there already). Background
 * work with an unref'd timer: it never keeps the process alive, and one try runs at a time. `end()` does
 * the last upload, as for any spooled run.
 */
export class OfflineProbe {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private stopped = false;
  private failures = 0;
  private remoteRunId: string | undefined;

  constructor(
    private readonly store: TrackingStore,
    private readonly spool: SpoolSink,
    private readonly options: OfflineProbeOptions,
  ) {}

  /** Starts trying, first after one interval. */
  start(): void {
    this.schedule(this.options.intervalMs);
  }

  /** Stops for good; an upload under way finishes in the background. */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.tick();
    }, delayMs);
    this.timer.unref?.();
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    if (!this.spool.pending) {
      this.schedule(this.options.intervalMs);
      return;
    }
    const started = Date.now();
    let answered = true;
    try {
      // One cheap request with the store's retry policy: it fails only once the retries are used up.
      await inBackground(() => this.store.searchExperiments({ maxResults: 1 }));
    } catch (error) {
      // A refusal (such as 401) is an answer too: the upload then says what is wrong.
      answered = MlflowApiError.isInstance(error) && !error.retryable;
    }
    if (this.stopped) return;
    if (!answered) {
      this.failures++;
      this.schedule(Math.min(MAX_BACKOFF_MS, this.options.intervalMs * 2 ** this.failures));
      return;
    }
    const uploadStarted = Date.now();
    const remoteRunId = await this.spool.replay(this.store);
    if (remoteRunId === undefined) {
      this.failures++;
      this.schedule(Math.min(MAX_BACKOFF_MS, this.options.intervalMs * 2 ** this.failures));
      return;
    }
    this.failures = 0;
    if (this.remoteRunId === undefined) {
      this.remoteRunId = remoteRunId;
      diag.debug(`The server answered ${Date.now() - started} ms after the probe started.`);
      this.options.onCreated?.(remoteRunId);
    }
    this.schedule(Math.max(this.options.intervalMs, (Date.now() - uploadStarted) * UPLOAD_SHARE));
  }
}
