import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFaultProxy } from '@mlflow-kit/core/testing';
import { REPO_ROOT, TSX_ARGS } from '@mlflow-kit/test-support/tsx';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI_SOURCE } from '../helpers/cli-source.js';
import { python, trackingUri, uniqueName } from '../helpers/python.js';

const spoolRoot = mkdtempSync(join(tmpdir(), 'mlflow-kit-spool-'));
afterAll(() => rmSync(spoolRoot, { recursive: true, force: true }));
// The server of the suite takes a few hundred points a second on a loaded 2-core machine (see the report
// of issue 8): the exit-path tests log 20,000 points so that the sync afterwards fits the test time.
const POINTS = 20_000;
const PER_KEY = POINTS / 4;
// The signal tests queue 100,000 points, as issue 8 asks, when MLFLOW_KIT_TEST_SCALE is `full` (the default);
// `small` (the second Node version's CI leg) keeps 20,000.
const scale = process.env.MLFLOW_KIT_TEST_SCALE ?? 'full';
if (scale !== 'full' && scale !== 'small')
  throw new Error(`MLFLOW_KIT_TEST_SCALE must be "full" or "small", not "${scale}"`);
const SIGNAL_POINTS = scale === 'full' ? 100_000 : POINTS;

interface Child {
  runId: string;
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  experiment: string;
}

function exec(
  args: string[],
  env: Record<string, string>,
  signal?: NodeJS.Signals,
  onRunId?: (child: ChildProcess) => void,
): Promise<Omit<Child, 'runId' | 'experiment'> & { runId: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...TSX_ARGS, ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...env },
      stdio: [onRunId ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let runId = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const match = /"runId":"([0-9a-f]{32})"/.exec(stdout);
      if (match && !runId) {
        runId = match[1]!;
        if (signal) child.kill(signal);
        onRunId?.(child);
      }
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 1_500_000);
    child.on('error', reject);
    child.on('exit', (code, exitSignal) => {
      clearTimeout(timer);
      resolve({ runId, code, signal: exitSignal, stdout, stderr });
    });
  });
}

async function runChild(
  mode: string,
  signal?: NodeJS.Signals,
  env: Record<string, string> = {},
  onRunId?: (child: ChildProcess) => void,
): Promise<Child> {
  const experiment = uniqueName(`spool-${mode}`);
  const result = await exec(
    ['test/core/fixtures/spool-child.ts', mode],
    {
      MLFLOW_KIT_ENABLED: '1',
      MLFLOW_TRACKING_URI: trackingUri(),
      MLFLOW_KIT_SPOOL_DIR: mkdtempSync(join(spoolRoot, `${mode}-`)),
      POINTS: String(POINTS),
      EXPERIMENT: experiment,
      MLFLOW_KIT_EXIT_TIMEOUT: '3',
      // Long enough that a loaded server still creates the run online: a run that starts offline while its
      // late create reaches the server, and the process then dies, leaves an empty second run there.
      MLFLOW_KIT_START_TIMEOUT: '30',
      MLFLOW_HTTP_REQUEST_MAX_RETRIES: '1',
      ...env,
    },
    signal,
    onRunId,
  );
  if (!result.runId) throw new Error(`child printed no run id (code ${result.code}):\n${result.stderr}`);
  return { ...result, experiment };
}

/**
 * Runs the `mlflow-kit sync` command the child printed, if it spooled anything: exactly as printed, or to `to`
 * (the real server, when the child's own fault proxy, which it printed, is gone with it).
 */
async function syncIfSpooled(child: Child, to?: string): Promise<boolean> {
  const match = /Upload them with: mlflow-kit sync (\S+) --to (\S+)/.exec(child.stderr);
  if (!match) return false;
  const sync = await exec([CLI_SOURCE, 'sync', match[1]!, '--to', to ?? match[2]!], {});
  if (sync.code !== 0) throw new Error(`sync failed: ${sync.stdout}\n${sync.stderr}`);
  return true;
}

