import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MlflowKitError } from './errors.js';
import { resolveArtifactRoot } from './internal/rest-artifacts.js';
import { RestStore } from './rest-store.js';
import { resolveSettings } from './settings.js';
import { FaultProxy, sendJson } from './testing/fault-proxy.js';

const fake = new FaultProxy();
const stores: RestStore[] = [];

function store(): RestStore {
  const created = new RestStore(resolveSettings({ trackingUri: fake.uri, maxRetries: 0 }, {}), {
    sleep: async () => {},
    registrationPollMs: 1,
  });
  stores.push(created);
  return created;
}

function bodyOf(index: number): Record<string, unknown> {
  return JSON.parse(fake.received[index]?.body.toString() ?? '{}') as Record<string, unknown>;
}

beforeAll(() => fake.start());
afterAll(() => fake.stop());
afterEach(async () => {
  fake.reset();
  await Promise.all(stores.splice(0).map((item) => item.close()));
});

describe('RestStore wire format', () => {
  it('sends NaN and ±Infinity metric values as strings, with timestamp and step', async () => {
    await store().logBatch('r1', {
      metrics: [
        { key: 'a', value: Number.NaN, timestamp: 5, step: 1 },
        { key: 'b', value: Number.POSITIVE_INFINITY, timestamp: 6, step: 2 },
        { key: 'c', value: Number.NEGATIVE_INFINITY, timestamp: 7, step: 3 },
        { key: 'd', value: 0.5, timestamp: 8, step: 0 },
      ],
      params: [{ key: 'lr', value: '0.1' }],
    });
    expect(fake.received[0]?.url).toBe('/api/2.0/mlflow/runs/log-batch');
    expect(bodyOf(0)).toEqual({
      run_id: 'r1',
      metrics: [
        { key: 'a', value: 'NaN', timestamp: 5, step: 1 },
        { key: 'b', value: 'Infinity', timestamp: 6, step: 2 },
        { key: 'c', value: '-Infinity', timestamp: 7, step: 3 },
        { key: 'd', value: 0.5, timestamp: 8, step: 0 },
      ],
      params: [{ key: 'lr', value: '0.1' }],
      tags: [],
    });
  });

  it('always sends start_time on create-run and max_results on searches and metric history', async () => {
    fake.handler = (_req, res) => sendJson(res, 200, {});
    const rest = store();
    await rest.createRun({ experimentId: '3', startTime: 1234, userId: 'u', tags: { t: 'v' } });
    await rest.searchRuns({ experimentIds: ['3'] });
    await rest.searchExperiments();
    await rest.getMetricHistory('r', 'loss');
    expect(bodyOf(0)).toEqual({
      experiment_id: '3',
      start_time: 1234,
      user_id: 'u',
      tags: [{ key: 't', value: 'v' }],
    });
    expect(bodyOf(1)).toMatchObject({ experiment_ids: ['3'], max_results: 1000 });
    expect(bodyOf(2)).toMatchObject({ max_results: 1000 });
    expect(fake.received[3]?.url).toBe(
      '/api/2.0/mlflow/metrics/get-history?run_id=r&metric_key=loss&max_results=25000',
    );
  });

  it('reads numbers sent as strings, NaN and infinities as strings, and missing arrays as empty', async () => {
    fake.handler = (req, res) => {
      if (req.url.startsWith('/api/2.0/mlflow/runs/get')) {
        sendJson(res, 200, {
          run: {
            info: {
              run_id: 'r',
              experiment_id: '7',
              status: 'FINISHED',
              start_time: '1700000000000',
              end_time: '1700000001000',
              lifecycle_stage: 'active',
            },
            data: {
              metrics: [
                { key: 'n', value: 'NaN', timestamp: '1', step: '2' },
                { key: 'i', value: '-Infinity' },
              ],
            },
          },
        });
      } else {
        sendJson(res, 200, { metrics: [{ key: 'n', value: 'Infinity', timestamp: '10', step: '3' }] });
      }
    };
    const rest = store();
    const run = await rest.getRun('r');
    expect(run.info).toMatchObject({
      runId: 'r',
      experimentId: '7',
      startTime: 1700000000000,
      endTime: 1700000001000,
      status: 'FINISHED',
    });
    expect(Number.isNaN(run.data.metrics.n)).toBe(true);
    expect(run.data.metrics.i).toBe(Number.NEGATIVE_INFINITY);
    expect(run.data.params).toEqual({});
    expect(run.data.tags).toEqual({});
    const history = await rest.getMetricHistory('r', 'n');
    expect(history).toEqual({
      items: [{ key: 'n', value: Number.POSITIVE_INFINITY, timestamp: 10, step: 3 }],
      nextPageToken: undefined,
    });
  });

  it('answers undefined for an unknown experiment name, and fails for other errors', async () => {
    fake.handler = (_req, res, attempt) =>
      attempt === 1
        ? sendJson(res, 404, {
            error_code: 'RESOURCE_DOES_NOT_EXIST',
            message: "Could not find experiment with name 'x'",
          })
        : sendJson(res, 403, { error_code: 'PERMISSION_DENIED', message: 'no' });
    const rest = store();
    expect(await rest.getExperimentByName('x')).toBeUndefined();
    expect(fake.received[0]?.url).toBe('/api/2.0/mlflow/experiments/get-by-name?experiment_name=x');
    await expect(rest.getExperimentByName('x')).rejects.toMatchObject({ errorCode: 'PERMISSION_DENIED' });
  });

  it('links runs to the UI', () => {
    expect(store().runUrl('3', 'abc')).toBe(`${fake.uri}/#/experiments/3/runs/abc`);
  });
});

