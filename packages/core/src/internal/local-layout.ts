import { mkdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { MlflowApiError } from '../errors.js';
import { keyProblem } from '../validation.js';
import { dumpYaml, parseYaml } from './local-format.js';
import { exists, readDirectoryIfExists, readTextIfExists, writeFileAtomic } from './local-fs.js';

/** MLflow's folder of deleted experiments. */
export const TRASH = '.trash';
/** Folders at the root that are not experiments (MLflow's `.trash` and the model registry's `models`). */
export const RESERVED_ROOT = new Set([TRASH, 'models']);
/** Folders inside an experiment that are not runs (`RESERVED_EXPERIMENT_FOLDERS`). */
const RESERVED_EXPERIMENT = new Set(['tags', 'datasets', 'traces', 'models']);
const RUN_ID = /^[a-zA-Z0-9][\w-]{0,255}$/;
/** What an experiment folder's name looks like. */
export const EXPERIMENT_ID = /^[0-9]{1,30}$/;
/** The temporary files `writeFileAtomic` leaves while it writes; readers skip them. */
export const TEMP_FILE = /^\..+\.[0-9]+\.[0-9a-f]{12}\.tmp$/;

/** A parsed `meta.yaml`. */
export type Meta = Record<string, unknown>;

/** An {@link MlflowApiError} as the server would answer, for a local operation. */
export function localApiError(
  operation: string,
  errorCode: string,
  message: string,
  status = 400,
): MlflowApiError {
  return new MlflowApiError({
    endpoint: `local ${operation}`,
    status,
    errorCode,
    serverMessage: message,
    retryable: false,
  });
}

/** `RESOURCE_DOES_NOT_EXIST` (404) for a local operation. */
export function localNotFound(operation: string, message: string): MlflowApiError {
  return localApiError(operation, 'RESOURCE_DOES_NOT_EXIST', message, 404);
}

/** Throws `INVALID_PARAMETER_VALUE` for a key the server would refuse (keys become file paths here). */
export function checkLocalKey(operation: string, kind: string, key: string): void {
  const problem = keyProblem(key);
  if (problem !== undefined)
    throw localApiError(
      operation,
      'INVALID_PARAMETER_VALUE',
      `Invalid ${kind} name ${JSON.stringify(key)}: ${problem}.`,
    );
}

/** A `meta.yaml` field as a string (`''` for null). */
export function metaString(value: unknown, fallback = ''): string {
  return value === null || value === undefined ? fallback : String(value);
}

/** A `meta.yaml` field as a finite number, or `undefined`. */
export function metaNumber(value: unknown): number | undefined {
  if (value === null || value === undefined || value === '') return undefined;
  const number = Number(value);
  return Number.isFinite(number) ? number : undefined;
}

/** Lists the files under `directory` recursively as keys (`a/b` for `directory/a/b`), skipping temp files. */
export async function readKeyFiles(directory: string, prefix = ''): Promise<string[]> {
  const entries = await readDirectoryIfExists(directory);
  const keys: string[] = [];
  for (const entry of entries) {
    if (TEMP_FILE.test(entry.name)) continue;
    const key = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
    if (entry.isDirectory()) keys.push(...(await readKeyFiles(join(directory, entry.name), key)));
    else if (entry.isFile()) keys.push(key);
  }
  return keys;
}

/** The files under `directory` as a key → content map (params and tags). */
export async function readKeyValues(directory: string): Promise<Record<string, string>> {
  const result: Record<string, string> = {};
  for (const key of await readKeyFiles(directory)) {
    const value = await readTextIfExists(join(directory, ...key.split('/')));
    if (value !== undefined) result[key] = value;
  }
  return result;
}

/** The names of the folders in `directory`; none when it does not exist. */
export async function listSubdirectories(directory: string): Promise<string[]> {
  return (await readDirectoryIfExists(directory))
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name);
}

/** The `meta.yaml` of a new experiment, with the fields MLflow's FileStore writes. */
export function experimentMeta(
  experimentId: string,
  name: string,
  artifactLocation: string,
  now: number,
): Meta {
  return {
    artifact_location: artifactLocation,
    creation_time: now,
    effective_trace_archival_retention: null,
    experiment_id: experimentId,
    last_update_time: now,
    lifecycle_stage: 'active',
    name,
    trace_location: null,
    workspace: 'default',
  };
}

/** Reads a `meta.yaml`, lets `update` change it and replaces the file atomically. */
export async function updateMetaFile(dir: string, update: (meta: Meta) => void): Promise<Meta> {
  const meta = parseYaml(await readFile(join(dir, 'meta.yaml'), 'utf8'));
  update(meta);
  await writeFileAtomic(join(dir, 'meta.yaml'), dumpYaml(meta));
  return meta;
}

/**
 * Where things are in a FileStore directory, and what a `LocalStore` remembers about it: the root, the
 * folder of each run seen, and which folders and metric files it has already made or checked.
 */
export class LocalLayout {
  /** The `file://` URI of the root directory. */
  readonly trackingUri: string;
  /** Absolute path of the root directory. */
  readonly rootDir: string;
  /** Metric files whose tail was checked for an unfinished line since the store was made. */
  readonly checkedMetricFiles = new Set<string>();
  private readonly runDirs = new Map<string, string>();
  private readonly madeDirs = new Set<string>();
  private ready: Promise<void> | undefined;

  /** @param rootDir - a path (relative paths resolve against the working directory) or a `file:` URI. */
  constructor(rootDir: string) {
    this.rootDir = rootDir.startsWith('file:') ? fileURLToPath(rootDir) : resolve(rootDir);
    this.trackingUri = pathToFileURL(this.rootDir).href;
  }

