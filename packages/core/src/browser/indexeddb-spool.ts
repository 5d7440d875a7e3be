import { diag } from '../diag.js';
import { MlflowKitError } from '../errors.js';
import type { SpoolSink } from '../internal/spool-sink.js';
import type { ArtifactSource, TrackingStore } from '../store.js';
import type { DatasetInput, LogBatch, RunStatus } from '../types.js';
import {
  appendItems,
  committed,
  type IDBDatabase,
  type IDBTransaction,
  openPageSpool,
  PAGE_SPOOL_DATABASE,
  type PageRunMapping,
  type PageSpoolItem,
  type PageSpoolTarget,
  readRunMapping,
  writeRunMapping,
} from './page-spool-store.js';
import { holdOfflineRun, uploadPageSpool } from './replay-page-spool.js';

type ItemBody = PageSpoolItem extends infer Item
  ? Item extends PageSpoolItem
    ? Omit<Item, keyof PageSpoolTarget | 'id'>
    : never
  : never;

const describe = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/**
 * One page run's spool, in the origin's IndexedDB database {@link PAGE_SPOOL_DATABASE}: the data the
 * server could not take, with the same rules as Node's spool on disk, and replayed by
 * {@link uploadPageSpool} when the server answers again (in this page, or on the next visit).
 *
 * Writes are synchronous, as the run's queue needs them to be: each starts its IndexedDB transaction at
 * once, and the item stays in memory until that transaction commits (or until the database is open, at the
 * very start), so nothing is lost between the call and the commit while the page lives.
 */
export class IndexedDbSpool implements SpoolSink {
  /** Where the spool lives, for messages. */
  readonly storeDir = `IndexedDB database "${PAGE_SPOOL_DATABASE}" of this origin`;
  private db: IDBDatabase | undefined;
  private unavailable = false;
  /** Items written but not yet committed to IndexedDB (waiting for the database, or in a transaction). */
  private readonly unwritten: PageSpoolItem[] = [];
  private readonly writing = new Set<{ transaction: IDBTransaction; done: Promise<void> }>();
  private readonly opened: Promise<void>;
  private captured: LogBatch[] | undefined;
  private pointCount = 0;
  private itemCount = 0;
  private replayedPointCount = 0;
  private replayedItemCount = 0;
  private statusWritten: RunStatus | undefined;
  private statusReplayed = false;
  private wrote = false;
  private replaying: Promise<string | undefined> = Promise.resolve(undefined);
  private createInFlight: Promise<void> | undefined;
  private remoteRunId: string | undefined;

  constructor(private readonly target: PageSpoolTarget) {
    this.opened = openPageSpool().then(
      (db) => {
        this.db = db;
        this.persist(this.unwritten.splice(0));
      },
      (error: unknown) => {
        this.unavailable = true;
        diag.warn(
          `The page spool (IndexedDB) is not available here (${describe(error)}): data the server cannot take stays in memory, and is lost if the page goes away.`,
        );
      },
    );
  }

  /** Whether anything (data or the end status) is in the spool. */
  get used(): boolean {
    return this.wrote;
  }

  /** Whether something in the spool has not reached the server yet. */
  get pending(): boolean {
    return (
      this.wrote &&
      (this.pointCount > this.replayedPointCount ||
        this.itemCount > this.replayedItemCount ||
        (this.statusWritten !== undefined && !this.statusReplayed))
    );
  }

  /** Whether data (not only the end status) in the spool has not reached the server yet. */
  get pendingData(): boolean {
    return this.pointCount > this.replayedPointCount || this.itemCount > this.replayedItemCount;
  }

  /** Metric points written. */
  get points(): number {
    return this.pointCount;
  }

  /** Metric points not yet uploaded by a replay. */
  get pendingPoints(): number {
    return this.pointCount - this.replayedPointCount;
  }

  /** Items (metric points, params, tags, artifacts, inputs) written. */
  get items(): number {
    return this.itemCount;
  }

  /** The end status written, if any. */
  get endStatus(): RunStatus | undefined {
    return this.statusWritten;
  }

  /** What uploads this spool. */
  get command(): string {
    return `open a page of this origin that starts a run on ${this.target.uri}, or calls replayPageSpool({ enabled: true, trackingUri: '${this.target.uri}' })`;
  }

  /** Appends a batch. */
  writeBatch(batch: LogBatch): void {
    const points = batch.metrics?.length ?? 0;
    this.append({ kind: 'batch', batch });
    this.captured?.push(batch);
    this.pointCount += points;
    this.itemCount += points + (batch.params?.length ?? 0) + (batch.tags?.length ?? 0);
  }

  /** Stores one artifact's bytes (a page has no files). */
  writeArtifact(relativePath: string, source: ArtifactSource): void {
    if (!('bytes' in source)) {
      throw new MlflowKitError(`The page spool stores artifact bytes only, not the file ${relativePath}.`);
    }
    this.append({ kind: 'artifact', path: relativePath, bytes: source.bytes });
    this.itemCount++;
  }

  /** Appends dataset inputs. */
  writeInputs(datasets: DatasetInput[]): void {
    this.append({ kind: 'inputs', datasets });
    this.itemCount += datasets.length;
  }

