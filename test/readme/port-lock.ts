import { mkdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** A lock left behind by a killed test process is taken over after this long. */
const STALE_MS = 15 * 60_000;

/**
 * Runs `task` while holding a machine-wide lock on `port`, so that README blocks written with a fixed port
 * (the walkthrough's and the CLI's `serve --port 5001`) never run at the same time in different test files.
 */
export async function withPortLock<T>(port: number, task: () => Promise<T>): Promise<T> {
  const lock = join(tmpdir(), `mlflow-kit-readme-port-${port}.lock`);
  for (;;) {
    try {
      await mkdir(lock);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const age = await stat(lock).then(
        (info) => Date.now() - info.mtimeMs,
        () => 0,
      );
      if (age > STALE_MS) await rm(lock, { recursive: true, force: true });
      else await sleep(500);
    }
  }
  try {
    return await task();
  } finally {
    await rm(lock, { recursive: true, force: true });
  }
}
