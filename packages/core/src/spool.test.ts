import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MlflowApiError } from './errors.js';
import { LocalStore } from './local-store.js';
import { RunLogger } from './run-logger.js';
import { RunSpool, resolveSpoolDir, SPOOL_SIDECAR, spoolStoreDir, syncCommand } from './spool.js';
import { createMemoryStore } from './testing/memory-store.js';

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'spool-test-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const URI = 'http://127.0.0.1:5999';

function spoolFor(dir: string, remoteRunId = 'a'.repeat(32)): RunSpool {
  return new RunSpool(dir, {
    trackingUri: URI,
    remoteRunId,
    remoteExperimentId: '7',
    experimentName: 'spooled',
    localRunId: remoteRunId,
    runName: 'quiet-owl-1',
    startTime: 1000,
    userId: 'me',
  });
}

async function downStore() {
  const store = createMemoryStore();
  const { info } = await store.createRun({ experimentId: '0', startTime: 1, userId: 'u', tags: {} });
  let calls = 0;
  store.logBatch = async () => {
    calls++;
    throw new MlflowApiError({ endpoint: 'POST /x', serverMessage: 'connection refused', retryable: true });
  };
  return { store, runId: info.runId, calls: () => calls };
}

describe('the spool', () => {
  it('lives under MLFLOW_KIT_SPOOL_DIR, else the user cache, one local store per server', () => {
    expect(resolveSpoolDir(undefined, { MLFLOW_KIT_SPOOL_DIR: '/x/spool' })).toBe('/x/spool');
    expect(resolveSpoolDir(undefined, { XDG_CACHE_HOME: '/c' })).toBe('/c/mlflow-kit/spool');
    expect(() => resolveSpoolDir(undefined, { MLFLOW_KIT_SPOOL_DIR: ' ' })).toThrow(/MLFLOW_KIT_SPOOL_DIR/);
    expect(spoolStoreDir('/s', URI)).toMatch(/^\/s\/127\.0\.0\.1_5999-[0-9a-f]{8}$/);
    expect(spoolStoreDir('/s', URI)).not.toBe(spoolStoreDir('/s', 'http://127.0.0.1:6000'));
    expect(syncCommand('/s/a b', URI)).toBe(`mlflow-kit sync '/s/a b' --to ${URI}`);
  });

  it('writes runs in the local store format that the local store reads back, with the end status', async () => {
    const dir = tempDir();
    const spool = spoolFor(dir);
    spool.writeBatch({
      metrics: [
        { key: 'loss', value: 0.5, timestamp: 10, step: 0 },
        { key: 'loss', value: Number.NaN, timestamp: 11, step: 1 },
        { key: 'acc/top1', value: 1, timestamp: 12, step: 1 },
      ],
      params: [{ key: 'lr', value: '0.1' }],
      tags: [{ key: 'note', value: 'hi' }],
    });
    spool.writeArtifact('notes/a.txt', { bytes: new TextEncoder().encode('text') });
    spool.writeEnd('KILLED', 2000);
    expect(spool.points).toBe(3);

    const local = new LocalStore(spool.storeDir);
    const run = await local.getRun('a'.repeat(32));
    expect(run.info).toMatchObject({
      experimentId: '7',
      status: 'KILLED',
      endTime: 2000,
      runName: 'quiet-owl-1',
    });
    expect(run.data.params).toEqual({ lr: '0.1' });
    expect(run.data.tags.note).toBe('hi');
    expect((await local.getMetricHistory(run.info.runId, 'loss')).items).toHaveLength(2);
    expect((await local.getExperiment('7')).name).toBe('spooled');
    expect(new TextDecoder().decode(await local.downloadArtifact(run.info.artifactUri, 'notes/a.txt'))).toBe(
      'text',
    );
    const sidecar = JSON.parse(
      readFileSync(join(spool.storeDir, '7', 'a'.repeat(32), SPOOL_SIDECAR), 'utf8'),
    );
    expect(sidecar).toMatchObject({ trackingUri: URI, remoteRunId: 'a'.repeat(32), remoteExperimentId: '7' });
  });
});

