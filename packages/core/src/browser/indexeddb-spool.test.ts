// The page spool's bookkeeping, on fake-indexeddb (an in-memory IndexedDB for Node): what is written, in which
// order, what a replay sends and deletes. That a real page keeps its data over a reload or a closed tab is
// proven in Chromium against the real server (test/browser/reload-spool.test.ts).
import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { freshUri, itemsOf, points, unavailable } from '../__tests__/page-spool-fixtures.js';
import type { TrackingStore } from '../store.js';
import { createMemoryStore, type MemoryStore } from '../testing/memory-store.js';
import type { LogBatch } from '../types.js';
import { IndexedDbSpool } from './indexeddb-spool.js';
import { uploadPageSpool } from './replay-page-spool.js';

async function startedRun(store: MemoryStore, uri: string): Promise<IndexedDbSpool> {
  const record = await store.createRun({ experimentId: '0', startTime: Date.now(), userId: 'u', tags: {} });
  const { runId, experimentId, artifactUri } = record.info;
  return new IndexedDbSpool({ uri, runId, experimentId, artifactUri });
}

describe('IndexedDbSpool', () => {
  it('keeps what is written before the database is open and commits it in the order written, end status last', async () => {
    const uri = freshUri();
    const spool = await startedRun(createMemoryStore(), uri);
    // Synchronous writes right after construction, while the database is still opening.
    spool.writeBatch({ params: [{ key: 'lr', value: '0.1' }] });
    spool.writeBatch(points(0, 3));
    spool.writeArtifact('notes/a.txt', { bytes: new TextEncoder().encode('hi') });
    spool.writeEnd('KILLED', 1_700_000_000_500);
    expect(spool.used).toBe(true);
    expect(spool.pending).toBe(true);
    expect(spool.points).toBe(3);
    expect(spool.items).toBe(5);
    expect(spool.endStatus).toBe('KILLED');
    await spool.committedAll();
    const items = await itemsOf(uri);
    expect(items.map((item) => item.kind)).toEqual(['batch', 'batch', 'artifact', 'end']);
    expect(items.map((item) => item.id)).toEqual([...items.map((item) => item.id)].sort((a, b) => a! - b!));
    expect(items[1]!.kind === 'batch' && items[1]!.batch.metrics?.map((point) => point.step)).toEqual([
      0, 1, 2,
    ]);
  });

  it('replays data first and the end status last, deleting each item once the store has it', async () => {
    const uri = freshUri();
    const store = createMemoryStore();
    const spool = await startedRun(store, uri);
    spool.writeBatch(points(0, 2500));
    spool.writeInputs([
      { dataset: { name: 'd', digest: 'abc', sourceType: 'code', source: '{}' }, tags: {} },
    ]);
    spool.writeEnd('KILLED', 1_700_000_000_500);
    const runId = await spool.replay(store);
    const [run] = store.runs();
    expect(runId).toBe(run!.info.runId);
    expect(run!.history.loss).toHaveLength(2500);
    expect(run!.info.status).toBe('KILLED');
    expect(spool.pending).toBe(false);
    expect(spool.pendingPoints).toBe(0);
    expect(await itemsOf(uri)).toEqual([]);
    // In requests within MLflow's limit of 1000 points.
    expect(store.batches.map(({ batch }) => batch.metrics?.length)).toEqual([1000, 1000, 500]);
  });

  it('stops at a transport failure, keeps what was not acknowledged, and the next replay sends only that', async () => {
    const uri = freshUri();
    const store = createMemoryStore();
    const spool = await startedRun(store, uri);
    spool.writeBatch(points(0, 10));
    spool.writeBatch(points(10, 20));
    spool.writeEnd('KILLED', 1_700_000_000_500);
    let calls = 0;
    const flaky = new Proxy(store, {
      get(target, property, receiver) {
        if (property === 'logBatch')
          return (runId: string, batch: LogBatch) => {
            if (++calls === 2) return Promise.reject(unavailable());
            return target.logBatch(runId, batch);
          };
        return Reflect.get(target, property, receiver);
      },
    }) as TrackingStore;
    expect(await spool.replay(flaky)).toBeUndefined();
    expect(spool.pending).toBe(true);
    // The first batch is on the server and gone from the spool; the second and the status stay.
    expect((await itemsOf(uri)).map((item) => item.kind)).toEqual(['batch', 'end']);
    expect(store.runs()[0]!.info.status).toBe('RUNNING');
    expect(await spool.replay(flaky)).toBeDefined();
    expect(store.runs()[0]!.history.loss!.map((point) => point.step)).toEqual(
      Array.from({ length: 20 }, (_, step) => step),
    );
    expect(store.runs()[0]!.info.status).toBe('KILLED');
    expect(await itemsOf(uri)).toEqual([]);
  });

  it('drops an item the server refuses (4xx), reporting it, so that it does not block the items after it', async () => {
    const uri = freshUri();
    const store = createMemoryStore();
    const spool = await startedRun(store, uri);
    spool.writeBatch({ params: [{ key: 'lr', value: '0.1' }] });
    spool.writeBatch({ params: [{ key: 'lr', value: '0.2' }] });
    spool.writeEnd('KILLED', 1_700_000_000_500);
    const summary = await uploadPageSpool(store, uri);
    expect(summary).toMatchObject({ complete: true, items: 3 });
    expect(store.runs()[0]!.data.params).toEqual({ lr: '0.1' });
    expect(store.runs()[0]!.info.status).toBe('KILLED');
  });

  it("uploads only the given server's items and leaves another server's alone", async () => {
    const uri = freshUri();
    const other = freshUri();
    const store = createMemoryStore();
    const mine = await startedRun(store, uri);
    const theirs = await startedRun(store, other);
    mine.writeBatch(points(0, 5));
    theirs.writeBatch(points(0, 7));
    await Promise.all([mine.committedAll(), theirs.committedAll()]);
    const summary = await uploadPageSpool(store, uri);
    expect(summary).toMatchObject({ complete: true, points: 5, items: 1 });
    expect(await itemsOf(uri)).toEqual([]);
    expect(await itemsOf(other)).toHaveLength(1);
  });
});
