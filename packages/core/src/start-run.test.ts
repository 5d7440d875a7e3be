import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { getActiveRun } from './context.js';
import { MlflowConfigError, MlflowValidationError } from './errors.js';
import { NOOP_RUN } from './noop-run.js';
import type { RecordingRun } from './recording-run.js';
import { startRun, withRun } from './start-run.js';
import { closedPortUri } from './testing/fault-proxy.js';
import { createMemoryStore, type MemoryStore } from './testing/memory-store.js';

let store: MemoryStore;
const on = () => ({ enabled: true, store, flushIntervalMs: 60_000 });

beforeEach(() => {
  store = createMemoryStore();
  vi.unstubAllEnvs();
  for (const name of [
    'MLFLOW_KIT_ENABLED',
    'MLFLOW_RUN_ID',
    'MLFLOW_EXPERIMENT_NAME',
    'MLFLOW_EXPERIMENT_ID',
  ])
    vi.stubEnv(name, undefined);
});

afterEach(async () => {
  for (let run = getActiveRun(); run; run = getActiveRun()) await run.end();
  vi.unstubAllEnvs();
});

describe('spool option', () => {
  it('starts offline into the spool when the server does not answer, and throws instead with spool: false', async () => {
    const spoolDir = await mkdtemp(join(tmpdir(), 'mlflow-kit-spool-option-'));
    const down = {
      enabled: true,
      trackingUri: await closedPortUri(),
      spoolDir,
      maxRetries: 0,
      startTimeoutSeconds: 5,
      exitTimeoutSeconds: 1,
      offlineProbeIntervalSeconds: 0,
    };
    try {
      const offline = await startRun(down);
      expect(offline.isRecording).toBe(true);
      await offline.end();
      await expect(startRun({ ...down, spool: false })).rejects.toMatchObject({ name: 'MlflowApiError' });
    } finally {
      await rm(spoolDir, { recursive: true, force: true });
    }
  });
});

describe('opt-in', () => {
  it('returns the no-op run when tracking is not switched on', async () => {
    expect(await startRun({ store })).toBe(NOOP_RUN);
    expect(store.runs()).toHaveLength(0);
  });

  it('is switched on by MLFLOW_KIT_ENABLED without code changes', async () => {
    vi.stubEnv('MLFLOW_KIT_ENABLED', 'yes');
    const run = await startRun({ store });
    expect(run.isRecording).toBe(true);
    await run.end();
  });

  it('lets the enabled option override the environment', async () => {
    vi.stubEnv('MLFLOW_KIT_ENABLED', '1');
    expect(await startRun({ store, enabled: false })).toBe(NOOP_RUN);
  });

  it('rejects a value of MLFLOW_KIT_ENABLED it cannot read, saying what to set', async () => {
    vi.stubEnv('MLFLOW_KIT_ENABLED', 'maybe');
    await expect(startRun({ store })).rejects.toThrow(
      new MlflowConfigError(
        'MLFLOW_KIT_ENABLED is not a boolean: set it to 1, true or yes to turn it on, or 0, false or no to turn it off.',
        { setting: 'MLFLOW_KIT_ENABLED' },
      ),
    );
  });

  it('runs the withRun callback with the no-op run when off', async () => {
    expect(await withRun({ store }, (run) => run.isRecording)).toBe(false);
  });
});