describe('RunLogger with a spool', () => {
  it('keeps a batch the server cannot take for the next attempt, and spools it with everything queued at the end', async () => {
    const { store, runId, calls } = await downStore();
    const spool = spoolFor(tempDir(), runId);
    const logger = new RunLogger(store, runId, { flushIntervalMs: 60_000, spool });
    logger.addMetrics(
      Array.from({ length: 2500 }, (_, step) => ({ key: 'loss', value: step, timestamp: 1, step })),
    );
    logger.addParams([{ key: 'lr', value: '1' }]);
    await logger.flush();
    // flush() returns at the first failure instead of hammering a server that is down.
    expect(calls()).toBe(1);
    expect(logger.stats).toMatchObject({ queued: 2501, sent: 0, spooled: 0 });
    expect(logger.undelivered).toBe(true);
    logger.spillAllSync();
    expect(logger.stats).toMatchObject({ queued: 0, spooled: 2501 });
    expect(spool.points).toBe(2500);
  });

  it('spools what is still queued when flush() runs out of time, and returns within the bound', async () => {
    const store = createMemoryStore();
    const { info } = await store.createRun({ experimentId: '0', startTime: 1, userId: 'u', tags: {} });
    store.logBatch = () => new Promise(() => undefined); // a server that never answers
    const spool = spoolFor(tempDir(), info.runId);
    const logger = new RunLogger(store, info.runId, { flushIntervalMs: 60_000, spool });
    logger.addMetrics(
      Array.from({ length: 3000 }, (_, step) => ({ key: 'loss', value: step, timestamp: 1, step })),
    );
    const started = Date.now();
    await logger.flush(200);
    expect(Date.now() - started).toBeLessThan(1000);
    // One batch is in flight, the rest in the spool; the exit path spools the one in flight too.
    expect(spool.points).toBe(2000);
    logger.spillAllSync();
    expect(spool.points).toBe(3000);
  });

  it('keeps memory bounded by spooling the oldest points past maxPendingBytes', async () => {
    const { store, runId } = await downStore();
    const spool = spoolFor(tempDir(), runId);
    const logger = new RunLogger(store, runId, {
      flushIntervalMs: 60_000,
      spool,
      maxPendingBytes: 32 * 10_000,
    });
    for (let step = 0; step < 50_000; step++)
      logger.addMetric({ key: 'loss', value: step, timestamp: 1, step });
    await new Promise((resolve) => setImmediate(resolve));
    expect(logger.stats.queued).toBeLessThanOrEqual(10_000);
    expect(spool.points + logger.stats.queued).toBeGreaterThanOrEqual(49_000);
    logger.spillAllSync();
    expect(spool.points).toBe(50_000);
  });

  it('resolves an artifact that the server cannot take once it is in the spool', async () => {
    const { store, runId } = await downStore();
    store.uploadArtifact = async () => {
      throw new MlflowApiError({ endpoint: 'PUT /a', serverMessage: 'refused', retryable: true });
    };
    const spool = spoolFor(tempDir(), runId);
    const logger = new RunLogger(store, runId, { flushIntervalMs: 60_000, spool });
    await logger.addArtifact('a/b.txt', { bytes: new Uint8Array([1, 2]) });
    const local = new LocalStore(spool.storeDir);
    const run = await local.getRun(runId);
    expect(await local.downloadArtifact(run.info.artifactUri, 'a/b.txt')).toEqual(new Uint8Array([1, 2]));
  });

  it('in offline mode writes to the spool without calling the server', async () => {
    const { store, runId, calls } = await downStore();
    const spool = spoolFor(tempDir(), runId);
    const logger = new RunLogger(store, runId, { flushIntervalMs: 60_000, spool, offline: true });
    logger.addMetrics([{ key: 'loss', value: 1, timestamp: 1, step: 0 }]);
    await logger.flush();
    expect(calls()).toBe(0);
    expect(spool.points).toBe(1);
  });
});
