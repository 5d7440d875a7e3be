import { closeStores, startRun, withRun } from '@mlflow-kit/core';
import { afterAll, describe, expect, it } from 'vitest';
import { python, trackingUri, uniqueName } from '../helpers/python.js';

afterAll(async () => {
  await closeStores();
});

const KEYS = [
  'system/cpu_utilization_percentage',
  'system/disk_available_megabytes',
  'system/disk_usage_megabytes',
  'system/disk_usage_percentage',
  'system/network_receive_megabytes',
  'system/network_transmit_megabytes',
  'system/system_memory_usage_megabytes',
  'system/system_memory_usage_percentage',
];

/** Each system metric's history as the official client reads it: [[step, value], ...]. */
function readSystemMetrics(runId: string): Promise<Record<string, [number, number][]>> {
  return python(`
import json
from mlflow import MlflowClient
c = MlflowClient()
r = c.get_run("${runId}")
print(json.dumps({k: [[m.step, m.value] for m in sorted(c.get_metric_history("${runId}", k), key=lambda m: m.step)]
  for k in r.data.metrics if k.startswith("system/")}))
`);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('system metrics against a real MLflow server, read back by the Python client', () => {
  it('logSystemMetrics: every MLflow system metric, steps 0, 1, 2, ... with plausible values', async () => {
    const run = await startRun({
      enabled: true,
      trackingUri: trackingUri(),
      experimentName: uniqueName('system-metrics'),
      logSystemMetrics: true,
      systemMetricsSamplingInterval: 0.2,
      flushIntervalMs: 100,
    });
    await sleep(1500);
    await run.end();
    const read = await readSystemMetrics(run.runId);
    expect(Object.keys(read).sort()).toEqual(KEYS);
    const cpu = read['system/cpu_utilization_percentage']!;
    expect(cpu.length).toBeGreaterThanOrEqual(3);
    expect(cpu.map(([step]) => step)).toEqual(cpu.map((_, index) => index));
    for (const [, value] of cpu) expect(value).toBeGreaterThanOrEqual(0);
    for (const [, value] of cpu) expect(value).toBeLessThanOrEqual(100);
    for (const [, value] of read['system/system_memory_usage_megabytes']!) expect(value).toBeGreaterThan(10);
    for (const [, value] of read['system/disk_usage_percentage']!) expect(value).toBeGreaterThan(0);
  }, 60_000);

  it('MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING and MLFLOW_SYSTEM_METRICS_SAMPLES_BEFORE_LOGGING, through withRun', async () => {
    process.env.MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING = 'true';
    process.env.MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL = '0.1';
    process.env.MLFLOW_SYSTEM_METRICS_SAMPLES_BEFORE_LOGGING = '5';
    let runId = '';
    try {
      await withRun(
        { enabled: true, trackingUri: trackingUri(), experimentName: uniqueName('system-env') },
        async (run) => {
          runId = run.runId;
          await sleep(1400);
        },
      );
    } finally {
      delete process.env.MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING;
      delete process.env.MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL;
      delete process.env.MLFLOW_SYSTEM_METRICS_SAMPLES_BEFORE_LOGGING;
    }
    const cpu = (await readSystemMetrics(runId))['system/cpu_utilization_percentage']!;
    // One point per 5 samples of 100 ms: at most 2 points in 1.4 s, not 14.
    expect(cpu.length).toBeGreaterThanOrEqual(1);
    expect(cpu.length).toBeLessThanOrEqual(2);
  }, 60_000);

  it('a resumed run goes on after its last system step', async () => {
    const options = {
      enabled: true,
      trackingUri: trackingUri(),
      experimentName: uniqueName('system-resume'),
      logSystemMetrics: true,
      systemMetricsSamplingInterval: 0.2,
      flushIntervalMs: 100,
    };
    const first = await startRun(options);
    await sleep(700);
    await first.end();
    const before = (await readSystemMetrics(first.runId))['system/cpu_utilization_percentage']!.length;
    const resumed = await startRun({ ...options, runId: first.runId });
    await sleep(700);
    await resumed.end();
    const steps = (await readSystemMetrics(first.runId))['system/cpu_utilization_percentage']!.map(
      ([step]) => step,
    );
    expect(steps.length).toBeGreaterThan(before);
    expect(steps).toEqual(steps.map((_, index) => index));
  }, 60_000);
});
