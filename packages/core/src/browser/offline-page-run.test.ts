// A page run started while the server does not answer, on fake-indexeddb (an in-memory IndexedDB for Node):
// the format of its items, and that the replay creates it on the server exactly once. That it works in a real
// page against the real server is proven in Chromium (test/browser/offline-start.test.ts).
import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { freshUri, itemsOf, points, unavailable } from '../__tests__/page-spool-fixtures.js';
import { newLocalRunId } from '../internal/place-run.js';
import { SOURCE_RUN_TAG } from '../internal/replay-runs.js';
import type { TrackingStore } from '../store.js';
import { createMemoryStore, type MemoryStore } from '../testing/memory-store.js';
import { IndexedDbSpool } from './indexeddb-spool.js';
import {
  openPageSpool,
  PAGE_SPOOL_DATABASE,
  type PageRunCreate,
  readRunMapping,
} from './page-spool-store.js';
import { uploadPageSpool } from './replay-page-spool.js';
import { startRun } from './start-run.js';

const CREATE: PageRunCreate = {
  experimentName: 'page-offline',
  runName: 'offline-run',
  startTime: 1_700_000_000_000,
  userId: 'ada',
  tags: { 'mlflow.source.name': 'http://127.0.0.1:8080/', team: 'ml' },
};

function offlineSpool(uri: string, localRunId = newLocalRunId()): IndexedDbSpool {
  return new IndexedDbSpool({ uri, runId: localRunId, experimentId: '', artifactUri: '', create: CREATE });
}

/** `store` with the given methods failing as a server that does not answer. */
function failing(store: MemoryStore, methods: string[], down: () => boolean = () => true): TrackingStore {
  return new Proxy(store, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== 'function') return value;
      if (methods.includes(String(property)) && down())
        return () => Promise.reject(unavailable(`[POST] ${String(property)}`));
      return (value as (...args: unknown[]) => unknown).bind(target);
    },
  }) as TrackingStore;
}

// The raw IndexedDB calls that write a version-1 database (the packages compile without the DOM library).
interface RawIndexedDb {
  open(
    name: string,
    version: number,
  ): {
    result: {
      createObjectStore(name: string, options: { keyPath: string; autoIncrement: boolean }): unknown;
      transaction(
        name: string,
        mode: 'readwrite',
      ): {
        objectStore(name: string): { add(value: unknown): unknown };
        error: unknown;
        oncomplete: (() => void) | null;
        onerror: (() => void) | null;
      };
      close(): void;
    };
    error: unknown;
    onupgradeneeded: (() => void) | null;
    onsuccess: (() => void) | null;
    onerror: (() => void) | null;
  };
}

