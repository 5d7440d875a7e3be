import { appendFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MlflowApiError } from './errors.js';
import { parseMetricLines, pythonFloat } from './internal/local-format.js';
import { LocalStore } from './local-store.js';

let dir: string;
let root: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mlflow-kit-local-unit-'));
  root = join(dir, 'mlruns');
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function newRun(store: LocalStore, experimentName = 'unit') {
  const experimentId = await store.createExperiment(experimentName);
  const record = await store.createRun({
    experimentId,
    startTime: 1_700_000_000_000,
    userId: 'tester',
    tags: {},
  });
  return { experimentId, runId: record.info.runId, runDir: join(root, experimentId, record.info.runId) };
}

describe('pythonFloat', () => {
  it('spells values as Python str(float) does, so the FileStore lines look like MLflow wrote them', () => {
    expect(pythonFloat(1)).toBe('1.0');
    expect(pythonFloat(0)).toBe('0.0');
    expect(pythonFloat(-0)).toBe('-0.0');
    expect(pythonFloat(0.5)).toBe('0.5');
    expect(pythonFloat(-2.25)).toBe('-2.25');
    expect(pythonFloat(0.0001)).toBe('0.0001');
    expect(pythonFloat(0.00001)).toBe('1e-05');
    expect(pythonFloat(1.5e-7)).toBe('1.5e-07');
    expect(pythonFloat(123456789012345.6)).toBe('123456789012345.6');
    expect(pythonFloat(1e16)).toBe('1e+16');
    expect(pythonFloat(1.7976931348623157e308)).toBe('1.7976931348623157e+308');
    expect(pythonFloat(Number.NaN)).toBe('nan');
    expect(pythonFloat(Number.POSITIVE_INFINITY)).toBe('inf');
    expect(pythonFloat(Number.NEGATIVE_INFINITY)).toBe('-inf');
    expect(pythonFloat(0.1 + 0.2)).toBe('0.30000000000000004');
  });

  it('round-trips every spelling through the line parser', () => {
    const values = [
      1,
      0.5,
      1e-5,
      1e16,
      -3.75e-300,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
    ];
    const text = values.map((value, step) => `${1000 + step} ${pythonFloat(value)} ${step}\n`).join('');
    expect(parseMetricLines('k', text).map((point) => point.value)).toEqual(values);
  });
});

