import type { DatasetInput, LogBatch, RunStatus } from '../types.js';

/**
 * The IndexedDB database that holds the page spool of an origin (one per origin, as IndexedDB is): the object
 * store `items`, whose records are the undeliverable data of page runs in the order they were written, and
 * `runs`, which maps the local id of a run started offline to the run the replay made for it on the server,
 * and `open`, one record for each page run still open (see {@link PageOpenRun}).
 */
export const PAGE_SPOOL_DATABASE = 'mlflow-kit-spool';

const ITEMS = 'items';
const RUNS = 'runs';
const OPEN = 'open';
// Version 1 had `items` only; its items (no `create`) are read as they are. Version 3 added `open`.
const VERSION = 3;

/**
 * What the replay needs to create a run that a page started offline (the server did not answer in time),
 * carried by each of its items, so any one of them suffices.
 */
export interface PageRunCreate {
  /** The experiment's name, found or created by the replay (when the page did not name an id). */
  experimentName?: string;
  /** The experiment's id, when the page named one. */
  experimentId?: string;
  /** The run's name; the server picks one when absent. */
  runName?: string;
  /** When the run started in the page (ms since the epoch). */
  startTime: number;
  /** The run's user. */
  userId: string;
  /** The run's tags (the parent's id among them), without the source tag, which the replay adds. */
  tags: Record<string, string>;
}

/** Where a spooled item belongs: the server (no credentials) and the run's id there. */
export interface PageSpoolTarget {
  /** The tracking server, without credentials. */
  uri: string;
  /** Id of the run on that server; for a run started offline (with `create`), its local id. */
  runId: string;
  /** Id of the run's experiment on that server (empty for a run started offline). */
  experimentId: string;
  /** Artifact root of the run, for spooled artifacts (empty for a run started offline). */
  artifactUri: string;
  /** For a run started offline: how the replay creates it (absent in items of version 1). */
  create?: PageRunCreate;
}

/** The server's run made (or found) for a run started offline in a page: a record of the `runs` store. */
export interface PageRunMapping {
  /** The tracking server, without credentials. */
  uri: string;
  /** The run's local id. */
  localRunId: string;
  /** The run's id on the server. */
  runId: string;
  /** Its experiment's id on the server. */
  experimentId: string;
  /** Its artifact root. */
  artifactUri: string;
}

/**
 * A page run that is open, recorded when it starts and deleted once its end status is on the server or in
 * the spool: a record left behind by a page that is gone (a crashed tab, or one closed before its last
 * IndexedDB write committed) tells the next visit to end the run `KILLED` on the server.
 */
export interface PageOpenRun {
  /** The tracking server, without credentials. */
  uri: string;
  /** The run's id on that server, or its local id for a run started offline. */
  runId: string;
  /** Whether the run started offline (`runId` is local; the `runs` store maps it once it is created). */
  offline: boolean;
  /** When the run started (ms since the epoch). */
  startTime: number;
  /** When the page was last seen alive with the run open (ms since the epoch): the end time it gets. */
  lastSeen: number;
}

/** One record of the page spool: a batch, an artifact, dataset inputs, or the run's end status. */
export type PageSpoolItem = PageSpoolTarget & { id?: number } & (
    | { kind: 'batch'; batch: LogBatch }
    | { kind: 'artifact'; path: string; bytes: Uint8Array }
    | { kind: 'inputs'; datasets: DatasetInput[] }
    | { kind: 'end'; status: RunStatus; endTime: number }
  );

// The parts of IndexedDB used here, typed locally: the packages compile without the DOM library.
interface IdbRequest<T> {
  readonly result: T;
  readonly error: unknown;
  onsuccess: (() => void) | null;
  onerror: (() => void) | null;
}
interface IdbOpenRequest extends IdbRequest<IDBDatabase> {
  onupgradeneeded: (() => void) | null;
}
interface IdbObjectStore {
  add(value: unknown): unknown;
  delete(key: number | string): unknown;
  getAll(query?: unknown, count?: number): IdbRequest<unknown[]>;
  get(key: string): IdbRequest<unknown>;
  put(value: unknown): unknown;
}
/** An IndexedDB transaction, as the page spool uses it. */
export interface IDBTransaction {
  readonly error: unknown;
  objectStore(name: string): IdbObjectStore;
  commit?(): void;
  oncomplete: (() => void) | null;
  onabort: (() => void) | null;
  onerror: (() => void) | null;
}
/** An open IndexedDB database, as the page spool uses it. */
export interface IDBDatabase {
  transaction(store: string, mode: 'readonly' | 'readwrite'): IDBTransaction;
  close(): void;
  createObjectStore(name: string, options: { keyPath: string; autoIncrement?: boolean }): unknown;
  readonly objectStoreNames: { contains(name: string): boolean };
  onversionchange: (() => void) | null;
}
interface IdbFactory {
  open(name: string, version: number): IdbOpenRequest;
}
interface IdbKeyRangeStatic {
  lowerBound(bound: number, open: boolean): unknown;
}

let opening: Promise<IDBDatabase> | undefined;

