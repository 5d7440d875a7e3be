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

/** Renders a one-line description of the progress: bar (on a terminal), percentage, counts and rate. */
export function formatProgress(progress: SyncProgress, width = 24): string {
  const fraction =
    progress.pointsTotal === 0
      ? progress.runsTotal === 0
        ? 1
        : progress.runsDone / progress.runsTotal
      : progress.pointsDone / progress.pointsTotal;
  const percent = Math.floor(Math.min(1, fraction) * 100);
  const filled = Math.round(Math.min(1, fraction) * width);
  const bar = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
  const rate = progress.elapsedMs > 0 ? Math.round((progress.pointsDone * 1000) / progress.elapsedMs) : 0;
  return `${bar} ${String(percent).padStart(3)}% ${formatCount(progress.pointsDone)}/${formatCount(progress.pointsTotal)} points · ${progress.runsDone}/${progress.runsTotal} runs · ${progress.artifactsDone} artifacts · ${formatCount(rate)} points/s`;
}

/**
 * Shows progress on a stream: a bar redrawn in place on a terminal (at most every 100 ms), plain lines
 * otherwise (at most one a second), so logs of CI jobs stay readable.
 */
export class ProgressReporter {
  private lastDraw = 0;
  private drawn = false;

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
    const now = Date.now();
    const interval = this.stream.isTTY ? 100 : 1000;
    if (!force && now - this.lastDraw < interval) return;
    this.lastDraw = now;
    const line = `${this.label} ${formatProgress(progress)}`;
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
