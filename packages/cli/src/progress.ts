import type { ReplayProgress } from '@mlflow-kit/core';

/** A snapshot of a sync's progress, passed to {@link SyncOptions.onProgress}: core's {@link ReplayProgress}. */
export type SyncProgress = ReplayProgress;

/** Something with `write`, like `process.stderr`; `isTTY` turns on the redrawn bar. */
export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

function formatCount(value: number): string {
  return value.toLocaleString('en-US');
}

/** A duration as `42s`, `3m05s` or `1h02m`. */
export function formatDuration(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m${String(seconds % 60).padStart(2, '0')}s`;
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m`;
}

/**
 * Renders a one-line description of the progress. While the replay counts its work, an indeterminate bar
 * (a block moving with time) with the runs counted so far; then the bar, percentage, counts, rate and
 * the estimated time left, the rate measured from `uploadStartedMs` (the `elapsedMs` at which uploading
 * began) so the counting time does not skew it.
 */
export function formatProgress(progress: SyncProgress, width = 24, uploadStartedMs = 0): string {
  if (progress.phase === 'counting') {
    const position = Math.floor(progress.elapsedMs / 100) % (2 * (width - 3));
    const left = position < width - 3 ? position : 2 * (width - 3) - position;
    const bar = `[${' '.repeat(left)}<=>${' '.repeat(width - 3 - left)}]`;
    return `${bar} counting: ${progress.runsPlanned}/${progress.runsTotal || '?'} runs, ${formatCount(progress.pointsTotal)} points to upload so far · ETA once counted`;
  }
  const fraction =
    progress.pointsTotal === 0
      ? progress.runsTotal === 0
        ? 1
        : progress.runsDone / progress.runsTotal
      : progress.pointsDone / progress.pointsTotal;
  const percent = Math.floor(Math.min(1, fraction) * 100);
  const filled = Math.round(Math.min(1, fraction) * width);
  const bar = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
  const uploadingMs = progress.elapsedMs - uploadStartedMs;
  const rate = uploadingMs > 0 ? (progress.pointsDone * 1000) / uploadingMs : 0;
  const left = Math.max(0, progress.pointsTotal - progress.pointsDone);
  const eta = left === 0 ? 'ETA 0s' : rate > 0 ? `ETA ${formatDuration((left / rate) * 1000)}` : 'ETA …';
  return `${bar} ${String(percent).padStart(3)}% ${formatCount(progress.pointsDone)}/${formatCount(progress.pointsTotal)} points · ${progress.runsDone}/${progress.runsTotal} runs · ${progress.artifactsDone} artifacts · ${formatCount(Math.round(rate))} points/s · ${eta}`;
}

/**
 * Shows progress on a stream: a bar redrawn in place on a terminal (at most every 100 ms), plain lines
 * otherwise (at most one a second), so logs of CI jobs stay readable.
 */
export class ProgressReporter {
  private lastDraw = 0;
  private drawn = false;
  private uploadStartedMs: number | undefined;

  /**
   * @param stream - where to draw, usually `process.stderr`; `undefined` for silence.
   * @param label - the prefix of each line.
   */
  constructor(
    private readonly stream: ProgressStream | undefined,
    private readonly label = 'sync',
  ) {}

  /** Draws `progress` if enough time has passed since the last drawing, or always when `force` is set. */
  update(progress: SyncProgress, force = false): void {
    if (!this.stream) return;
    if (progress.phase !== 'counting') this.uploadStartedMs ??= progress.elapsedMs;
    const now = Date.now();
    const interval = this.stream.isTTY ? 100 : 1000;
    if (!force && now - this.lastDraw < interval) return;
    this.lastDraw = now;
    const line = `${this.label} ${formatProgress(progress, 24, this.uploadStartedMs ?? 0)}`;
    if (this.stream.isTTY) {
      const columns = this.stream.columns ?? 120;
      this.stream.write(`\r${line.slice(0, columns - 1).padEnd(Math.min(columns - 1, line.length))}\x1b[K`);
      this.drawn = true;
    } else {
      this.stream.write(`${line}\n`);
    }
  }

  /** Draws the final state and ends the bar's line. */
  finish(progress: SyncProgress): void {
    this.update(progress, true);
    if (this.stream?.isTTY && this.drawn) this.stream.write('\n');
  }
}