interface ReadBack {
  runs: number;
  status: string;
  end_time: number | null;
  keys: Record<string, [number, number]>;
}

function readBack(experiment: string): Promise<ReadBack> {
  return python<ReadBack>(`
import json, mlflow
from mlflow import MlflowClient
c = MlflowClient()
exp = c.get_experiment_by_name("${experiment}")
runs = c.search_runs([exp.experiment_id])
r = runs[0]
keys = {}
for k in ["a", "b", "c", "d"]:
    h = c.get_metric_history(r.info.run_id, k)
    keys[k] = [len(h), len(set((m.step, m.value) for m in h))]
print(json.dumps({"runs": len(runs), "status": r.info.status, "end_time": r.info.end_time, "keys": keys}))
`);
}

const EVERY_POINT_ONCE = {
  a: [PER_KEY, PER_KEY],
  b: [PER_KEY, PER_KEY],
  c: [PER_KEY, PER_KEY],
  d: [PER_KEY, PER_KEY],
};

/** Runs the sync the child printed, stops `proxy`, and finds one FINISHED run with every point once. */
async function expectSyncedOnce(child: Child, proxy: { stop(): Promise<void> }): Promise<void> {
  expect(await syncIfSpooled(child)).toBe(true);
  await proxy.stop();
  expect(await readBack(child.experiment)).toMatchObject({
    runs: 1,
    status: 'FINISHED',
    keys: EVERY_POINT_ONCE,
  });
}

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

  it('1,000,000 points with the server down: logMetric p99 under 10 µs, RSS growth under 64 MiB, all in the spool, and (full size) all on the server after sync', async () => {
    // Garbage waiting in V8's young generation counts as RSS growth, and Node 24 lets it grow larger than
    // Node 20 (67 MiB against 50 MiB here, same code): pinning its size measures what the queue holds.
    const child = await runChild('million', undefined, { NODE_OPTIONS: '--max-semi-space-size=16' });
    const stats = JSON.parse(/\{"runId".*\}/.exec(child.stdout)![0]) as {
      p50: number;
      p99: number;
      rssGrowth: number;
    };
    process.stdout.write(`million-point outage: ${JSON.stringify(stats)}\n`);
    expect(stats.p99).toBeLessThan(10);
    expect(stats.rssGrowth).toBeLessThan(64 * 1024 * 1024);
    const match = /spool at (\S+)\. Upload them with/.exec(child.stderr);
    expect(match).not.toBeNull();
    const counts = await python<Record<string, number>>(`
import json, glob, os
out = {}
for path in glob.glob("${match![1]}/*/${child.runId}/metrics/*"):
    with open(path) as f:
        out[os.path.basename(path)] = len(set(line.split()[2] for line in f if line.strip()))
print(json.dumps(out))
`);
    // Every point in the spool (the one batch in flight at the outage may also be on the server).
    expect(counts).toEqual({ a: 250_000, b: 250_000, c: 250_000, d: 250_000 });
    if (scale !== 'full') return;
    // At full size, everything lands once the server is back: the printed sync, then every point once, read by
    // the Python client. The server takes a few thousand points a second here, so this part takes minutes
    // (the drain time on a quiet machine is in `pnpm bench ingest`); the small leg stops at the spool.
    const started = Date.now();
    expect(await syncIfSpooled(child, trackingUri())).toBe(true);
    const synced = Date.now();
    const perKey = [250_000, 250_000];
    expect(await readBack(child.experiment)).toMatchObject({
      runs: 1,
      status: 'FINISHED',
      keys: { a: perKey, b: perKey, c: perKey, d: perKey },
    });
    process.stdout.write(
      `million-point outage: sync ${Math.round((synced - started) / 1000)} s, read back ${Math.round((Date.now() - synced) / 1000)} s\n`,
    );
  }, 1_800_000);
});
