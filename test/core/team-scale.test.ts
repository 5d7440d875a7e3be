import { spawn } from 'node:child_process';
import { REPO_ROOT, TSX_ARGS } from '@mlflow-kit/test-support/tsx';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { python, uniqueName } from '../helpers/python.js';
import type { MlflowServer } from '../setup/mlflow-env.js';
import { startPostgresMlflowServer } from '../setup/postgres.js';

/**
 * MLFLOW_KIT_TEST_SCALE=full (the default) logs 50,000 points per process as issue 8 asks; `small` logs
 * 5,000, for the CI leg that runs the suite on a second Node version.
 */
const scale = process.env.MLFLOW_KIT_TEST_SCALE ?? 'full';
if (scale !== 'full' && scale !== 'small')
  throw new Error(`MLFLOW_KIT_TEST_SCALE must be "full" or "small", not "${scale}"`);
const PROCESSES = 8;
const POINTS = scale === 'full' ? 50_000 : 5_000;
const KEYS = 5;

let server: MlflowServer;
beforeAll(async () => {
  server = await startPostgresMlflowServer();
});
afterAll(async () => {
  await server?.stop();
});

function runMember(experiment: string): Promise<{ runId: string; code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...TSX_ARGS, 'test/core/fixtures/team-scale-child.ts'], {
      cwd: REPO_ROOT,
      env: {
        ...process.env,
        MLFLOW_KIT_ENABLED: '1',
        MLFLOW_TRACKING_URI: server.uri,
        EXPERIMENT: experiment,
        POINTS: String(POINTS),
        // Eight writers on a shared 2-core machine: this test is about what is stored, not how fast.
        MLFLOW_KIT_EXIT_TIMEOUT: '300',
        // Eight processes starting at once can keep a loaded server from answering within the default 5 s; a
        // run that then starts offline gets its server id only from the replay, and this test reads runs by id.
        MLFLOW_KIT_START_TIMEOUT: '120',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-20_000);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 420_000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      const match = /"runId":"([0-9a-f]{32})"/.exec(stdout);
      if (!match) reject(new Error(`child printed no run id (code ${code}):\n${stderr}`));
      else resolve({ runId: match[1]!, code, stderr });
    });
  });
}

describe(`team scale on PostgreSQL (${scale}: ${PROCESSES} processes x ${POINTS} points)`, () => {
  it('stores every point of every concurrent process exactly once, each run FINISHED', async () => {
    const experiment = uniqueName('team-scale');
    const members = await Promise.all(Array.from({ length: PROCESSES }, () => runMember(experiment)));
    for (const member of members) expect(member.code, member.stderr).toBe(0);
    const runIds = members.map((m) => m.runId);
    expect(new Set(runIds).size).toBe(PROCESSES);

    // For every run and key: the status, how many points, how many distinct (step, value) pairs, and
    // whether each stored point is one the child logged (value i at step floor(i / KEYS) under key i % KEYS).
    const report = await python<
      Record<
        string,
        { status: string; keys: Record<string, { count: number; distinct: number; wrong: number }> }
      >
    >(
      `
import json
from mlflow import MlflowClient
c = MlflowClient()
out = {}
for run_id in ${JSON.stringify(runIds)}:
    run = c.get_run(run_id)
    keys = {}
    for k in range(${KEYS}):
        history = c.get_metric_history(run_id, f"m{k}")
        pairs = {(m.step, m.value) for m in history}
        wrong = sum(1 for m in history if int(m.value) % ${KEYS} != k or m.step != int(m.value) // ${KEYS})
        keys[f"m{k}"] = {"count": len(history), "distinct": len(pairs), "wrong": wrong}
    out[run_id] = {"status": run.info.status, "keys": keys}
print(json.dumps(out))
`,
      { MLFLOW_TRACKING_URI: server.uri },
    );
    const perKey = POINTS / KEYS;
    for (const runId of runIds) {
      const run = report[runId]!;
      expect(run.status).toBe('FINISHED');
      for (let k = 0; k < KEYS; k++)
        expect(run.keys[`m${k}`], `${runId} m${k}`).toEqual({ count: perKey, distinct: perKey, wrong: 0 });
    }
  }, 900_000);
});