describe('a page run started offline', () => {
  it('reads the items an earlier version of the page spool left (database version 1, no runs store)', async () => {
    // Before anything else in this file opens the spool: a version-1 database as the first release wrote it.
    const uri = freshUri();
    const store = createMemoryStore();
    const { info } = await store.createRun({ experimentId: '0', startTime: 1, userId: 'u', tags: {} });
    await new Promise<void>((resolve, reject) => {
      const request = (globalThis as unknown as { indexedDB: RawIndexedDb }).indexedDB.open(
        PAGE_SPOOL_DATABASE,
        1,
      );
      request.onupgradeneeded = () =>
        request.result.createObjectStore('items', { keyPath: 'id', autoIncrement: true });
      request.onsuccess = () => {
        const db = request.result;
        const transaction = db.transaction('items', 'readwrite');
        transaction.objectStore('items').add({
          uri,
          runId: info.runId,
          experimentId: '0',
          artifactUri: info.artifactUri,
          kind: 'batch',
          batch: points(0, 3),
        });
        transaction.oncomplete = () => {
          db.close();
          resolve();
        };
        transaction.onerror = () => reject(transaction.error);
      };
      request.onerror = () => reject(request.error);
    });
    const summary = await uploadPageSpool(store, uri);
    expect(summary).toMatchObject({ complete: true, points: 3, runs: [info.runId] });
    expect(store.runs()[0]!.history.loss).toHaveLength(3);
  });

  it('spools items that carry what the replay needs to create the run: experiment, name, start time, user, tags', async () => {
    const uri = freshUri();
    const localRunId = newLocalRunId();
    expect(localRunId).toMatch(/^[0-9a-f]{32}$/);
    const spool = offlineSpool(uri, localRunId);
    spool.writeBatch(points(0, 3));
    spool.writeEnd('KILLED', 1_700_000_000_500);
    await spool.committedAll();
    const items = await itemsOf(uri);
    expect(items.map((item) => [item.kind, item.runId, item.create])).toEqual([
      ['batch', localRunId, CREATE],
      ['end', localRunId, CREATE],
    ]);
  });

  it('is created once by the replay, in the experiment found or created by name, with its start time, name, user, tags and source tag; a second visit adds to the same run', async () => {
    const uri = freshUri();
    const store = createMemoryStore();
    const localRunId = newLocalRunId();
    const first = offlineSpool(uri, localRunId);
    first.writeBatch(points(0, 10));
    first.writeArtifact('notes/a.txt', { bytes: new TextEncoder().encode('hi') });
    await first.committedAll();
    const summary = await uploadPageSpool(store, uri);
    expect(summary.complete).toBe(true);
    expect(store.runs()).toHaveLength(1);
    const [run] = store.runs();
    expect(summary.runs).toEqual([run!.info.runId]);
    expect(run!.info).toMatchObject({ runName: 'offline-run', startTime: CREATE.startTime, userId: 'ada' });
    expect((await store.getExperiment(run!.info.experimentId)).name).toBe('page-offline');
    expect(run!.data.tags).toMatchObject({ team: 'ml', [SOURCE_RUN_TAG]: localRunId });
    expect(run!.history.loss).toHaveLength(10);
    expect(store.artifacts.get(`${run!.info.artifactUri}/notes/a.txt`)).toBeDefined();
    expect(await readRunMapping(await openPageSpool(), uri, localRunId)).toMatchObject({
      runId: run!.info.runId,
    });
    // The same run's items written later (another tab, or the page after a reload) go to that run.
    const later = offlineSpool(uri, localRunId);
    later.writeBatch(points(10, 20));
    later.writeEnd('KILLED', 1_700_000_000_900);
    expect(await later.replay(store)).toBe(run!.info.runId);
    expect(store.runs()).toHaveLength(1);
    expect(store.runs()[0]!.history.loss!.map((point) => point.step)).toEqual(
      Array.from({ length: 20 }, (_, step) => step),
    );
    expect(store.runs()[0]!.info.status).toBe('KILLED');
    expect(await itemsOf(uri)).toEqual([]);
  });

  it('finds the run its late create request made (by the source tag) instead of creating a second one', async () => {
    const uri = freshUri();
    const store = createMemoryStore();
    const localRunId = newLocalRunId();
    const experimentId = await store.createExperiment('page-offline');
    const late = await store.createRun({
      experimentId,
      startTime: CREATE.startTime,
      userId: 'ada',
      tags: { [SOURCE_RUN_TAG]: localRunId },
    });
    const spool = offlineSpool(uri, localRunId);
    spool.writeBatch(points(0, 5));
    expect(await spool.replay(store)).toBe(late.info.runId);
    expect(store.runs()).toHaveLength(1);
    expect(store.runs()[0]!.history.loss).toHaveLength(5);
  });

  it('is not replayed while its own create request is in flight (its replay waits for it); once that answers, its run is adopted and gets the data', async () => {
    const uri = freshUri();
    const store = createMemoryStore();
    const localRunId = newLocalRunId();
    const spool = offlineSpool(uri, localRunId);
    let answer!: () => void;
    const createAnswers = new Promise<void>((resolve) => {
      answer = resolve;
    });
    spool.holdReplayUntil(
      createAnswers
        .then(() => store.createRun({ experimentId: '0', startTime: 1, userId: 'u', tags: {} }))
        .then((late) => spool.adoptRemote(late.info.runId, late.info.experimentId, late.info.artifactUri)),
    );
    spool.writeBatch(points(0, 5));
    await spool.committedAll();
    let replayed: string | undefined | 'pending' = 'pending';
    const replay = spool.replay(store).then((runId) => {
      replayed = runId;
    });
    // A replay of the whole page spool in this page leaves it alone too.
    expect(await uploadPageSpool(store, uri)).toMatchObject({ complete: false, items: 0 });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(replayed).toBe('pending');
    expect(store.runs()).toEqual([]);
    answer();
    await replay;
    expect(store.runs()).toHaveLength(1);
    expect(replayed).toBe(store.runs()[0]!.info.runId);
    expect(store.runs()[0]!.history.loss).toHaveLength(5);
  });

  it('keeps its items when the experiment is deleted on the server, and says why', async () => {
    const uri = freshUri();
    const store = createMemoryStore();
    await store.deleteExperiment(await store.createExperiment('page-offline'));
    const spool = offlineSpool(uri);
    spool.writeBatch(points(0, 5));
    await spool.committedAll();
    expect(await uploadPageSpool(store, uri)).toMatchObject({ complete: false, items: 0 });
    expect(await itemsOf(uri)).toHaveLength(1);
  });

  it('startRun goes on offline past startTimeoutSeconds: training is not blocked, and the probe uploads once the server answers', async () => {
    const memory = createMemoryStore();
    let down = true;
    const store = failing(memory, ['getExperimentByName', 'createRun', 'searchExperiments'], () => down);
    const uri = freshUri();
    const started = Date.now();
    const run = await startRun({
      enabled: true,
      trackingUri: uri,
      store,
      experimentName: 'page-offline',
      runName: 'probe-run',
      startTimeoutSeconds: 0.2,
      offlineProbeIntervalSeconds: 0.1,
      flushIntervalMs: 20,
    });
    expect(Date.now() - started).toBeLessThan(2000);
    expect(run.runId).toMatch(/^[0-9a-f]{32}$/);
    for (let step = 0; step < 50; step++) run.logMetric('loss', step, { step });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(memory.runs()).toEqual([]);
    down = false;
    await expect.poll(() => memory.runs()[0]?.history.loss?.length ?? 0, { timeout: 10_000 }).toBe(50);
    await run.end();
    expect(memory.runs()).toHaveLength(1);
    expect(memory.runs()[0]!.info).toMatchObject({ runName: 'probe-run', status: 'FINISHED' });
    expect(memory.runs()[0]!.data.tags[SOURCE_RUN_TAG]).toBe(run.runId);
  });

  it('startRun still throws at once for a configuration mistake', async () => {
    const memory = createMemoryStore();
    await memory.deleteExperiment(await memory.createExperiment('gone'));
    await expect(
      startRun({ enabled: true, trackingUri: freshUri(), store: memory, experimentName: 'gone' }),
    ).rejects.toThrow(/is deleted/);
  });
});