describe('LocalStore files', () => {
  it('writes run meta.yaml with sorted keys, an integer status, a quoted experiment id and a non-null user', async () => {
    const store = new LocalStore(root);
    const experimentId = await store.createExperiment('meta');
    const record = await store.createRun({ experimentId, startTime: 5, userId: '', tags: {}, runName: 'r' });
    await store.updateRun(record.info.runId, { status: 'KILLED', endTime: 9 });
    const text = await readFile(join(root, experimentId, record.info.runId, 'meta.yaml'), 'utf8');
    expect(text).toBe(
      [
        `artifact_uri: ${store.trackingUri}/${experimentId}/${record.info.runId}/artifacts`,
        'end_time: 9',
        "entry_point_name: ''",
        `experiment_id: '${experimentId}'`,
        'lifecycle_stage: active',
        `run_id: ${record.info.runId}`,
        'run_name: r',
        "source_name: ''",
        'source_type: 4',
        "source_version: ''",
        'start_time: 5',
        'status: 5',
        'tags: []',
        'user_id: unknown',
        '',
      ].join('\n'),
    );
    expect(record.info.runId).toMatch(/^[0-9a-f]{32}$/);
    expect(experimentId).toMatch(/^[1-9][0-9]{17}$/);
  });

  it('creates the Default experiment 0 and the .trash folder on first use, as MLflow does', async () => {
    const store = new LocalStore(`file://${root}`);
    expect(await store.getExperiment('0')).toMatchObject({ name: 'Default', lifecycleStage: 'active' });
    expect((await readdir(root)).sort()).toEqual(['.trash', '0']);
  });

  it('writes metric lines as "<timestamp> <value> <step>" and keys with / as sub-folders', async () => {
    const store = new LocalStore(root);
    const { runId, runDir } = await newRun(store);
    await store.logBatch(runId, {
      metrics: [
        { key: 'train/loss', value: 1, timestamp: 10, step: 0 },
        { key: 'train/loss', value: Number.NaN, timestamp: 11, step: 1 },
      ],
      params: [{ key: 'a/b', value: 'c' }],
    });
    expect(await readFile(join(runDir, 'metrics', 'train', 'loss'), 'utf8')).toBe('10 1.0 0\n11 nan 1\n');
    expect(await readFile(join(runDir, 'params', 'a', 'b'), 'utf8')).toBe('c');
  });

  it('cuts off an unfinished last line left by a failed write before appending', async () => {
    const store = new LocalStore(root);
    const { runId, runDir } = await newRun(store);
    await store.logBatch(runId, { metrics: [{ key: 'm', value: 1, timestamp: 1, step: 0 }] });
    await appendFile(join(runDir, 'metrics', 'm'), '2 0.');
    expect((await store.getMetricHistory(runId, 'm')).items).toHaveLength(1);
    const fresh = new LocalStore(root);
    await fresh.logBatch(runId, { metrics: [{ key: 'm', value: 3, timestamp: 3, step: 2 }] });
    expect(await readFile(join(runDir, 'metrics', 'm'), 'utf8')).toBe('1 1.0 0\n3 3.0 2\n');
  });

  it('rejects keys that would escape the run folder, non-integer steps and writes to deleted runs', async () => {
    const store = new LocalStore(root);
    const { runId } = await newRun(store);
    const codeOf = async (promise: Promise<unknown>) => {
      try {
        await promise;
        return 'ok';
      } catch (error) {
        return MlflowApiError.isInstance(error) ? error.errorCode : String(error);
      }
    };
    expect(await codeOf(store.logBatch(runId, { params: [{ key: '../evil', value: 'x' }] }))).toBe(
      'INVALID_PARAMETER_VALUE',
    );
    expect(
      await codeOf(store.logBatch(runId, { metrics: [{ key: 'm', value: 1, timestamp: 1, step: 0.5 }] })),
    ).toBe('INVALID_PARAMETER_VALUE');
    expect(
      await codeOf(
        store.uploadArtifact((await store.getRun(runId)).info.artifactUri, '../x', {
          bytes: new Uint8Array(),
        }),
      ),
    ).toBe('INVALID_PARAMETER_VALUE');
    await store.deleteRun(runId);
    expect(await codeOf(store.logBatch(runId, { tags: [{ key: 't', value: 'v' }] }))).toBe(
      'INVALID_PARAMETER_VALUE',
    );
    expect(await codeOf(store.getRun('0123456789abcdef0123456789abcdef'))).toBe('RESOURCE_DOES_NOT_EXIST');
  });

  it('creates one experiment when many callers race for one name, the others get RESOURCE_ALREADY_EXISTS', async () => {
    const stores = Array.from({ length: 8 }, () => new LocalStore(root));
    const results = await Promise.allSettled(stores.map((store) => store.createExperiment('raced')));
    const created = results.filter((result) => result.status === 'fulfilled');
    expect(created).toHaveLength(1);
    for (const result of results) {
      if (result.status === 'rejected')
        expect((result.reason as MlflowApiError).errorCode).toBe('RESOURCE_ALREADY_EXISTS');
    }
    const page = await stores[0]!.searchExperiments({ filter: "name = 'raced'" });
    expect(page.items).toHaveLength(1);
  });

  it('breaks a lock left behind by a dead process', async () => {
    const store = new LocalStore(root);
    await store.getExperiment('0');
    await writeFile(
      join(root, '.mlflow-kit-experiments.lock'),
      `${(await import('node:os')).hostname()} 999999999\n`,
    );
    await expect(store.createExperiment('after-crash')).resolves.toMatch(/^[0-9]+$/);
  });

  it('ignores a run folder a crashed process left without meta.yaml, and leftover temp files', async () => {
    const store = new LocalStore(root);
    const { experimentId, runId, runDir } = await newRun(store);
    const half = join(root, experimentId, 'ffffffffffffffffffffffffffffffff');
    await mkdir(join(half, 'metrics'), { recursive: true });
    await writeFile(join(runDir, 'artifacts', '.x.txt.123.0123456789ab.tmp'), 'partial');
    const page = await store.searchRuns({ experimentIds: [experimentId] });
    expect(page.items.map((run) => run.info.runId)).toEqual([runId]);
    expect(await store.listArtifacts((await store.getRun(runId)).info.artifactUri)).toEqual([]);
  });
});
