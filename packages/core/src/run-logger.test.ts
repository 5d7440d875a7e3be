import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MlflowApiError, MlflowRunDeletedError } from './errors.js';
import { RunLogger } from './run-logger.js';
import { RunSpool } from './spool.js';
import { createMemoryStore } from './testing/memory-store.js';

async function newRun() {
  const store = createMemoryStore();
  const { info } = await store.createRun({ experimentId: '0', startTime: 1, userId: 'u', tags: {} });
  return { store, runId: info.runId };
}

describe('RunLogger', () => {
  it('cuts 2500 metric points into requests of at most 1000', async () => {
    const { store, runId } = await newRun();
    const logger = new RunLogger(store, runId, { flushIntervalMs: 60_000 });
    logger.addMetrics(
      Array.from({ length: 2500 }, (_, step) => ({ key: 'loss', value: step, timestamp: 5, step })),
    );
    await logger.flush();
    expect(store.batches.map(({ batch }) => batch.metrics?.length ?? 0)).toEqual([1000, 1000, 500]);
    const history = store.runs()[0]!.history.loss!;
    expect(history.map((point) => point.step)).toEqual(Array.from({ length: 2500 }, (_, step) => step));
  });

  it('sends at most 100 params and 100 tags per request and 1000 items in all', async () => {
    const { store, runId } = await newRun();
    const logger = new RunLogger(store, runId, { flushIntervalMs: 60_000 });
    logger.addParams(Array.from({ length: 250 }, (_, i) => ({ key: `p${i}`, value: String(i) })));
    logger.addTags(Array.from({ length: 150 }, (_, i) => ({ key: `t${i}`, value: String(i) })));
    logger.addMetrics(
      Array.from({ length: 1900 }, (_, step) => ({ key: 'm', value: 1, timestamp: 1, step })),
    );
    await logger.flush();
    for (const { batch } of store.batches) {
      const params = batch.params?.length ?? 0;
      const tags = batch.tags?.length ?? 0;
      const metrics = batch.metrics?.length ?? 0;
      expect(params).toBeLessThanOrEqual(100);
      expect(tags).toBeLessThanOrEqual(100);
      expect(params + tags + metrics).toBeLessThanOrEqual(1000);
    }
    const run = store.runs()[0]!;
    expect(Object.keys(run.data.params)).toHaveLength(250);
    expect(Object.keys(run.data.tags).filter((key) => key.startsWith('t'))).toHaveLength(150);
    expect(run.history.m).toHaveLength(1900);
  });

  it('keeps requests under 1 MB when values are long', async () => {
    const { store, runId } = await newRun();
    const logger = new RunLogger(store, runId, { flushIntervalMs: 60_000 });
    logger.addTags(Array.from({ length: 100 }, (_, i) => ({ key: `t${i}`, value: 'x'.repeat(8000) })));
    logger.addParams(Array.from({ length: 100 }, (_, i) => ({ key: `p${i}`, value: 'y'.repeat(6000) })));
    await logger.flush();
    for (const { batch } of store.batches) expect(JSON.stringify(batch).length).toBeLessThan(1_000_000);
    expect(store.batches.length).toBeGreaterThan(1);
  });

  it('sends queued data on its own after the interval, without flush()', async () => {
    const { store, runId } = await newRun();
    const logger = new RunLogger(store, runId, { flushIntervalMs: 20 });
    logger.addMetrics([{ key: 'loss', value: 1, timestamp: 1, step: 0 }]);
    await expect.poll(() => store.batches.length, { timeout: 2000 }).toBe(1);
  });

  it('keeps data queued through a transport failure when there is no spool, and sends it on the next flush', async () => {
    const { store, runId } = await newRun();
    const original = store.logBatch.bind(store);
    let failing = true;
    store.logBatch = async (id, batch) => {
      if (failing) {
        throw new MlflowApiError({
          endpoint: 'POST /x',
          serverMessage: 'connection refused',
          retryable: true,
        });
      }
      return original(id, batch);
    };
    const logger = new RunLogger(store, runId, { flushIntervalMs: 60_000 });
    logger.addMetrics([{ key: 'loss', value: 1, timestamp: 1, step: 0 }]);
    await logger.flush();
    expect(logger.stats.queued).toBe(1);
    failing = false;
    await logger.flush();
    expect(logger.stats).toMatchObject({ queued: 0, sent: 1 });
    expect(store.runs()[0]!.history.loss).toHaveLength(1);
  });

  it('backs off while the server is down instead of sending on every log call', async () => {
    const { store, runId } = await newRun();
    let calls = 0;
    store.logBatch = async () => {
      calls++;
      throw new MlflowApiError({ endpoint: 'POST /x', serverMessage: 'connection refused', retryable: true });
    };
    const logger = new RunLogger(store, runId, { flushIntervalMs: 60_000 });
    for (let step = 0; step < 5000; step++) {
      logger.addMetric({ key: 'loss', value: step, timestamp: 1, step });
      // Let each failed send settle, as a training loop that awaits between batches would.
      if (step % 100 === 0) await new Promise((r) => setImmediate(r));
    }
    logger.close();
    expect(calls).toBeLessThanOrEqual(2);
    expect(logger.stats.queued).toBe(5000);
  });

  it('reports a refused batch and goes on with the rest', async () => {
    const { store, runId } = await newRun();
    const logger = new RunLogger(store, runId, { flushIntervalMs: 60_000 });
    logger.addParams([{ key: 'lr', value: '0.1' }]);
    await logger.flush();
    // The server refuses a changed param value (400): reported, not retried, and later data still goes.
    logger.addParams([{ key: 'lr', value: '0.2' }]);
    await logger.flush();
    logger.addMetrics([{ key: 'loss', value: 1, timestamp: 1, step: 0 }]);
    await logger.flush();
    expect(logger.stats).toMatchObject({ queued: 0, rejected: 1, sent: 2 });
    expect(logger.runDeleted).toBeUndefined();
  });

  it('keeps the data of a run deleted on the server in the spool, and says so once', async () => {
    const { store, runId } = await newRun();
    await store.deleteRun(runId);
    const spool = new RunSpool(mkdtempSync(join(tmpdir(), 'run-logger-deleted-')), {
      trackingUri: store.trackingUri,
      remoteRunId: runId,
      remoteExperimentId: '0',
      experimentName: 'Default',
      localRunId: runId,
      runName: 'r',
      startTime: 1,
      userId: 'u',
    });
    const logger = new RunLogger(store, runId, { flushIntervalMs: 60_000, spool });
    logger.addMetrics([{ key: 'loss', value: 1, timestamp: 1, step: 0 }]);
    await logger.flush();
    logger.addMetrics([{ key: 'loss', value: 2, timestamp: 2, step: 1 }]);
    logger.addParams([{ key: 'lr', value: '0.1' }]);
    await logger.flush();
    expect(MlflowRunDeletedError.isInstance(logger.runDeleted)).toBe(true);
    expect(logger.runDeleted?.message).toContain(`mlflow runs restore --run-id ${runId}`);
    expect(logger.stats).toMatchObject({ queued: 0, rejected: 0, sent: 0, spooled: 3, requests: 1 });
    expect(spool.points).toBe(2);
  });
});
