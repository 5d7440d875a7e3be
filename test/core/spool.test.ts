import { createFaultProxy } from '@mlflow-kit/core/testing';
import { describe, expect, it } from 'vitest';
import { python, trackingUri } from '../helpers/python.js';
import {
  EVERY_POINT_ONCE,
  expectSyncedOnce,
  readBack,
  runChild,
  SIGNAL_POINTS,
  syncIfSpooled,
} from '../helpers/spool-child.js';

describe('the spool: every point reaches the server exactly once, with the true status, on every exit path', {
  timeout: 600_000,
}, () => {
  it.each([
    ['throw', 'an uncaught exception after startRun', 'FAILED', 1],
    ['reject', 'an unhandled rejection', 'FAILED', 1],
    ['exit0', 'process.exit(0)', 'FINISHED', 0],
    ['exit1', 'process.exit(1)', 'FAILED', 1],
  ])('%s: %s ends the run %s with all its data', async (mode, _what, status, code) => {
    const child = await runChild(mode);
    expect(child.code).toBe(code);
    // Nothing asynchronous runs at these exits: what was not sent is in the spool, with the status.
    expect(await syncIfSpooled(child)).toBe(true);
    expect(await readBack(child.experiment)).toMatchObject({ runs: 1, status, keys: EVERY_POINT_ONCE });
  });

  it.each([['SIGTERM'], ['SIGINT']] as const)(
    '%s with the points queued ends the run KILLED with all its data and dies of the signal',
    async (signal) => {
      const child = await runChild('wait', signal, { POINTS: String(SIGNAL_POINTS) });
      expect(child.signal).toBe(signal);
      await syncIfSpooled(child);
      const run = await readBack(child.experiment);
      const perKey = SIGNAL_POINTS / 4;
      expect(run).toMatchObject({
        runs: 1,
        status: 'KILLED',
        keys: { a: [perKey, perKey], b: [perKey, perKey], c: [perKey, perKey], d: [perKey, perKey] },
      });
      expect(run.end_time).toBeGreaterThan(0);
    },
  );

  it('server down at end(): end() returns within the bound, the rest is spooled, sync completes the run', async () => {
    const proxy = await createFaultProxy({ target: trackingUri() });
    const child = await runChild('down-at-end', undefined, { MLFLOW_TRACKING_URI: proxy.uri }, (running) => {
      void proxy.stop().then(() => running.stdin?.write('go\n'));
    });
    // The server is back only after the process is gone.
    await proxy.start();
    expect(child.code).toBe(0);
    const { endMs } = JSON.parse(/\{"endMs".*\}/.exec(child.stdout)![0]) as { endMs: number };
    // The 3 s bound, then at most 1 s for a replay attempt and the spool write; the rest is slack for a
    // machine running other test files at once (unbounded, end() took minutes).
    expect(endMs).toBeLessThan(3000 + 1000 + 3000);
    expect(child.stdout).toContain('"afterEnd":"MlflowKitError"');
    expect(child.stderr).toMatch(/\d+ metric point\(s\).* and its end status FINISHED .*in the spool at/);
    // The run is not marked ended on the server while its data is in the spool.
    const before = await readBack(child.experiment);
    expect(before.status).toBe('RUNNING');
    expect(await syncIfSpooled(child)).toBe(true);
    expect(await readBack(child.experiment)).toMatchObject({
      runs: 1,
      status: 'FINISHED',
      keys: EVERY_POINT_ONCE,
    });
  });

  it('server stalls (requests never answered): a program that ends without end() exits within the bound, sync completes the run', async () => {
    const proxy = await createFaultProxy({ target: trackingUri() });
    // Held far longer than the test: the requests reach the server only after the sync below, as duplicates.
    proxy.inject({ kind: 'delay', ms: 600_000 }, { path: '/runs/log-batch' });
    const child = await runChild('stall', undefined, { MLFLOW_TRACKING_URI: proxy.uri });
    expect(child.code).toBe(0);
    const { lingerMs } = JSON.parse(/\{"lingerMs".*\}/.exec(child.stdout)![0]) as { lingerMs: number };
    // MLFLOW_KIT_EXIT_TIMEOUT is 3 s; the rest is writing the spool, and slack for a machine running other
    // test files at once (before the fix the process lingered for minutes).
    expect(lingerMs).toBeLessThan(3000 + 1000 + 3000);
    expect(child.stderr).toMatch(/and its end status FINISHED .*in the spool at/);
    expect(child.stderr.match(/Upload them with/g)).toHaveLength(1);
    expect(await syncIfSpooled(child, trackingUri())).toBe(true);
    expect(await readBack(child.experiment)).toMatchObject({
      runs: 1,
      status: 'FINISHED',
      keys: EVERY_POINT_ONCE,
    });
    await proxy.stop();
  });

  it('server unreachable at startRun: the run starts offline within the bound, the process exits within the bound (not after the create retries), and sync creates it', async () => {
    const proxy = await createFaultProxy({ target: trackingUri() });
    await proxy.stop();
    const started = Date.now();
    const child = await runChild('offline', undefined, {
      MLFLOW_TRACKING_URI: proxy.uri,
      MLFLOW_KIT_START_TIMEOUT: '2',
      // MLflow's default policy, 7 retries with backoff factor 2: its create retries once held the process
      // for about four minutes after the program ended.
      MLFLOW_HTTP_REQUEST_MAX_RETRIES: '7',
    });
    const lifetimeMs = Date.now() - started;
    await proxy.start();
    expect(child.code).toBe(0);
    const { startMs } = JSON.parse(/\{"runId".*\}/.exec(child.stdout)![0]) as { startMs: number };
    expect(startMs).toBeLessThan(2000 + 1500);
    // Start bound 2 s + exit bound 3 s + the child's start-up, and slack for a loaded machine.
    expect(lifetimeMs).toBeLessThan(2000 + 3000 + 15_000);
    await expectSyncedOnce(child, proxy);
  });

  it('create request held past the start bound and the process end: sync finds the run it made, no empty second run', async () => {
    const proxy = await createFaultProxy({ target: trackingUri() });
    // The create reaches the server only after the run started offline and the process ended (the race a loaded
    // server caused: a late create left an empty RUNNING run beside the one sync made).
    proxy.inject({ kind: 'delay', ms: 15_000 }, { path: '/runs/create', times: 1 });
    const child = await runChild('offline', undefined, {
      MLFLOW_TRACKING_URI: proxy.uri,
      MLFLOW_KIT_START_TIMEOUT: '1',
    });
    expect(child.code).toBe(0);
    expect(child.stderr).toMatch(/does not answer: run \S+ records into the spool/);
    const late = await python<number>(`
import json, time
from mlflow import MlflowClient
c = MlflowClient()
deadline = time.time() + 60
runs = []
while time.time() < deadline:
    exp = c.get_experiment_by_name("${child.experiment}")
    runs = c.search_runs([exp.experiment_id]) if exp else []
    if runs:
        break
    time.sleep(1)
print(json.dumps(len(runs)))
`);
    expect(late).toBe(1);
    await expectSyncedOnce(child, proxy);
  });
});
