import type { ArtifactSource, TrackingStore } from '../store.js';
import type { DatasetInput, LogBatch, RunStatus } from '../types.js';

/**
 * Where a run's undeliverable data goes, as the run queue and the run see it: the Node spool on disk
 * (`RunSpool`), replayed by the sync engine. Kept to an interface so that the run and its queue, shared with
 * the browser entry, import nothing that touches the disk.
 */
export interface SpoolSink {
  /** Where the spool lives, for messages. */
  readonly storeDir: string;
  /** Whether anything (data or the end status) is in the spool. */
  readonly used: boolean;
  /** Whether something in the spool has not reached the server yet. */
  readonly pending: boolean;
  /** Metric points written. */
  readonly points: number;
  /** Metric points not yet uploaded by a replay. */
  readonly pendingPoints: number;
  /** Items (metric points, params, tags, artifacts, inputs) written. */
  readonly items: number;
  /** The end status written, if any. */
  readonly endStatus: RunStatus | undefined;
  /** The command that uploads this spool. */
  readonly command: string;
  /** Appends a batch. */
  writeBatch(batch: LogBatch): void;
  /** Stores one artifact. */
  writeArtifact(relativePath: string, source: ArtifactSource): void;
  /** Appends dataset inputs. */
  writeInputs(datasets: DatasetInput[]): void;
  /** Records the run's end status. */
  writeEnd(status: RunStatus, endTime: number): void;
  /**
   * Uploads what is pending to `destination`. Resolves with the id of the server's run once everything
   * spooled so far is there, else `undefined`; never rejects (failures are reported through `diag`).
   */
  replay(destination: TrackingStore): Promise<string | undefined>;
}
