// Child processes that log through the spool (test/core/fixtures/spool-child.ts), shared by the spool tests.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT, TSX_ARGS } from '@mlflow-kit/test-support/tsx';
import { afterAll, expect } from 'vitest';
import { CLI_SOURCE } from './cli-source.js';
import { python, trackingUri, uniqueName } from './python.js';

const spoolRoot = mkdtempSync(join(tmpdir(), 'mlflow-kit-spool-'));
afterAll(() => rmSync(spoolRoot, { recursive: true, force: true }));
// The server of the suite takes a few hundred points a second on a loaded 2-core machine (see the report
// of issue 8): the exit-path tests log 20,000 points so that the sync afterwards fits the test time.
export const POINTS = 20_000;
export const PER_KEY = POINTS / 4;
// The signal tests queue 100,000 points, as issue 8 asks, when MLFLOW_KIT_TEST_SCALE is `full` (the default);
// `small` (the second Node version's CI leg) keeps 20,000.
export const scale = process.env.MLFLOW_KIT_TEST_SCALE ?? 'full';
if (scale !== 'full' && scale !== 'small')
  throw new Error(`MLFLOW_KIT_TEST_SCALE must be "full" or "small", not "${scale}"`);
export const SIGNAL_POINTS = scale === 'full' ? 100_000 : POINTS;

export interface Child {
  runId: string;
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  experiment: string;
}

export function exec(
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

export async function runChild(
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
export async function syncIfSpooled(child: Child, to?: string): Promise<boolean> {
  const match = /Upload them with: mlflow-kit sync (\S+) --to (\S+)/.exec(child.stderr);
  if (!match) return false;
  const sync = await exec([CLI_SOURCE, 'sync', match[1]!, '--to', to ?? match[2]!], {});
  if (sync.code !== 0) throw new Error(`sync failed: ${sync.stdout}\n${sync.stderr}`);
  return true;
}

export interface ReadBack {
  runs: number;
  status: string;
  end_time: number | null;
  keys: Record<string, [number, number]>;
}

export function readBack(experiment: string): Promise<ReadBack> {
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

export const EVERY_POINT_ONCE = {
  a: [PER_KEY, PER_KEY],
  b: [PER_KEY, PER_KEY],
  c: [PER_KEY, PER_KEY],
  d: [PER_KEY, PER_KEY],
};

/** Runs the sync the child printed, stops `proxy`, and finds one FINISHED run with every point once. */
export async function expectSyncedOnce(child: Child, proxy: { stop(): Promise<void> }): Promise<void> {
  expect(await syncIfSpooled(child)).toBe(true);
  await proxy.stop();
  expect(await readBack(child.experiment)).toMatchObject({
    runs: 1,
    status: 'FINISHED',
    keys: EVERY_POINT_ONCE,
  });
}
