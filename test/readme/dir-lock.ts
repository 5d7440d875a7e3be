import { mkdir, rm, stat } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

/** A lock left behind by a killed test process is taken over after this long. */
export const STALE_MS = 15 * 60_000;

/** How long ago `path` was last modified, in ms; 0 when it is gone. */
export function ageOf(path: string): Promise<number> {
  return stat(path).then(
    (info) => Date.now() - info.mtimeMs,
    () => 0,
  );
}

/**
 * Takes the machine-wide lock `path` (a directory: `mkdir` is atomic), waiting while another process holds
 * it, and taking over a stale one. Resolves to the function that releases it.
 */
export async function acquireDirLock(path: string, pollMs = 300): Promise<() => Promise<void>> {
  for (;;) {
    try {
      await mkdir(path);
      return () => rm(path, { recursive: true, force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      if ((await ageOf(path)) > STALE_MS) await rm(path, { recursive: true, force: true });
      else await sleep(pollMs);
    }
  }
}