describe('RestStore artifacts', () => {
  it('maps artifact roots to the proxied artifact API, and refuses schemes it cannot write', () => {
    expect(resolveArtifactRoot('mlflow-artifacts:/3/abc/artifacts', 'http://h:5000/prefix')).toEqual({
      kind: 'http',
      url: 'http://h:5000/prefix/api/2.0/mlflow-artifacts/artifacts/3/abc/artifacts',
    });
    expect(resolveArtifactRoot('mlflow-artifacts://other:8080/3/abc', 'https://h')).toEqual({
      kind: 'http',
      url: 'https://other:8080/api/2.0/mlflow-artifacts/artifacts/3/abc',
    });
    expect(resolveArtifactRoot('http://a:1/api/2.0/mlflow-artifacts/artifacts/1/r/', 'http://h')).toEqual({
      kind: 'http',
      url: 'http://a:1/api/2.0/mlflow-artifacts/artifacts/1/r',
    });
    expect(resolveArtifactRoot('file:///srv/mlruns/1/r/artifacts', 'http://h')).toEqual({
      kind: 'file',
      path: '/srv/mlruns/1/r/artifacts',
    });
    expect(() => resolveArtifactRoot('s3://bucket/1/r/artifacts', 'http://h')).toThrow(/--serve-artifacts/);
    expect(() => resolveArtifactRoot('s3://bucket/1/r/artifacts', 'http://h')).toThrow(MlflowKitError);
  });

  it('PUTs raw bytes with a guessed content type to URL-encoded paths', async () => {
    await store().uploadArtifact('mlflow-artifacts:/1/r/artifacts', 'plots/loss curve#1.png', {
      bytes: new Uint8Array([1, 2, 3]),
    });
    const [request] = fake.received;
    expect(request?.method).toBe('PUT');
    expect(request?.url).toBe('/api/2.0/mlflow-artifacts/artifacts/1/r/artifacts/plots/loss%20curve%231.png');
    expect(request?.headers['content-type']).toBe('image/png');
    expect([...(request?.body ?? [])]).toEqual([1, 2, 3]);
  });

  it('streams a file source', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rest-store-test-'));
    try {
      const file = join(dir, 'big.bin');
      const bytes = Buffer.alloc(3 * 1024 * 1024, 7);
      await writeFile(file, bytes);
      await store().uploadArtifact('mlflow-artifacts:/1/r/artifacts', 'weights/big.bin', { file });
      expect(fake.received[0]?.headers['content-type']).toBe('application/octet-stream');
      expect(fake.received[0]?.headers['content-length']).toBe(String(bytes.length));
      expect(fake.received[0]?.body.equals(bytes)).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('lists through ?path= and turns basenames into paths relative to the artifact root', async () => {
    fake.handler = (_req, res) =>
      sendJson(res, 200, {
        files: [
          { path: 'b.txt', is_dir: false, file_size: '12' },
          { path: 'sub', is_dir: true },
        ],
      });
    const files = await store().listArtifacts('mlflow-artifacts:/1/r/artifacts', 'dir');
    expect(fake.received[0]?.url).toBe('/api/2.0/mlflow-artifacts/artifacts?path=1%2Fr%2Fartifacts%2Fdir');
    expect(files).toEqual([
      { path: 'dir/b.txt', isDir: false, fileSize: 12 },
      { path: 'dir/sub', isDir: true, fileSize: undefined },
    ]);
  });

  it('reads and writes file:// artifact roots directly on disk', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rest-store-file-'));
    try {
      const root = pathToFileURL(join(dir, '1', 'r', 'artifacts')).href;
      const rest = store();
      await rest.uploadArtifact(root, 'a/b.txt', { bytes: new TextEncoder().encode('hi') });
      expect(await readFile(join(dir, '1', 'r', 'artifacts', 'a', 'b.txt'), 'utf8')).toBe('hi');
      expect(await rest.listArtifacts(root)).toEqual([{ path: 'a', isDir: true }]);
      expect(await rest.listArtifacts(root, 'a')).toEqual([{ path: 'a/b.txt', isDir: false, fileSize: 2 }]);
      expect(new TextDecoder().decode(await rest.downloadArtifact(root, 'a/b.txt'))).toBe('hi');
      await expect(rest.uploadArtifact(root, '../escape.txt', { bytes: new Uint8Array() })).rejects.toThrow(
        /inside the artifact root/,
      );
      expect(fake.received).toHaveLength(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('RestStore registry', () => {
  it('waits for a PENDING_REGISTRATION model version to become READY', async () => {
    fake.handler = (req, res, attempt) => {
      const status = attempt < 3 ? 'PENDING_REGISTRATION' : 'READY';
      sendJson(res, 200, { model_version: { name: 'm', version: 1, source: 's', status } });
      if (attempt > 1) expect(req.url).toBe('/api/2.0/mlflow/model-versions/get?name=m&version=1');
    };
    const version = await store().registry.createModelVersion({ name: 'm', source: 's' });
    expect(version).toMatchObject({ name: 'm', version: '1', status: 'READY' });
    expect(fake.received).toHaveLength(3);
  });

  it('fails clearly when registration fails', async () => {
    fake.handler = (_req, res) =>
      sendJson(res, 200, {
        model_version: {
          name: 'm',
          version: '2',
          status: 'FAILED_REGISTRATION',
          status_message: 'copy failed',
        },
      });
    await expect(store().registry.createModelVersion({ name: 'm', source: 's' })).rejects.toThrow(
      /m\/2 failed to register: copy failed/,
    );
  });
});
