import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { readTextIfExists, writeFileAtomic } from './local-fs.js';
import type { LoggedModelState } from './replay-logged-models.js';

/** What was uploaded of one local run. */
export interface RunState {
  remoteRunId: string;
  remoteExperimentId: string;
  /** Points of each metric uploaded, counted in the local file's order. */
  metrics: Record<string, number>;
  paramsDigest?: string;
  tagsDigest?: string;
  finalDigest?: string;
  /** Digest of the dataset inputs uploaded. */
  inputsDigest?: string;
  /** Size of each artifact file uploaded. */
  artifacts: Record<string, number>;
  /** The run's MLflow 3 logged models uploaded, by local model id. */
  models?: Record<string, LoggedModelState>;
}

/** The state file of a replay from one local store to one destination. */
export interface ReplayStateFile {
  version: 1;
  destination: string;
  runs: Record<string, RunState>;
}

/** A short stable hash of a JSON value, to tell whether params, tags or the end status changed. */
export function digest(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 32);
}

/**
 * The files of the replays from the store at `root` to `destinationUri`: the state
 * (`.mlflow-kit-sync-<hash>.json`) and the lock (`.mlflow-kit-sync-<hash>.lock`), both ignored by the
 * official reader. The names are those `mlflow-kit sync` has always used, so earlier state is kept.
 */
export function replayFiles(root: string, destinationUri: string): { state: string; lock: string } {
  const key = digest(destinationUri).slice(0, 16);
  return {
    state: join(root, `.mlflow-kit-sync-${key}.json`),
    lock: join(root, `.mlflow-kit-sync-${key}.lock`),
  };
}

/**
 * The state of a replay, loaded from its file and saved back at most every 500 ms (and when forced),
 * one write at a time. A missing or damaged file starts empty: runs uploaded before are then found by
 * their source-run-id tag.
 */
export class ReplayState {
  private saving: Promise<void> = Promise.resolve();
  private lastSave = 0;

  private constructor(
    private readonly path: string,
    readonly file: ReplayStateFile,
  ) {}

  /** Loads the state at `path` for `destination`. */
  static async load(path: string, destination: string): Promise<ReplayState> {
    let file: ReplayStateFile = { version: 1, destination, runs: {} };
    const saved = await readTextIfExists(path);
    if (saved !== undefined) {
      try {
        const parsed = JSON.parse(saved) as ReplayStateFile;
        if (parsed.version === 1 && parsed.runs) file = parsed;
      } catch {
        // A damaged state file is rebuilt from the server's source-run-id tags.
      }
    }
    return new ReplayState(path, file);
  }

  /** What was uploaded of a local run, if anything. */
  run(localRunId: string): RunState | undefined {
    return this.file.runs[localRunId];
  }

  /** Records the remote copy of a local run. */
  setRun(localRunId: string, state: RunState): void {
    this.file.runs[localRunId] = state;
  }

  /** The remote id of a local run already uploaded, else the local id itself. */
  remoteRunId(localRunId: string): string {
    return this.file.runs[localRunId]?.remoteRunId ?? localRunId;
  }

  /** Saves a snapshot, unless one was saved less than 500 ms ago and `force` is not set. */
  save(force = false): Promise<void> {
    if (!force && Date.now() - this.lastSave < 500) return this.saving;
    this.lastSave = Date.now();
    const snapshot = `${JSON.stringify(this.file)}\n`;
    this.saving = this.saving.then(() => writeFileAtomic(this.path, snapshot));
    return this.saving;
  }

  /** Waits for the saves under way. */
  settled(): Promise<void> {
    return this.saving;
  }
}
