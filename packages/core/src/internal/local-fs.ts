import { randomBytes } from 'node:crypto';
import type { Dirent } from 'node:fs';
import { link, mkdir, open, readdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { MlflowKitError } from '../errors.js';

/** Whether `error` is a Node system error with this code. */
export function isErrno(error: unknown, code: string): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === code;
}

/** A unique hidden file name next to `target` (same directory, so a rename is atomic). */
export function tempPathFor(target: string, directory = dirname(target)): string {
  return join(directory, `.${basename(target)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
}

/**
 * Writes a file so that readers see either the old or the new content, never a part: the content goes to
 * a temporary file in `tempDirectory` (default: the target's directory, which must be on the same file
 * system) and is renamed over the target.
 */
export async function writeFileAtomic(
  target: string,
  content: string | Uint8Array,
  tempDirectory?: string,
): Promise<void> {
  const temp = tempPathFor(target, tempDirectory);
  try {
    await writeFile(temp, content);
    await rename(temp, target);
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw error;
  }
}

/**
 * Creates `target` with `content` only if it does not exist, atomically and with its whole content
 * (temporary file, then `link`, which fails if the target exists). Returns `false` when the target existed.
 * The temporary file lives in `tempDirectory`, outside any folder a reader lists.
 */
export async function createFileExclusive(
  target: string,
  content: string,
  tempDirectory: string,
): Promise<boolean> {
  const temp = tempPathFor(target, tempDirectory);
  await writeFile(temp, content);
  try {
    await link(temp, target);
    return true;
  } catch (error) {
    if (isErrno(error, 'EEXIST')) return false;
    throw error;
  } finally {
    await unlink(temp).catch(() => undefined);
  }
}

/**
 * Appends whole lines to a file with one `write()` on a descriptor opened with `O_APPEND`, so lines of
 * concurrent writers never interleave. If the file ends with an unfinished line (an earlier writer hit
 * a full disk or a power cut mid-write), that fragment is cut off first: MLflow's reader fails on a
 * malformed line, and a point whose write failed was never acknowledged.
 */
export async function appendLines(path: string, lines: string, checkTail: boolean): Promise<void> {
  const handle = await open(path, 'a+');
  try {
    if (checkTail) {
      const { size } = await handle.stat();
      if (size > 0) {
        const length = Math.min(size, 64 * 1024);
        const tail = Buffer.alloc(length);
        await handle.read(tail, 0, length, size - length);
        if (tail[length - 1] !== 0x0a) {
          const lastNewline = tail.lastIndexOf(0x0a);
          await handle.truncate(
            lastNewline === -1 ? Math.max(0, size - length) : size - length + lastNewline + 1,
          );
        }
      }
    }
    await handle.write(lines);
  } finally {
    await handle.close();
  }
}

/** Reads a UTF-8 file, or `undefined` if it does not exist. */
export async function readTextIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if (isErrno(error, 'ENOENT') || isErrno(error, 'ENOTDIR')) return undefined;
    throw error;
  }
}

/** The entries of a directory, or none if it does not exist (or is a file). */
export async function readDirectoryIfExists(path: string): Promise<Dirent[]> {
  try {
    return await readdir(path, { withFileTypes: true });
  } catch (error) {
    if (isErrno(error, 'ENOENT') || isErrno(error, 'ENOTDIR')) return [];
    throw error;
  }
}

/** Whether a path exists. */
export async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return !isErrno(error, 'ESRCH');
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Options of {@link withFileLock}. */
export interface FileLockOptions {
  /** Give up after this long. @defaultValue 30000 */
  timeoutMs?: number;
  /** A lock older than this is considered abandoned. @defaultValue 30000 */
  staleMs?: number;
  /**
   * The error thrown when the lock is still held at the timeout, given the owner line (`host pid`).
   * @defaultValue an {@link MlflowKitError} naming the lock file
   */
  busyError?: (owner: string) => Error;
}

/**
 * Removes a lock judged stale without racing another process that judged it stale too: the lock is
 * renamed aside first, and if what was renamed is not the lock that was judged (another process broke
 * it and took a fresh one meanwhile), it is put back, unless yet another lock already took its place.
 */
async function breakStaleLock(lockPath: string, judgedOwner: string): Promise<void> {
  const aside = `${lockPath}.stale-${process.pid}-${Math.random().toString(36).slice(2)}`;
  try {
    await rename(lockPath, aside);
  } catch {
    return; // someone else moved it first
  }
  const owner = await readFile(aside, 'utf8').catch(() => judgedOwner);
  if (owner !== judgedOwner) await link(aside, lockPath).catch(() => undefined);
  await unlink(aside).catch(() => undefined);
}

/**
 * Runs `fn` while holding a lock file created with `O_EXCL` (atomic on local file systems). The lock
 * names its owner (`host pid`); a lock whose owner on this host is dead, or that is older than
 * `staleMs`, is broken, so a crashed process never blocks the store for long.
 */
export async function withFileLock<T>(
  lockPath: string,
  fn: () => Promise<T>,
  options: FileLockOptions = {},
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const staleMs = options.staleMs ?? 30_000;
  const host = hostname();
  const deadline = Date.now() + timeoutMs;
  await mkdir(dirname(lockPath), { recursive: true });
  for (;;) {
    try {
      const handle = await open(lockPath, 'wx');
      try {
        await handle.write(`${host} ${process.pid}\n`);
      } finally {
        await handle.close();
      }
      break;
    } catch (error) {
      if (!isErrno(error, 'EEXIST')) throw error;
    }
    let owner: string;
    try {
      const [info, text] = await Promise.all([stat(lockPath), readFile(lockPath, 'utf8')]);
      owner = text;
      const [ownerHost, ownerPid] = owner.trim().split(' ');
      // On this host the owner's pid decides (a live owner keeps its lock however long it works);
      // for an owner on another host (a shared file system) only the lock's age can tell.
      const stale =
        ownerHost === host && ownerPid !== undefined && ownerPid !== ''
          ? !processAlive(Number(ownerPid))
          : Date.now() - info.mtimeMs > staleMs;
      if (stale) {
        await breakStaleLock(lockPath, owner);
        continue;
      }
    } catch {
      // The lock went away between open and stat: try again at once.
      continue;
    }
    if (Date.now() > deadline) {
      if (options.busyError) throw options.busyError(owner);
      throw new MlflowKitError(
        `Timed out after ${timeoutMs} ms waiting for the lock ${lockPath}; if no other process is writing to this store, delete that file.`,
      );
    }
    await sleep(5 + Math.random() * 20);
  }
  try {
    return await fn();
  } finally {
    await unlink(lockPath).catch(() => undefined);
  }
}
