import { spawnSync } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MlflowConfigError } from '../errors.js';
import { startRun } from '../start-run.js';
import { createMemoryStore, type MemoryStore } from '../testing/memory-store.js';
import { resolveSystemMetrics } from './system-metrics-settings.js';

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
const VARIABLES = [
  'MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING',
  'MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL',
  'MLFLOW_SYSTEM_METRICS_SAMPLES_BEFORE_LOGGING',
  'MLFLOW_SYSTEM_METRICS_NODE_ID',
];

let store: MemoryStore;

beforeEach(() => {
  store = createMemoryStore();
  for (const name of VARIABLES) vi.stubEnv(name, undefined);
});

afterEach(() => {
  vi.unstubAllEnvs();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('system metrics settings', () => {
  it('are off by default, and on with MLflow defaults (10 s, 1 sample) when the variable says true', () => {
    expect(resolveSystemMetrics({}, {})).toBeUndefined();
    expect(resolveSystemMetrics({}, { MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING: 'TRUE' })).toEqual({
      intervalMs: 10_000,
      samplesBeforeLogging: 1,
      nodeId: undefined,
    });
    expect(
      resolveSystemMetrics({ logSystemMetrics: false }, { MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING: 'true' }),
    ).toBeUndefined();
  });

  it('throw MlflowConfigError naming the variable for invalid values, also while off', () => {
    for (const [variable, value] of [
      ['MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING', 'yes please'],
      ['MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL', 'fast'],
      ['MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL', '-1'],
      ['MLFLOW_SYSTEM_METRICS_SAMPLES_BEFORE_LOGGING', '1.5'],
      ['MLFLOW_SYSTEM_METRICS_SAMPLES_BEFORE_LOGGING', '0'],
    ] as const) {
      expect(() => resolveSystemMetrics({}, { [variable]: value })).toThrow(MlflowConfigError);
      expect(() => resolveSystemMetrics({}, { [variable]: value })).toThrow(variable);
    }
    expect(() => resolveSystemMetrics({ systemMetricsSamplingInterval: 0 }, {})).toThrow(
      /systemMetricsSamplingInterval/,
    );
  });

  it('startRun throws the MlflowConfigError before creating a run', async () => {
    vi.stubEnv('MLFLOW_SYSTEM_METRICS_SAMPLES_BEFORE_LOGGING', 'two');
    await expect(startRun({ enabled: true, store })).rejects.toThrow(MlflowConfigError);
    expect(store.runs()).toHaveLength(0);
  });
});

describe('system metrics of a run', () => {
  it('logs every MLflow system metric at steps 0, 1, 2, ... averaging the samples, and stops at end()', async () => {
    const run = await startRun({
      enabled: true,
      store,
      flushIntervalMs: 50,
      logSystemMetrics: true,
      systemMetricsSamplingInterval: 0.05,
      systemMetricsSamplesBeforeLogging: 2,
    });
    await sleep(700);
    await run.end();
    const history = store.runs()[0]!.history;
    expect(Object.keys(history).sort()).toEqual(KEYS);
    const cpu = history['system/cpu_utilization_percentage']!;
    // 2 samples of 50 ms per point: about 7 points in 700 ms on an idle machine, fewer on a busy one.
    expect(cpu.length).toBeGreaterThanOrEqual(2);
    expect(cpu.map((point) => point.step)).toEqual(cpu.map((_, index) => index));
    for (const key of KEYS) expect(history[key]!.map((point) => point.step)).toEqual(cpu.map((p) => p.step));
    for (const point of cpu) expect(point.value).toBeGreaterThanOrEqual(0);
    for (const point of cpu) expect(point.value).toBeLessThanOrEqual(100);
    const memory = history['system/system_memory_usage_percentage']![0]!.value;
    expect(memory).toBeGreaterThan(0);
    expect(memory).toBeLessThan(100);
    expect(history['system/disk_usage_megabytes']![0]!.value).toBeGreaterThan(0);
    const count = cpu.length;
    await sleep(300);
    expect(store.runs()[0]!.history['system/cpu_utilization_percentage']).toHaveLength(count);
  });

  it('puts MLFLOW_SYSTEM_METRICS_NODE_ID into the keys', async () => {
    vi.stubEnv('MLFLOW_SYSTEM_METRICS_NODE_ID', 'node_0');
    vi.stubEnv('MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING', 'true');
    vi.stubEnv('MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL', '0.05');
    const run = await startRun({ enabled: true, store, flushIntervalMs: 50 });
    await sleep(300);
    await run.end();
    expect(Object.keys(store.runs()[0]!.history)).toContain('system/node_0/cpu_utilization_percentage');
  });

  it('logs nothing and starts no timer when off', async () => {
    const run = await startRun({ enabled: true, store, flushIntervalMs: 50 });
    await sleep(150);
    await run.end();
    expect(Object.keys(store.runs()[0]!.history)).toEqual([]);
  });

  it("never keeps the process alive: the timer is unref'd", () => {
    const here = dirname(fileURLToPath(import.meta.url));
    const script = `
      import { startRun } from ${JSON.stringify(pathToFileURL(resolve(here, '../start-run.ts')).href)};
      import { createMemoryStore } from ${JSON.stringify(pathToFileURL(resolve(here, '../testing/memory-store.ts')).href)};
      await startRun({ enabled: true, store: createMemoryStore(), logSystemMetrics: true, systemMetricsSamplingInterval: 60 });
      console.log('started');
    `;
    const tsx = pathToFileURL(resolve(here, '../../../../node_modules/tsx/dist/loader.mjs')).href;
    const started = Date.now();
    const child = spawnSync(process.execPath, ['--import', tsx, '--input-type=module', '-e', script], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(child.stdout).toContain('started');
    expect(child.status).toBe(0);
    expect(Date.now() - started).toBeLessThan(30_000);
    // A TypeScript child process takes seconds to start on a loaded machine.
  }, 60_000);
});
