// The open-run records of page runs, on fake-indexeddb and a stand-in for the Web Locks API (Node 20 has
// none): which runs the replay ends KILLED, with which end time, and which it leaves alone. A real crashed
// tab in Chromium is in test/browser/reload-spool.test.ts.
import 'fake-indexeddb/auto';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { freshUri } from '../__tests__/page-spool-fixtures.js';
import { createMemoryStore, type MemoryStore } from '../testing/memory-store.js';
import { isRunLive, markRunOpen } from './open-page-runs.js';
import { openPageSpool, readOpenRuns, writeOpenRun, writeRunMapping } from './page-spool-store.js';
import { uploadPageSpool } from './replay-page-spool.js';

/** The Web Locks API's exclusive locks within one page, as far as the records use them. */
function standInLocks(): { held: Set<string>; manager: unknown } {
  const held = new Set<string>();
  const waiting = new Map<string, (() => void)[]>();
  async function request(
    name: string,
    ...rest: [(lock: unknown) => unknown] | [{ ifAvailable: boolean }, (lock: unknown) => unknown]
  ): Promise<unknown> {
    const callback = rest.length === 1 ? rest[0] : rest[1];
    const ifAvailable = rest.length === 2 && rest[0].ifAvailable;
    if (held.has(name)) {
      if (ifAvailable) return callback(null);
      await new Promise<void>((resolve) => waiting.set(name, [...(waiting.get(name) ?? []), resolve]));
    }
    held.add(name);
    try {
      return await callback({ name });
    } finally {
      held.delete(name);
      waiting.get(name)?.shift()?.();
    }
  }
  return { held, manager: { request } };
}

let locks: ReturnType<typeof standInLocks>;
let store: MemoryStore;

beforeEach(() => {
  locks = standInLocks();
  vi.stubGlobal('navigator', { locks: locks.manager });
  store = createMemoryStore();
});

afterEach(() => {
  vi.unstubAllGlobals();
});

async function serverRun(): Promise<string> {
  const record = await store.createRun({
    experimentId: '0',
    startTime: 1_700_000_000_000,
    userId: 'u',
    tags: {},
  });
  return record.info.runId;
}

describe('open page runs', () => {
  it('a run whose page is gone (record left, lock free) is ended KILLED at the time its page was last seen', async () => {
    const uri = freshUri();
    const runId = await serverRun();
    await writeOpenRun(await openPageSpool(), {
      uri,
      runId,
      offline: false,
      startTime: 1_700_000_000_000,
      lastSeen: 1_700_000_060_000,
    });
    expect(await isRunLive(uri, runId)).toBe(false);
    const summary = await uploadPageSpool(store, uri);
    expect(summary).toMatchObject({ complete: true, killed: [runId], runs: [runId], items: 0 });
    expect((await store.getRun(runId)).info).toMatchObject({ status: 'KILLED', endTime: 1_700_000_060_000 });
    expect(await readOpenRuns(await openPageSpool(), uri)).toEqual([]);
  });

  it('a run open in a live page (its lock held) is left RUNNING, and its record goes once it ends', async () => {
    const uri = freshUri();
    const runId = await serverRun();
    const open = markRunOpen({ uri, runId, offline: false, startTime: Date.now() });
    await vi.waitFor(async () => expect(await readOpenRuns(await openPageSpool(), uri)).toHaveLength(1));
    expect(await isRunLive(uri, runId)).toBe(true);
    expect(await uploadPageSpool(store, uri)).toMatchObject({ complete: true, killed: [] });
    expect((await store.getRun(runId)).info.status).toBe('RUNNING');
    await open.close();
    expect(await readOpenRuns(await openPageSpool(), uri)).toEqual([]);
    expect(locks.held.size).toBe(0);
  });

  it('a run the server no longer shows RUNNING keeps its status; the record goes', async () => {
    const uri = freshUri();
    const runId = await serverRun();
    await store.updateRun(runId, { status: 'FINISHED', endTime: 1_700_000_001_000 });
    await writeOpenRun(await openPageSpool(), { uri, runId, offline: false, startTime: 0, lastSeen: 1 });
    expect(await uploadPageSpool(store, uri)).toMatchObject({ complete: true, killed: [] });
    expect((await store.getRun(runId)).info).toMatchObject({
      status: 'FINISHED',
      endTime: 1_700_000_001_000,
    });
    expect(await readOpenRuns(await openPageSpool(), uri)).toEqual([]);
  });

  it('a run started offline is ended through its mapping to the server run; without one nothing is created', async () => {
    const uri = freshUri();
    const db = await openPageSpool();
    const runId = await serverRun();
    await writeRunMapping(db, { uri, localRunId: 'local-1', runId, experimentId: '0', artifactUri: '' });
    await writeOpenRun(db, {
      uri,
      runId: 'local-1',
      offline: true,
      startTime: 0,
      lastSeen: 1_700_000_002_000,
    });
    await writeOpenRun(db, {
      uri,
      runId: 'local-2',
      offline: true,
      startTime: 0,
      lastSeen: 1_700_000_002_000,
    });
    const runsBefore = (await store.searchRuns({ experimentIds: ['0'] })).items.length;
    expect(await uploadPageSpool(store, uri)).toMatchObject({ complete: true, killed: [runId] });
    expect((await store.getRun(runId)).info).toMatchObject({ status: 'KILLED', endTime: 1_700_000_002_000 });
    expect((await store.searchRuns({ experimentIds: ['0'] })).items).toHaveLength(runsBefore);
    expect(await readOpenRuns(db, uri)).toEqual([]);
  });

  it('while the server does not answer, the record stays for the next visit', async () => {
    const uri = freshUri();
    const runId = await serverRun();
    await writeOpenRun(await openPageSpool(), { uri, runId, offline: false, startTime: 0, lastSeen: 1 });
    const down = createMemoryStore();
    vi.spyOn(down, 'getRun').mockRejectedValue(Object.assign(new Error('down'), { name: 'TypeError' }));
    expect(await uploadPageSpool(down, uri)).toMatchObject({ complete: false, killed: [] });
    expect(await readOpenRuns(await openPageSpool(), uri)).toHaveLength(1);
    expect(await uploadPageSpool(store, uri)).toMatchObject({ complete: true, killed: [runId] });
  });
});