  /** Creates the root with `.trash` and the `Default` experiment `0` once; a failure is tried again next time. */
  ensureRoot(): Promise<void> {
    this.ready ??= this.initRoot().catch((error: unknown) => {
      this.ready = undefined;
      throw error;
    });
    return this.ready;
  }

  private async initRoot(): Promise<void> {
    await mkdir(join(this.rootDir, TRASH), { recursive: true });
    const defaultDir = join(this.rootDir, '0');
    if (!(await exists(join(defaultDir, 'meta.yaml'))) && !(await exists(join(this.rootDir, TRASH, '0')))) {
      await mkdir(defaultDir, { recursive: true });
      const now = Date.now();
      // Two processes may both get here; both write the same meta.yaml atomically, so either wins.
      await writeFileAtomic(
        join(defaultDir, 'meta.yaml'),
        dumpYaml(experimentMeta('0', 'Default', `${this.trackingUri}/0`, now)),
      );
    }
  }

  /** `mkdir -p`, remembered so that a hot write path does not repeat it. */
  async mkdirCached(directory: string): Promise<void> {
    if (this.madeDirs.has(directory)) return;
    await mkdir(directory, { recursive: true });
    this.madeDirs.add(directory);
  }

  /** The folder of an experiment, active or in `.trash`, or `undefined` when there is none. */
  async experimentDirectory(experimentId: string): Promise<{ dir: string; deleted: boolean } | undefined> {
    if (!EXPERIMENT_ID.test(experimentId)) return undefined;
    const active = join(this.rootDir, experimentId);
    if (await exists(join(active, 'meta.yaml'))) return { dir: active, deleted: false };
    const trashed = join(this.rootDir, TRASH, experimentId);
    if (await exists(join(trashed, 'meta.yaml'))) return { dir: trashed, deleted: true };
    return undefined;
  }

  /** The ids of the complete runs (those with a `meta.yaml`) in an experiment folder. */
  async runIdsIn(experimentDir: string): Promise<string[]> {
    const ids: string[] = [];
    for (const name of await listSubdirectories(experimentDir)) {
      if (RESERVED_EXPERIMENT.has(name) || !RUN_ID.test(name)) continue;
      if (await exists(join(experimentDir, name, 'meta.yaml'))) ids.push(name);
    }
    return ids;
  }

  /** Remembers where a run lives. */
  rememberRun(runId: string, dir: string): void {
    this.runDirs.set(runId, dir);
  }

  /** Forgets every run folder (experiments moved to or from `.trash`). */
  forgetRunDirectories(): void {
    this.runDirs.clear();
  }

  /** The folder of a run in any experiment, active or deleted. Throws `RESOURCE_DOES_NOT_EXIST`. */
  async findRunDirectory(runId: string, operation: string): Promise<string> {
    if (typeof runId !== 'string' || !RUN_ID.test(runId))
      throw localNotFound(operation, `Run '${runId}' not found`);
    await this.ensureRoot();
    const cached = this.runDirs.get(runId);
    if (cached !== undefined && (await exists(join(cached, 'meta.yaml')))) return cached;
    const parents = [
      ...(await listSubdirectories(this.rootDir))
        .filter((name) => !RESERVED_ROOT.has(name))
        .map((name) => join(this.rootDir, name)),
      ...(await listSubdirectories(join(this.rootDir, TRASH))).map((name) => join(this.rootDir, TRASH, name)),
    ];
    for (const parent of parents) {
      const dir = join(parent, runId);
      if (await exists(join(dir, 'meta.yaml'))) {
        this.runDirs.set(runId, dir);
        return dir;
      }
    }
    throw localNotFound(operation, `Run '${runId}' not found`);
  }

  /** The folder of a run that is not deleted; a deleted one is `INVALID_PARAMETER_VALUE`, as on the server. */
  async activeRunDirectory(runId: string, operation: string): Promise<string> {
    const dir = await this.findRunDirectory(runId, operation);
    const meta = await readRunMeta(dir);
    if (meta.lifecycle_stage === 'deleted') {
      throw localApiError(
        operation,
        'INVALID_PARAMETER_VALUE',
        `The run ${runId} must be in the 'active' state. Current state is deleted.`,
      );
    }
    return dir;
  }

  // An ended run is rarely written again: drop what was cached for it, so that a long-lived process
  // (a sweep of thousands of runs) keeps bounded memory. A later write simply looks things up again.
  /** Drops what is cached for an ended run. */
  forgetRun(runId: string, dir: string): void {
    this.runDirs.delete(runId);
    const prefix = `${dir}/`;
    for (const path of this.checkedMetricFiles)
      if (path.startsWith(prefix)) this.checkedMetricFiles.delete(path);
    for (const path of this.madeDirs) if (path === dir || path.startsWith(prefix)) this.madeDirs.delete(path);
  }
}

/**
 * Writes one key file (`<dir>/<folder>/<key>`, a key with `/` in nested folders) atomically, with its
 * temporary file in `dir`, outside the folder readers list.
 */
export async function writeKeyFile(dir: string, folder: string, key: string, value: string): Promise<void> {
  const target = join(dir, folder, ...key.split('/'));
  await mkdir(join(target, '..'), { recursive: true });
  await writeFileAtomic(target, value, dir);
}

/** Reads a run's `meta.yaml`. */
export async function readRunMeta(runDir: string): Promise<Meta> {
  return parseYaml(await readFile(join(runDir, 'meta.yaml'), 'utf8'));
}
