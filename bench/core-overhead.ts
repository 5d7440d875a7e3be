import { closeStores, type Run, startRun } from '@mlflow-kit/core';

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

// A stand-in for one training step: fixed CPU work the optimiser cannot remove.
function step(work: number, seed: number): number {
  let x = seed;
  for (let i = 0; i < work; i++) x = (x * 1.000001 + 0.5) % 1000;
  return x;
}

async function timeLoop(
  run: Run | undefined,
  steps: number,
  work: number,
  metricsPerStep: number,
): Promise<number> {
  const start = process.hrtime.bigint();
  let sink = 0;
  for (let s = 0; s < steps; s++) {
    sink += step(work, s);
    if (run) for (let m = 0; m < metricsPerStep; m++) run.logMetric(`metric_${m}`, sink, { step: s });
  }
  const elapsed = Number(process.hrtime.bigint() - start) / 1e6;
  if (sink === Number.MAX_VALUE) throw new Error('unreachable');
  return elapsed;
}

/**
 * Cost of core's log calls, measured in one process against a baseline loop of the same work:
 * the per-call cost with tracking off and on (on: enqueue only, against a real server), the overhead on
 * a simulated training loop, and end-to-end throughput of points to the server.
 */
export async function benchCoreOverhead(opts: { trackingUri: string }): Promise<Record<string, number>> {
  const calls = 50_000;
  const off = await startRun({ enabled: false });
  const on = await startRun({
    enabled: true,
    trackingUri: opts.trackingUri,
    experimentName: `bench-core-${Date.now()}`,
  });

  // Per-call cost: interleave the variants and take medians, so drift affects all alike.
  const perCall: Record<'baseline' | 'off' | 'on', number[]> = { baseline: [], off: [], on: [] };
  for (let round = 0; round < 5; round++) {
    perCall.baseline.push(((await timeLoop(undefined, calls, 0, 1)) * 1e6) / calls);
    perCall.off.push(((await timeLoop(off, calls, 0, 1)) * 1e6) / calls);
    perCall.on.push(((await timeLoop(on, calls, 0, 1)) * 1e6) / calls);
    await on.flush();
  }

  // A training-like loop: 2000 steps of ~0.1 ms work, logging 5 metrics per step.
  const steps = 2000;
  const work = 20_000;
  const loop: Record<'baseline' | 'off' | 'on', number[]> = { baseline: [], off: [], on: [] };
  for (let round = 0; round < 7; round++) {
    loop.baseline.push(await timeLoop(undefined, steps, work, 5));
    loop.off.push(await timeLoop(off, steps, work, 5));
    loop.on.push(await timeLoop(on, steps, work, 5));
  }
  await on.flush();

  // End-to-end throughput: 100k points from the call to the server's acknowledgement.
  const points = 100_000;
  const throughputRun = await startRun({
    enabled: true,
    trackingUri: opts.trackingUri,
    experimentName: `bench-core-${Date.now()}`,
    nested: true,
  });
  const start = performance.now();
  for (let i = 0; i < points; i++) throughputRun.logMetric('loss', i, { step: i });
  await throughputRun.flush();
  const seconds = (performance.now() - start) / 1000;
  await throughputRun.end();
  await on.end();
  await closeStores();

  const baselineLoop = median(loop.baseline);
  return {
    'logMetric ns/call, baseline loop': median(perCall.baseline),
    'logMetric ns/call, tracking off': median(perCall.off),
    'logMetric ns/call, tracking on (enqueue)': median(perCall.on),
    'training loop ms, baseline (2000 steps)': baselineLoop,
    'training loop ratio, tracking off / baseline': median(loop.off) / baselineLoop,
    'training loop ratio, tracking on / baseline (5 metrics/step)': median(loop.on) / baselineLoop,
    'points/s to the server, end to end': points / seconds,
  };
}