describe('startRun', () => {
  it('creates a run with MLflow default tags and makes it active', async () => {
    const run = await startRun({
      ...on(),
      runName: 'baseline',
      tags: { team: 'ml' },
      description: 'first try',
    });
    expect(getActiveRun()).toBe(run);
    const { info, data } = await store.getRun(run.runId);
    expect(info.runName).toBe('baseline');
    expect(info.status).toBe('RUNNING');
    expect(data.tags).toMatchObject({
      team: 'ml',
      'mlflow.note.content': 'first try',
      'mlflow.source.type': 'LOCAL',
      'mlflow.runName': 'baseline',
    });
    expect(data.tags['mlflow.user']).toBeTruthy();
    await run.end();
    expect(getActiveRun()).toBeUndefined();
    const ended = await store.getRun(run.runId);
    expect(ended.info.status).toBe('FINISHED');
    expect(ended.info.endTime).toBeGreaterThanOrEqual(ended.info.startTime);
  });

  it('picks the experiment by option, then MLFLOW_EXPERIMENT_NAME, then MLFLOW_EXPERIMENT_ID, then "0"', async () => {
    const byDefault = await startRun(on());
    expect(byDefault.experimentId).toBe('0');
    await byDefault.end();

    const existing = await store.createExperiment('by-id');
    vi.stubEnv('MLFLOW_EXPERIMENT_ID', existing);
    const byId = await startRun(on());
    expect(byId.experimentId).toBe(existing);
    await byId.end();

    vi.stubEnv('MLFLOW_EXPERIMENT_NAME', 'by-env-name');
    const byName = await startRun(on());
    expect((await store.getExperimentByName('by-env-name'))?.experimentId).toBe(byName.experimentId);
    await byName.end();

    const byOption = await startRun({ ...on(), experimentName: 'by-option' });
    expect((await store.getExperiment(byOption.experimentId)).name).toBe('by-option');
    await byOption.end();
  });

  it('refuses an MLFLOW_EXPERIMENT_ID that does not exist, saying what to do', async () => {
    vi.stubEnv('MLFLOW_EXPERIMENT_ID', '999');
    await expect(startRun(on())).rejects.toThrow('MLFLOW_EXPERIMENT_ID=999 names no experiment on memory:');
  });

  it('refuses a second run while one is active unless nested', async () => {
    const parent = await startRun(on());
    await expect(startRun(on())).rejects.toThrow(
      `Run ${parent.runId} is already active. To start a child run, pass \`nested: true\``,
    );
    const child = await startRun({ ...on(), nested: true });
    expect(child.parentRunId).toBe(parent.runId);
    expect(child.experimentId).toBe(parent.experimentId);
    expect((await store.getRun(child.runId)).data.tags['mlflow.parentRunId']).toBe(parent.runId);
    expect(getActiveRun()).toBe(child);
    await child.end();
    expect(getActiveRun()).toBe(parent);
    await parent.end();
  });

  it('resumes a run from MLFLOW_RUN_ID once, keeping its params', async () => {
    const first = await startRun(on());
    first.logParam('lr', 0.1);
    await first.end();
    vi.stubEnv('MLFLOW_RUN_ID', first.runId);
    const resumed = await startRun(on());
    expect(resumed.runId).toBe(first.runId);
    expect(process.env.MLFLOW_RUN_ID).toBeUndefined();
    expect((await store.getRun(first.runId)).info.status).toBe('RUNNING');
    resumed.logParam('lr', 0.1);
    expect(() => resumed.logParam('lr', 0.2)).toThrow(
      new MlflowValidationError(
        'lr',
        'Param "lr" was already logged with another value and cannot change: MLflow params are write-once. Log the new value under another key, or start a new run.',
      ),
    );
    await resumed.end();
    const other = await startRun(on());
    expect(other.runId).not.toBe(first.runId);
    await other.end();
  });
});

describe('withRun', () => {
  it('ends the run FINISHED and returns the callback result', async () => {
    let runId = '';
    const result = await withRun(on(), async (run) => {
      runId = run.runId;
      expect(getActiveRun()).toBe(run);
      run.logMetric('loss', 0.5);
      return 42;
    });
    expect(result).toBe(42);
    const { info } = await store.getRun(runId);
    expect(info.status).toBe('FINISHED');
    expect(store.runs()[0]!.history.loss).toHaveLength(1);
  });

  it('ends the run FAILED when the callback throws, and rethrows', async () => {
    let runId = '';
    await expect(
      withRun(on(), async (run) => {
        runId = run.runId;
        throw new Error('diverged');
      }),
    ).rejects.toThrow('diverged');
    expect((await store.getRun(runId)).info.status).toBe('FAILED');
  });

  it('keeps concurrent withRun calls apart', async () => {
    const seen = await Promise.all(
      [1, 2, 3].map((n) =>
        withRun(on(), async (run) => {
          await new Promise((r) => setTimeout(r, 10 * (4 - n)));
          return getActiveRun() === run;
        }),
      ),
    );
    expect(seen).toEqual([true, true, true]);
  });
});

