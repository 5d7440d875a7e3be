// The page lifecycle of page runs, with the page's event targets stood in by plain EventTargets and IndexedDB
// by fake-indexeddb: which events spool, which end the run, and that tracking off listens to nothing. The
// browser itself is exercised in test/browser/reload-spool.test.ts.
import 'fake-indexeddb/auto';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { contextState } from '../context.js';
import type { RecordingRun } from '../recording-run.js';
import { createMemoryStore, type MemoryStore } from '../testing/memory-store.js';
import { uploadPageSpool } from './replay-page-spool.js';
import { startRun } from './start-run.js';

let listeners: Set<string>;
let page: EventTarget;
let document: EventTarget & { visibilityState: string };

function fakeTarget<T extends EventTarget>(target: T, name: string): T {
  const add = target.addEventListener.bind(target);
  const remove = target.removeEventListener.bind(target);
  return Object.assign(target, {
    addEventListener: (type: string, listener: (event: Event) => void) => {
      listeners.add(`${name}:${type}`);
      add(type, listener);
    },
    removeEventListener: (type: string, listener: (event: Event) => void) => {
      listeners.delete(`${name}:${type}`);
      remove(type, listener);
    },
  });
}

beforeEach(() => {
  listeners = new Set();
  page = fakeTarget(new EventTarget(), 'window');
  document = fakeTarget(Object.assign(new EventTarget(), { visibilityState: 'visible' }), 'document');
  vi.stubGlobal('addEventListener', page.addEventListener);
  vi.stubGlobal('removeEventListener', page.removeEventListener);
  vi.stubGlobal('document', document);
});

afterEach(() => {
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

const options = (store: MemoryStore) => ({
  enabled: true,
  trackingUri: 'http://127.0.0.1:5999',
  store,
  flushIntervalMs: 60_000,
});

function pagehide(persisted: boolean): void {
  page.dispatchEvent(Object.assign(new Event('pagehide'), { persisted }));
}

function hide(): void {
  document.visibilityState = 'hidden';
  document.dispatchEvent(new Event('visibilitychange'));
}

describe('page runs and the page lifecycle', () => {
  it('with tracking off, listens to no page event and opens no IndexedDB', async () => {
    const open = vi.spyOn(
      (globalThis as unknown as { indexedDB: { open: () => unknown } }).indexedDB,
      'open',
    );
    const run = await startRun({ trackingUri: 'http://127.0.0.1:5999' });
    run.logMetric('loss', 1);
    await run.end();
    expect(listeners.size).toBe(0);
    expect(open).not.toHaveBeenCalled();
  });

  it('spools what is queued when the page is hidden, without ending the run, which ends FINISHED with every point', async () => {
    const store = createMemoryStore();
    const run = (await startRun(options(store))) as RecordingRun;
    expect(listeners).toEqual(new Set(['window:pagehide', 'document:visibilitychange']));
    for (let step = 0; step < 50; step++) run.logMetric('loss', step, { step });
    hide();
    expect(run.isEnded).toBe(false);
    expect(run.stats.spooled).toBe(50);
    for (let step = 50; step < 60; step++) run.logMetric('loss', step, { step });
    await run.end();
    const [record] = store.runs();
    expect(record!.info.status).toBe('FINISHED');
    // The spooled points reach the server after the later ones: every one, once.
    expect(record!.history.loss!.map((point) => point.step).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 60 }, (_, i) => i),
    );
    // The run has ended: nothing listens any more.
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(listeners.size).toBe(0);
  });

  it('on pagehide into the back/forward cache, spools and goes on; on pagehide for good, spools KILLED after the data', async () => {
    const store = createMemoryStore();
    const run = (await startRun(options(store))) as RecordingRun;
    run.logMetric('loss', 1, { step: 1 });
    pagehide(true);
    expect(run.isEnded).toBe(false);
    run.logMetric('loss', 2, { step: 2 });
    pagehide(false);
    expect(run.isEnded).toBe(true);
    expect(run.stats.spooled).toBe(2);
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(listeners.size).toBe(0);
    // The server has not seen the status: the next visit's replay applies it after the data.
    expect(store.runs()[0]!.info.status).toBe('RUNNING');
    // The next visit (what a page run does when it starts).
    expect(await uploadPageSpool(store, 'http://127.0.0.1:5999')).toMatchObject({
      complete: true,
      points: 2,
    });
    expect(store.runs()[0]!.info.status).toBe('KILLED');
    expect(store.runs()[0]!.history.loss!.map((point) => point.step)).toEqual([1, 2]);
    // A page that went away leaves its run on the stack; this test's realm goes on, so it is taken off.
    contextState().stack.length = 0;
    contextState().open.clear();
  });
});
