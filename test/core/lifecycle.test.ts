import { spawn } from 'node:child_process';
import { REPO_ROOT, TSX_ARGS } from '@mlflow-kit/test-support/tsx';
import { describe, expect, it } from 'vitest';
import { python, trackingUri, uniqueName } from '../helpers/python.js';

interface ChildResult {
  runId: string;
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
}

function runChild(mode: string, signal?: NodeJS.Signals): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...TSX_ARGS, 'test/core/fixtures/lifecycle-child.ts', mode], {
      cwd: REPO_ROOT,
      env: {
        ...process.env,
        MLFLOW_KIT_ENABLED: '1',
        MLFLOW_TRACKING_URI: trackingUri(),
        EXPERIMENT: uniqueName('lifecycle'),
        // A loaded CI machine may be slow; this test is about what happens, not how fast.
        MLFLOW_KIT_EXIT_TIMEOUT: '90',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let runId = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const match = /"runId":"([0-9a-f]{32})"/.exec(stdout);
      if (match && !runId) {
        runId = match[1]!;
        if (signal) child.kill(signal);
      }
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('exit', (code, exitSignal) => {
      clearTimeout(timer);
      if (!runId) reject(new Error(`child printed no run id (code ${code}):\n${stderr}`));
      else resolve({ runId, code, signal: exitSignal, stdout });
    });
  });
}

function readBack(runId: string) {
  return python<{ status: string; end_time: number | null; points: number; mode: string }>(`
import json, mlflow
from mlflow import MlflowClient
r = mlflow.get_run("${runId}")
print(json.dumps({"status": r.info.status, "end_time": r.info.end_time, "mode": r.data.params.get("mode"),
  "points": len(MlflowClient().get_metric_history("${runId}", "loss"))}))
`);
}

describe('run lifecycle at process end', () => {
  it('sends queued data and ends an open run FINISHED when the program finishes', async () => {
    const child = await runChild('exit');
    expect(child.code).toBe(0);
    expect(await readBack(child.runId)).toMatchObject({ status: 'FINISHED', points: 3000, mode: 'exit' });
  });

  it('on SIGTERM sends queued data, ends the run KILLED and dies of the signal', async () => {
    const child = await runChild('wait', 'SIGTERM');
    expect(child.signal).toBe('SIGTERM');
    const run = await readBack(child.runId);
    expect(run).toMatchObject({ status: 'KILLED', points: 3000 });
    expect(run.end_time).toBeGreaterThan(0);
  });

  it('on SIGINT ends the run KILLED but leaves exiting to a program that handles SIGINT itself', async () => {
    const child = await runChild('own-handler', 'SIGINT');
    expect(child.code).toBe(7);
    expect(child.stdout).toContain('own handler');
    expect(await readBack(child.runId)).toMatchObject({ status: 'KILLED', points: 3000 });
  });
});