describe('run logging', () => {
  it('queues log calls and sends them on flush', async () => {
    const run = await startRun(on());
    run.logParams({ lr: 0.01, layers: [64, 32], optimizer: 'adam' });
    run.logMetrics({ loss: 0.5, acc: Number.NaN }, { step: 3, timestamp: 1_700_000_000_000 });
    run.setTags({ stage: 'dev' });
    expect(store.batches).toHaveLength(0);
    await run.flush();
    const [record] = store.runs();
    expect(record!.data.params).toEqual({ lr: '0.01', layers: '[64,32]', optimizer: 'adam' });
    expect(record!.history.loss).toEqual([
      { key: 'loss', value: 0.5, timestamp: 1_700_000_000_000, step: 3 },
    ]);
    expect(record!.history.acc![0]!.value).toBeNaN();
    expect(record!.data.tags.stage).toBe('dev');
    await run.end();
  });

  it('stores a secret-looking param as *** and never quotes either value in the write-once error', async () => {
    const run = await startRun(on());
    run.logParam('db_password', 'hunter2');
    // Both values are stored as ***, so logging again changes nothing on the server.
    run.logParam('db_password', 'hunter3');
    run.logParam('db_url', 'postgres://u:pw1@h/db');
    expect(() => run.logParam('db_url', 'postgres://u:pw1@h/other')).toThrow(
      'Param "db_url" was already logged with another value and cannot change: MLflow params are write-once.',
    );
    await run.flush();
    expect(store.runs()[0]!.data.params).toEqual({ db_password: '***', db_url: 'postgres://***@h/db' });
    await run.end();
  });

  it('leaves nothing half-logged when one param of a set is invalid', async () => {
    const run = await startRun(on());
    expect(() => run.logParams({ good: 1, 'bad key!': 2 })).toThrow('Invalid param key "bad key!"');
    await run.flush();
    expect(store.runs()[0]!.data.params).toEqual({});
    await run.end();
  });

  it('truncates a param value over 6000 characters, as the server would', async () => {
    const run = await startRun(on());
    run.logParam('long', 'z'.repeat(7000));
    await run.flush();
    expect(store.runs()[0]!.data.params.long).toHaveLength(6000);
    await run.end();
  });

  it('writes text, dicts, YAML, tables and images as artifacts', async () => {
    const run = (await startRun(on())) as RecordingRun;
    await run.logText('hello', 'notes/readme.txt');
    await run.logDict({ a: 1, b: [1, 2] }, 'config.json');
    await run.logDict({ a: 1 }, 'config.yaml');
    await run.logTable([{ x: 1, y: 'a' }, { x: 2 }], 'tables/eval.json');
    await run.logImage({ width: 1, height: 1, data: Uint8Array.of(255, 0, 0, 255) }, 'images/red.png');
    const text = (path: string) =>
      new TextDecoder().decode(store.artifacts.get(`${run.artifactUri}/${path}`));
    expect(text('notes/readme.txt')).toBe('hello');
    expect(JSON.parse(text('config.json'))).toEqual({ a: 1, b: [1, 2] });
    expect(text('config.yaml')).toBe('a: 1\n');
    expect(JSON.parse(text('tables/eval.json'))).toEqual({
      columns: ['x', 'y'],
      data: [
        [1, 'a'],
        [2, null],
      ],
    });
    expect(store.artifacts.get(`${run.artifactUri}/images/red.png`)!.subarray(1, 4)).toEqual(
      Uint8Array.from([0x50, 0x4e, 0x47]),
    );
    await run.flush();
    expect(JSON.parse(store.runs()[0]!.data.tags['mlflow.loggedArtifacts']!)).toEqual([
      { path: 'tables/eval.json', type: 'table' },
    ]);
    await run.end();
  });

  it('writes bytes as they are, and the pixels of a 2D canvas as a PNG that decodes to them', async () => {
    const run = (await startRun(on())) as RecordingRun;
    const bytes = Uint8Array.of(0, 1, 2, 254, 255);
    await run.logBytes(bytes, 'model/group1-shard1of1.bin');
    const pixels = Uint8ClampedArray.of(255, 0, 0, 255, 0, 0, 255, 128);
    const canvas = {
      width: 2,
      height: 1,
      getContext: () => ({ getImageData: () => ({ width: 2, height: 1, data: pixels }) }),
    };
    await run.logImage(canvas, 'images/canvas.png');
    await expect(
      run.logImage({ width: 2, height: 1, getContext: () => null }, 'images/gl.png'),
    ).rejects.toThrow(/has none \(a WebGL canvas\)/);
    expect(store.artifacts.get(`${run.artifactUri}/model/group1-shard1of1.bin`)).toEqual(bytes);
    const png = store.artifacts.get(`${run.artifactUri}/images/canvas.png`)!;
    // IDAT holds the zlib stream of the one scanline: filter byte 0, then the RGBA pixels.
    const view = new DataView(png.buffer, png.byteOffset);
    const idatLength = view.getUint32(33);
    expect(new TextDecoder().decode(png.subarray(37, 41))).toBe('IDAT');
    const { inflateSync } = await import('node:zlib');
    expect([...inflateSync(png.subarray(41, 41 + idatLength))]).toEqual([0, ...pixels]);
    await run.end();
  });

  it('refuses an artifact path that leaves the run', async () => {
    const run = await startRun(on());
    await expect(run.logText('x', '../../etc/passwd')).rejects.toThrow('contains ".."');
    await run.end();
  });

  it('does nothing on a second end', async () => {
    const run = await startRun(on());
    await run.end({ status: 'KILLED' });
    await run.end();
    expect((await store.getRun(run.runId)).info.status).toBe('KILLED');
  });
});
