import type { Run, StartRunOptions } from '@mlflow-kit/core';
import type { EventFileWriter, EventFileWriterOptions } from './event-file-writer.js';

/**
 * What the writers need from where they run: paths, the event files, the run start and the exit hook. Node
 * has them all; a web page has no disk, so no event files, and no exit (see `./browser-platform.ts`).
 */
export interface WriterPlatform {
  /** Joins log-directory path segments. */
  join(...parts: string[]): string;
  /** The root log directory that owns the run, and the key prefix of `logdir` inside it. */
  splitLogdir(logdir: string): { root: string; prefix: string };
  /** The last segment of a path (a run's default name). */
  baseName(path: string): string;
  /** The host name in a default log directory. */
  hostname(): string;
  /** Opens the event file of a log directory, or nothing where there is no disk. */
  openEvents(logdir: string, options: EventFileWriterOptions): EventFileWriter | undefined;
  /** Encodes an RGBA image as PNG synchronously; only called when an event file is open. */
  encodePng(width: number, height: number, rgba: Uint8Array, name: string): Uint8Array;
  /** Starts a run of the writer's own, without making it the active run. */
  startRun(options: StartRunOptions): Promise<Run>;
  /** Runs `hook` once the program runs out of work (Node's `beforeExit`), where there is such a moment. */
  onIdle(hook: () => void): void;
}

/** Log-directory names that share their parent directory's run and prefix its keys (`val/epoch_loss`). */
export const SUBRUN_NAMES: ReadonlySet<string> = new Set([
  'train',
  'training',
  'val',
  'validation',
  'eval',
  'evaluation',
  'test',
]);
