import {
  type ReplayedRun,
  type ReplayOptions,
  type ReplayProgress,
  type ReplaySummary,
  replayLocalRuns,
} from '@mlflow-kit/core';
import { ProgressReporter, type ProgressStream } from './progress.js';

/** Tag set on every uploaded run: the id of the local run it came from (core's `SOURCE_RUN_TAG`). */
export { SOURCE_RUN_TAG } from '@mlflow-kit/core';

/** Options of {@link syncLocalRuns}: those of core's `replayLocalRuns`, with a progress bar. */
export interface SyncOptions extends Omit<ReplayOptions, 'to'> {
  /** The tracking server to upload to, `http(s)://host:port`. Credentials come from the usual MLFLOW_TRACKING_* variables. */
  to: string;
  /** Where the progress bar goes; `undefined` for none. @defaultValue `undefined` */
  progressStream?: ProgressStream;
}

/** What happened to one local run in a sync (core's {@link ReplayedRun}). */
export type SyncedRun = ReplayedRun;

/** The result of {@link syncLocalRuns} (core's {@link ReplaySummary}). */
export type SyncSummary = ReplaySummary;

/**
 * Uploads every run of a local store to a tracking server with core's `replayLocalRuns` (idempotent and
 * resumable; see there), drawing a progress bar on `progressStream`.
 *
 * @example
 * ```ts
 * import { syncLocalRuns } from '@mlflow-kit/cli';
 * const summary = await syncLocalRuns({ from: './mlruns', to: 'http://127.0.0.1:5000', progressStream: process.stderr });
 * console.log(`${summary.pointsUploaded} points, ${summary.created} new runs`);
 * ```
 */
export async function syncLocalRuns(options: SyncOptions): Promise<SyncSummary> {
  const { progressStream, onProgress, ...replayOptions } = options;
  const started = Date.now();
  const reporter = new ProgressReporter(progressStream);
  let last: ReplayProgress | undefined;
  let summary: SyncSummary | undefined;
  try {
    summary = await replayLocalRuns({
      ...replayOptions,
      onProgress: (progress) => {
        last = progress;
        reporter.update(progress);
        onProgress?.(progress);
      },
    });
    return summary;
  } finally {
    // The bar is finished also when the sync fails, so the error starts on a line of its own.
    if (last) reporter.finish({ ...last, elapsedMs: summary?.durationMs ?? Date.now() - started });
  }
}

/** Formats a {@link SyncSummary} as the few lines the CLI prints at the end. */
export function formatSyncSummary(summary: SyncSummary): string {
  const seconds = (summary.durationMs / 1000).toFixed(1);
  const lines = [
    `Synced ${summary.source} → ${summary.destination} in ${seconds} s`,
    `  runs: ${summary.runs.length} (${summary.created} created, ${summary.resumed} resumed, ${summary.unchanged} unchanged, ${summary.failed} failed)`,
    `  uploaded: ${summary.pointsUploaded.toLocaleString('en-US')} metric points (${summary.pointsPerSecond.toLocaleString('en-US')}/s), ` +
      `${summary.paramsUploaded} params, ${summary.tagsUploaded} tags, ${summary.artifactsUploaded} artifacts (${summary.artifactBytesUploaded.toLocaleString('en-US')} bytes)`,
  ];
  for (const run of summary.runs) {
    if (run.outcome === 'failed')
      lines.push(`  ✗ ${run.experimentName}/${run.runName} (${run.localRunId}): ${run.error ?? 'failed'}`);
    // The server gives a created run its own id: say which local run it is (also in its
    // mlflow-kit.sync.sourceRunId tag).
    else if (run.outcome === 'created')
      lines.push(
        `  + ${run.experimentName}/${run.runName}: local ${run.localRunId} → run ${run.remoteRunId}`,
      );
  }
  return lines.join('\n');
}
