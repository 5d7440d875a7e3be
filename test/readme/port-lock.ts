import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { acquireDirLock } from './dir-lock.js';

/**
 * Runs `task` while holding a machine-wide lock on `port`, so that README blocks written with a fixed port
 * (the walkthrough's and the CLI's `serve --port 5001`) never run at the same time in different test files.
 */
export async function withPortLock<T>(port: number, task: () => Promise<T>): Promise<T> {
  const release = await acquireDirLock(join(tmpdir(), `mlflow-kit-readme-port-${port}.lock`), 500);
  try {
    return await task();
  } finally {
    await release();
  }
}
