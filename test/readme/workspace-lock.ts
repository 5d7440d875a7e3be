import { createHash, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { REPO_ROOT } from '@mlflow-kit/test-support/tsx';
import { acquireDirLock, ageOf, STALE_MS } from './dir-lock.js';

const POLL_MS = 300;

const root = join(
  tmpdir(),
  `mlflow-kit-workspace-${createHash('sha256').update(REPO_ROOT).digest('hex').slice(0, 12)}`,
);
const readers = join(root, 'readers');
const writer = join(root, 'writer');

/**
 * Runs `task` while the workspace's `node_modules/.bin` shims are stable. `pnpm install` rewrites them, and for
 * a moment a shim is missing or empty, so a README block that runs `pnpm install` takes the lock to `write`,
 * and the tests that run workspace bins meanwhile (`pnpm demo`, `pnpm --filter ... start`,
 * `node_modules/.bin/tsx`) take it to `read`. Machine-wide, per checkout; writers go first.
 */
export async function withWorkspaceLock<T>(mode: 'read' | 'write', task: () => Promise<T>): Promise<T> {
  await mkdir(readers, { recursive: true });
  if (mode === 'read') {
    const ticket = join(readers, randomUUID());
    for (;;) {
      // Announce, then look: a writer that announced first makes this reader step back and wait.
      await writeFile(ticket, String(process.pid));
      if (!existsSync(writer) || (await ageOf(writer)) > STALE_MS) break;
      await rm(ticket, { force: true });
      await sleep(POLL_MS);
    }
    try {
      return await task();
    } finally {
      await rm(ticket, { force: true });
    }
  }
  const release = await acquireDirLock(writer, POLL_MS);
  try {
    for (;;) {
      const tickets = await readdir(readers);
      const ages = await Promise.all(tickets.map((ticket) => ageOf(join(readers, ticket))));
      if (ages.every((ms) => ms > STALE_MS)) break;
      await sleep(POLL_MS);
    }
    return await task();
  } finally {
    await release();
  }
}
