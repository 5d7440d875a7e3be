import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { withFileLock } from './local-fs.js';

function lockIn(owner: string, ageSeconds: number): string {
  const dir = mkdtempSync(join(tmpdir(), 'mlflow-kit-lock-'));
  const path = join(dir, 'store.lock');
  writeFileSync(path, `${owner}\n`);
  const then = Date.now() / 1000 - ageSeconds;
  utimesSync(path, then, then);
  return path;
}

describe('withFileLock', () => {
  it('breaks a lock whose owner on this host is dead, at once', async () => {
    const child = spawn(process.execPath, ['-e', '']);
    const deadPid = child.pid!;
    await new Promise((r) => child.on('exit', r));
    const path = lockIn(`${hostname()} ${deadPid}`, 0);
    expect(await withFileLock(path, async () => 'ran', { timeoutMs: 2000 })).toBe('ran');
    expect(readdirSync(join(path, '..'))).toEqual([]);
  });

  it('never breaks the lock of a live owner on this host, however old it is', async () => {
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 10000)']);
    try {
      const path = lockIn(`${hostname()} ${child.pid}`, 3600);
      await expect(withFileLock(path, async () => 'ran', { timeoutMs: 300, staleMs: 10 })).rejects.toThrow(
        'Timed out',
      );
    } finally {
      child.kill();
    }
  });

  it('breaks an old lock of an owner on another host (a shared file system) after staleMs', async () => {
    const path = lockIn('some-other-host 4242', 3600);
    expect(await withFileLock(path, async () => 'ran', { timeoutMs: 2000, staleMs: 1000 })).toBe('ran');
  });
});