/** Opens (once per page) the page spool database, creating it on the first use. */
export function openPageSpool(): Promise<IDBDatabase> {
  opening ??= new Promise<IDBDatabase>((resolve, reject) => {
    const factory = (globalThis as { indexedDB?: IdbFactory }).indexedDB;
    if (!factory) {
      reject(new Error('this page has no IndexedDB'));
      return;
    }
    const request = factory.open(PAGE_SPOOL_DATABASE, VERSION);
    request.onupgradeneeded = () => {
      const db = request.result;
      if (!db.objectStoreNames.contains(ITEMS))
        db.createObjectStore(ITEMS, { keyPath: 'id', autoIncrement: true });
      if (!db.objectStoreNames.contains(RUNS)) db.createObjectStore(RUNS, { keyPath: 'key' });
      if (!db.objectStoreNames.contains(OPEN)) db.createObjectStore(OPEN, { keyPath: 'key' });
    };
    request.onsuccess = () => {
      const db = request.result;
      // A newer version opened in another tab: let it upgrade; the next use here opens again.
      db.onversionchange = () => {
        db.close();
        opening = undefined;
      };
      resolve(db);
    };
    request.onerror = () => reject(request.error ?? new Error(`could not open ${PAGE_SPOOL_DATABASE}`));
  });
  opening.catch(() => {
    opening = undefined;
  });
  return opening;
}

/**
 * Starts a transaction that appends `items` at once (synchronously, so that it is under way before a
 * `pagehide` handler returns) and returns it; `id`s are assigned in the order written.
 */
export function appendItems(db: IDBDatabase, items: PageSpoolItem[]): IDBTransaction {
  const transaction = db.transaction(ITEMS, 'readwrite');
  const store = transaction.objectStore(ITEMS);
  for (const item of items) store.add(item);
  return transaction;
}

/** Resolves when `transaction` commits; rejects when it aborts. */
export function committed(transaction: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    transaction.oncomplete = () => resolve();
    transaction.onabort = () => reject(transaction.error ?? new Error('IndexedDB transaction aborted'));
    transaction.onerror = () => reject(transaction.error ?? new Error('IndexedDB transaction failed'));
  });
}

function asPromise<T>(request: IdbRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error ?? new Error('IndexedDB request failed'));
  });
}

/** Up to `count` items with an id above `afterId`, oldest first. */
export function readItems(db: IDBDatabase, afterId: number, count: number): Promise<PageSpoolItem[]> {
  const store = db.transaction(ITEMS, 'readonly').objectStore(ITEMS);
  const range = (globalThis as unknown as { IDBKeyRange: IdbKeyRangeStatic }).IDBKeyRange;
  return asPromise(store.getAll(range.lowerBound(afterId, true), count)) as Promise<PageSpoolItem[]>;
}

/** Deletes one item, once the server has acknowledged it. */
export function deleteItem(db: IDBDatabase, id: number): Promise<void> {
  const transaction = db.transaction(ITEMS, 'readwrite');
  transaction.objectStore(ITEMS).delete(id);
  return committed(transaction);
}

const mappingKey = (uri: string, localRunId: string): string => `${uri} ${localRunId}`;

/** The server's run recorded for the local run `localRunId` of `uri`, if the replay made or found one. */
export async function readRunMapping(
  db: IDBDatabase,
  uri: string,
  localRunId: string,
): Promise<PageRunMapping | undefined> {
  const store = db.transaction(RUNS, 'readonly').objectStore(RUNS);
  const record = (await asPromise(store.get(mappingKey(uri, localRunId)))) as
    | (PageRunMapping & { key: string })
    | undefined;
  if (!record) return undefined;
  const { key: _key, ...mapping } = record;
  return mapping;
}

/** Records the server's run of a run started offline, so that no later replay (in any tab) creates it again. */
export function writeRunMapping(db: IDBDatabase, mapping: PageRunMapping): Promise<void> {
  const transaction = db.transaction(RUNS, 'readwrite');
  transaction.objectStore(RUNS).put({ key: mappingKey(mapping.uri, mapping.localRunId), ...mapping });
  return committed(transaction);
}

const openKey = (uri: string, runId: string): string => `${uri} ${runId}`;

/** Records (or refreshes) an open page run. */
export function writeOpenRun(db: IDBDatabase, run: PageOpenRun): Promise<void> {
  const transaction = db.transaction(OPEN, 'readwrite');
  transaction.objectStore(OPEN).put({ key: openKey(run.uri, run.runId), ...run });
  return committed(transaction);
}

/** Deletes the record of a page run whose end status is on the server or in the spool. */
export function deleteOpenRun(db: IDBDatabase, uri: string, runId: string): Promise<void> {
  const transaction = db.transaction(OPEN, 'readwrite');
  transaction.objectStore(OPEN).delete(openKey(uri, runId));
  return committed(transaction);
}

/** The open page runs recorded for the server `uri`. */
export async function readOpenRuns(db: IDBDatabase, uri: string): Promise<PageOpenRun[]> {
  const store = db.transaction(OPEN, 'readonly').objectStore(OPEN);
  const records = (await asPromise(store.getAll())) as (PageOpenRun & { key: string })[];
  return records.filter((record) => record.uri === uri).map(({ key: _key, ...run }) => run);
}