  /** Records the run's end status, after its data. */
  writeEnd(status: RunStatus, endTime: number): void {
    this.append({ kind: 'end', status, endTime });
    this.statusWritten = status;
  }

  /**
   * Collects the batches written while `write` runs (synchronously), for the `keepalive` send of a page
   * that goes away.
   */
  capture(write: () => void): LogBatch[] {
    const batches: LogBatch[] = [];
    this.captured = batches;
    try {
      write();
    } finally {
      this.captured = undefined;
    }
    return batches;
  }

  /** Asks the browser to commit the transactions under way now, rather than when the page's task ends. */
  commitNow(): void {
    for (const { transaction } of this.writing) {
      try {
        transaction.commit?.();
      } catch {
        // Already committing or finished.
      }
    }
  }

  /**
   * Resolves once every write so far is committed to IndexedDB (or failed, which `diag` reports; the items
   * then stay in memory). Never rejects.
   */
  async committedAll(): Promise<void> {
    await this.opened;
    while (this.writing.size > 0) await Promise.all([...this.writing].map((entry) => entry.done));
  }

  /**
   * Uploads what this run spooled to `destination`: data in order, then the end status, each item deleted
   * from IndexedDB once the server has it. One replay at a time. Resolves with the run's id once everything
   * spooled so far is there, else `undefined`; never rejects.
   */
  replay(destination: TrackingStore): Promise<string | undefined> {
    const create = this.createInFlight;
    if (create) {
      diag.debug(`Run ${this.target.runId}: its create request is still in flight; the replay waits for it.`);
      // Callers bound the wait (`end()` by its exit bound); the replay goes on once the request settles.
      return create.then(() => this.replay(destination));
    }
    this.replaying = this.replaying.then(() => this.replayOnce(destination));
    return this.replaying;
  }

  /**
   * For a run started offline: holds replays (this spool's, and every replay of the page spool in this page)
   * until `create`, the run's own create request and its adoption, settles; a replay meanwhile would create
   * the run a second time.
   */
  holdReplayUntil(create: Promise<unknown>): void {
    const held: Promise<void> = holdOfflineRun(this.target.uri, this.target.runId, create).then(() => {
      if (this.createInFlight === held) this.createInFlight = undefined;
    });
    this.createInFlight = held;
  }

  /**
   * For a run started offline whose create request reached the server after all: records that run in
   * IndexedDB as the server's copy of this one, so that no replay creates another. Never rejects.
   */
  async adoptRemote(runId: string, experimentId: string, artifactUri: string): Promise<void> {
    const mapping: PageRunMapping = {
      uri: this.target.uri,
      localRunId: this.target.runId,
      runId,
      experimentId,
      artifactUri,
    };
    this.remoteRunId = runId;
    await this.opened;
    if (!this.db) return;
    try {
      await writeRunMapping(this.db, mapping);
    } catch (error) {
      // Its source tag still lets the replay find it.
      diag.warn(
        `Could not record run ${runId} as the server's copy of ${this.target.runId}: ${describe(error)}`,
      );
    }
  }

  private async replayOnce(destination: TrackingStore): Promise<string | undefined> {
    if (!this.pending) return this.remoteRunId ?? this.target.runId;
    // Items whose transaction failed (a full quota) are tried once more first.
    if (this.db) this.persist(this.unwritten.splice(0));
    await this.committedAll();
    const snapshot = {
      points: this.pointCount,
      items: this.itemCount,
      status: this.statusWritten !== undefined,
    };
    if (this.unavailable || this.unwritten.length > 0) return undefined;
    const { complete } = await uploadPageSpool(destination, this.target.uri, this.target.runId);
    if (!complete) return undefined;
    this.replayedPointCount = Math.max(this.replayedPointCount, snapshot.points);
    this.replayedItemCount = Math.max(this.replayedItemCount, snapshot.items);
    if (snapshot.status) this.statusReplayed = true;
    if (this.target.create && this.remoteRunId === undefined && this.db) {
      this.remoteRunId = (
        await readRunMapping(this.db, this.target.uri, this.target.runId).catch(() => undefined)
      )?.runId;
    }
    return this.remoteRunId ?? this.target.runId;
  }

  private append(body: ItemBody): void {
    this.wrote = true;
    const item = { ...this.target, ...body } as PageSpoolItem;
    if (this.db) this.persist([item]);
    else this.unwritten.push(item);
  }

  private persist(items: PageSpoolItem[]): void {
    if (items.length === 0) return;
    let transaction: IDBTransaction;
    try {
      transaction = appendItems(this.db!, items);
    } catch (error) {
      this.unwritten.push(...items);
      diag.error(`Could not write to the page spool: ${describe(error)}; the data stays in memory.`);
      return;
    }
    const entry = {
      transaction,
      done: committed(transaction).then(
        () => {
          this.writing.delete(entry);
        },
        (error: unknown) => {
          this.writing.delete(entry);
          this.unwritten.push(...items);
          diag.error(
            `Could not commit ${items.length} item(s) of run ${this.target.runId} to the page spool: ${describe(error)}; they stay in memory while the page lives.`,
          );
        },
      ),
    };
    this.writing.add(entry);
  }
}
