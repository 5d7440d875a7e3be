import { nodePlatform } from './internal/node-platform.js';
import { SummaryWriterBase, type SummaryWriterOptions } from './internal/summary-writer-base.js';

export type { SummaryWriterOptions };

/**
 * A torch/tensorboardX-style `SummaryWriter` in camelCase. Every method writes TensorBoard events to `logDir`
 * (queued; written in batches) and, when tracking is on, logs to MLflow: to the given run, else the active
 * run, else a run of its own created at the first write and ended by {@link SummaryWriter.close}. Steps are
 * integers (`globalStep`, default 0); `walltime` is in seconds since the epoch, as torch (default now).
 *
 * @example
 * ```ts
 * import { SummaryWriter } from '@mlflow-kit/tensorboard';
 *
 * const writer = new SummaryWriter({ logDir: 'runs/exp1', experimentName: 'demo' });
 * for (let step = 0; step < 100; step++) writer.addScalar('loss', 1 / (step + 1), step);
 * writer.addHparams({ lr: 0.01, optimizer: 'adam' }, { 'hparam/accuracy': 0.93 });
 * await writer.close();
 * ```
 */
export class SummaryWriter extends SummaryWriterBase {
  constructor(options: SummaryWriterOptions = {}) {
    super(options, nodePlatform);
  }
}
