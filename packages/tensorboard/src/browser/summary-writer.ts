import { diag, MlflowConfigError } from '@mlflow-kit/core';
import { resolveBrowserSettings } from '@mlflow-kit/core/internal';
import { browserPlatform } from '../internal/browser-platform.js';
import { SummaryWriterBase, type SummaryWriterOptions } from '../internal/summary-writer-base.js';

/** Options that only shape the event files, which a page does not write. */
const EVENT_FILE_OPTIONS = ['maxQueue', 'flushSecs', 'filenameSuffix'] as const;

/**
 * `SummaryWriter` in a web page: the same methods as in Node, each logged to MLflow only (the same metrics,
 * params and artifacts). A page has no disk, so the event-file tee is Node-only: `tee: true` is a
 * {@link MlflowConfigError}, the event-file options (`maxQueue`, `flushSecs`, `filenameSuffix`) are ignored
 * with a one-time diagnostic, and `logDir` only names the run (its last segment) and the `train/`/`val/` key
 * prefixes. Tracking needs `enabled: true` and `trackingUri`, as core's `startRun` in a page, unless a run is
 * given (`run`) or active. Histogram data (`histograms/<tag>.json` and `.png`) is uploaded on `flush()` and
 * `close()`: a page has no exit to wait for.
 *
 * @example
 * ```ts
 * import { SummaryWriter } from '@mlflow-kit/tensorboard';
 *
 * const writer = new SummaryWriter({ enabled: true, trackingUri: 'http://127.0.0.1:5000', logDir: 'web-run' });
 * for (let step = 0; step < 100; step++) writer.addScalar('loss', 1 / (step + 1), step);
 * await writer.close();
 * ```
 */
export class SummaryWriter extends SummaryWriterBase {
  constructor(options: SummaryWriterOptions = {}) {
    if (options.tee === true) {
      throw new MlflowConfigError(
        'SummaryWriter in a web page: `tee: true` asks for TensorBoard event files, and a page has no disk (the event-file tee is Node-only). Remove `tee` (the page logs to MLflow only), or write event files from Node.',
        { setting: 'tee' },
      );
    }
    // A configuration mistake throws here, early, rather than inside a training loop's first write.
    if (options.enabled === true && options.run === undefined) resolveBrowserSettings(options);
    for (const option of EVENT_FILE_OPTIONS) {
      if (options[option] !== undefined) {
        diag.once(
          `@mlflow-kit/tensorboard:browser-option:${option}`,
          'warn',
          `SummaryWriter in a web page: \`${option}\` shapes TensorBoard event files, which a page does not write (the event-file tee is Node-only); it is ignored.`,
        );
      }
    }
    if (options.logDir !== undefined) {
      diag.once(
        '@mlflow-kit/tensorboard:browser-option:logDir',
        'info',
        `SummaryWriter in a web page: logDir ${options.logDir} names the MLflow run and its key prefixes only; no event files are written (the event-file tee is Node-only).`,
      );
    }
    super({ ...options, tee: false }, browserPlatform);
  }
}
