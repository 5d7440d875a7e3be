import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { summaryFileWriter } from '@mlflow-kit/tensorboard';
import { loadTfjsNode } from '@mlflow-kit/test-support/tfjs-node';
import * as tfjs from '@tensorflow/tfjs';

interface Writer {
  scalar(name: string, value: number, step: number): void;
  histogram(name: string, data: tfjs.Tensor, step: number): void;
  flush(): unknown;
}
type TfNode = typeof tfjs & { node: { summaryFileWriter(logdir: string): Writer } };

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

/** Microseconds per call of `call`, the median of 5 rounds of `calls` calls. */
function microsPerCall(calls: number, call: (step: number) => void): number {
  const rounds: number[] = [];
  for (let round = 0; round < 5; round++) {
    const start = process.hrtime.bigint();
    for (let step = 0; step < calls; step++) call(round * calls + step);
    rounds.push(Number(process.hrtime.bigint() - start) / 1e3 / calls);
  }
  return median(rounds);
}

/**
 * Cost of a `scalar` and a `histogram` (1000 values) call of `summaryFileWriter`: ours with tracking off (event
 * files only), ours teeing to a real MLflow server, and tfjs-node's native writer when it loads here (then also
 * the ratio tfjs-node µs / ours µs: above 1 means ours is faster). Flushes are part of the measured loop.
 */
export async function benchTensorboard(opts: { trackingUri: string }): Promise<Record<string, number>> {
  const dir = mkdtempSync(join(tmpdir(), 'mlflow-kit-bench-tb-'));
  const { tf: tfnode, problem } = loadTfjsNode<TfNode>();
  const tf = tfnode ?? tfjs;
  await tf.ready();
  const data = tf.randomNormal([1000]);
  const scalars = 20_000;
  const histograms = 500;
  const results: Record<string, number> = {};
  try {
    const off = summaryFileWriter(join(dir, 'off'), 10, 120_000, '.v2', { enabled: false });
    results['ours scalar µs/call (tracking off)'] = microsPerCall(scalars, (s) =>
      off.scalar('loss', s * 1e-3, s),
    );
    results['ours histogram µs/call (tracking off)'] = microsPerCall(histograms, (s) =>
      off.histogram('w', data, s),
    );
    await off.flush();
    const on = summaryFileWriter(join(dir, 'on'), 10, 120_000, '.v2', {
      enabled: true,
      trackingUri: opts.trackingUri,
      experimentName: `bench-tensorboard-${Date.now()}`,
    });
    on.scalar('warmup', 0, 0);
    await on.flush();
    results['ours scalar µs/call (tee + MLflow)'] = microsPerCall(scalars, (s) =>
      on.scalar('loss', s * 1e-3, s),
    );
    results['ours histogram µs/call (tee + MLflow)'] = microsPerCall(histograms, (s) =>
      on.histogram('w', data, s),
    );
    const flushStart = process.hrtime.bigint();
    await on.flush();
    results['ours MLflow flush after the loops, ms'] = Number(process.hrtime.bigint() - flushStart) / 1e6;
    results['ours scalar calls/s (tracking off)'] =
      1e6 / (results['ours scalar µs/call (tracking off)'] as number);
    results['ours histogram calls/s (tracking off)'] =
      1e6 / (results['ours histogram µs/call (tracking off)'] as number);
    if (tfnode) {
      const native = tfnode.node.summaryFileWriter(join(dir, 'native'));
      results['tfjs-node scalar µs/call'] = microsPerCall(scalars, (s) => native.scalar('loss', s * 1e-3, s));
      results['tfjs-node histogram µs/call'] = microsPerCall(histograms, (s) =>
        native.histogram('w', data, s),
      );
      native.flush();
      results['tfjs-node scalar calls/s'] = 1e6 / (results['tfjs-node scalar µs/call'] as number);
      results['tfjs-node histogram calls/s'] = 1e6 / (results['tfjs-node histogram µs/call'] as number);
      for (const call of ['scalar', 'histogram']) {
        for (const mode of ['tracking off', 'tee + MLflow']) {
          results[`ratio ${call} tfjs-node/ours (${mode})`] =
            (results[`tfjs-node ${call} µs/call`] as number) /
            (results[`ours ${call} µs/call (${mode})`] as number);
        }
      }
    } else {
      process.stderr.write(
        `tensorboard bench: @tensorflow/tfjs-node cannot be loaded here (${problem}); no native comparison (build it with \`pnpm setup:tfjs-node\`).\n`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return results;
}
