import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  getActiveRun,
  MlflowKitError,
  MlflowRunDeletedError,
  type Run,
  setDiagLogger,
  startRun,
} from '@mlflow-kit/core';
import { smallClassifier, trainingData, useWasm } from '@mlflow-kit/test-support/test-models';
import { autolog, mlflowCallback } from '@mlflow-kit/tfjs';
import * as tf from '@tensorflow/tfjs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { spawnCli } from '../cli/fixtures.js';
import { python, trackingUri, uniqueName } from '../helpers/python.js';

// What MLflow 3.17.2 answers to a write into a run deleted by `mlflow runs delete` (checked with curl against
// the real server): 400 INVALID_PARAMETER_VALUE "The run <id> must be in the 'active' state. Current state is
// deleted." for log-batch, set-tag and update; artifact uploads are still accepted.

const diagLines: string[] = [];

beforeAll(() => {
  const record = (message: string) => diagLines.push(message);
  setDiagLogger({ error: record, warn: record, info: record, debug: record }, 'debug');
});

afterEach(() => {
  diagLines.length = 0;
});

afterAll(() => {
  setDiagLogger(undefined);
});

async function deleteRun(runId: string): Promise<void> {
  await python(`
from mlflow import MlflowClient
MlflowClient().delete_run("${runId}")
print("true")
`);
}

interface ServerRun {
  status: string;
  stage: string;
  params: Record<string, string>;
  tags: Record<string, string>;
  steps: number[];
  artifacts: string[];
}

async function readRun(runId: string, restore = false): Promise<ServerRun> {
  return python<ServerRun>(`
import json
from mlflow import MlflowClient
c = MlflowClient()
${restore ? `c.restore_run("${runId}")` : ''}
r = c.get_run("${runId}")
print(json.dumps({"status": r.info.status, "stage": r.info.lifecycle_stage, "params": r.data.params,
  "tags": {k: v for k, v in r.data.tags.items() if not k.startswith("mlflow.")},
  "steps": sorted(m.step for m in c.get_metric_history("${runId}", "loss")),
  "artifacts": sorted(f.path for f in c.list_artifacts("${runId}"))}))
`);
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  return undefined;
}

/** Waits until a diag line says the run was deleted (the background send got the server's answer). */
async function deletedLine(runId: string): Promise<string> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const line = diagLines.find((text) => text.includes(runId) && text.includes('was deleted'));
    if (line) return line;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`no diag line about the deleted run:\n${diagLines.join('\n')}`);
}

/** Runs the exact `mlflow-kit sync` command an error or the exit line names. */
async function syncAsNamed(text: string): Promise<void> {
  const match = /mlflow-kit sync (\S+) --to ([^\s`]+)/.exec(text);
  expect(match, text).not.toBeNull();
  const { done } = spawnCli(['sync', match![1]!, '--to', match![2]!]);
  const result = await done;
  expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0);
}

function startTestRun(spoolDir: string): Promise<Run> {
  return startRun({
    enabled: true,
    trackingUri: trackingUri(),
    experimentName: uniqueName('deleted-run'),
    spoolDir,
    flushIntervalMs: 50,
    exitTimeoutSeconds: 5,
  });
}

describe('logging to a run deleted on the server', () => {
  it('reports at once, keeps the data in the spool, rejects flush() and end() with a typed error; sync after a restore completes the run', async () => {
    const spoolDir = mkdtempSync(join(tmpdir(), 'deleted-run-spool-'));
    const run = await startTestRun(spoolDir);
    run.logParam('lr', 0.1);
    for (let step = 0; step < 5; step++) run.logMetric('loss', 1 / (step + 1), { step });
    await run.flush();
    await deleteRun(run.runId);

    // Training goes on: log calls never throw.
    for (let step = 5; step < 10; step++) run.logMetric('loss', 1 / (step + 1), { step });
    run.setTag('phase', 'after-delete');
    run.logParam('epochs', 10);
    const line = await deletedLine(run.runId);
    expect(line).toContain(`mlflow runs restore --run-id ${run.runId}`);

    const flushed = await rejection(run.flush());
    expect(MlflowRunDeletedError.isInstance(flushed), String(flushed)).toBe(true);
    expect(MlflowKitError.isInstance(flushed)).toBe(true);
    const error = flushed as MlflowRunDeletedError;
    expect(error.runId).toBe(run.runId);
    expect(error.permanent).toBe(false);
    expect(error.message).toContain(run.runId);
    expect(error.message).toContain(`mlflow runs restore --run-id ${run.runId}`);
    expect(error.message).toContain('mlflow-kit sync');
    expect(error.message).toContain('start a new run');

    await run.logText('written after the delete', 'notes.txt');
    const ended = await rejection(run.end());
    expect(MlflowRunDeletedError.isInstance(ended), String(ended)).toBe(true);

    // Nothing after the delete reached the server, and the run was not marked ended.
    const before = await readRun(run.runId);
    expect(before).toMatchObject({ status: 'RUNNING', stage: 'deleted', params: { lr: '0.1' } });
    expect(before.steps).toEqual([0, 1, 2, 3, 4]);

    // The spool holds the rest, with the end status.
    const spooled = readdirSync(spoolDir, { recursive: true }) as string[];
    const metricFile = spooled.find((path) => path.endsWith(join(run.runId, 'metrics', 'loss')));
    expect(metricFile).toBeDefined();
    expect(readFileSync(join(spoolDir, metricFile!), 'utf8').trim().split('\n')).toHaveLength(5);

    const restored = await readRun(run.runId, true);
    expect(restored.stage).toBe('active');
    await syncAsNamed((ended as Error).message);
    const after = await readRun(run.runId);
    expect(after).toMatchObject({
      status: 'FINISHED',
      stage: 'active',
      params: { lr: '0.1', epochs: '10' },
      tags: { phase: 'after-delete' },
      artifacts: ['notes.txt'],
    });
    expect(after.steps).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  }, 120_000);

  it('end() on a run deleted after its data was sent rejects, and does not mark it FINISHED', async () => {
    const spoolDir = mkdtempSync(join(tmpdir(), 'deleted-run-spool-'));
    const run = await startTestRun(spoolDir);
    run.logMetric('loss', 0.5, { step: 0 });
    await run.flush();
    await deleteRun(run.runId);
    const ended = await rejection(run.end());
    expect(MlflowRunDeletedError.isInstance(ended), String(ended)).toBe(true);
    expect((ended as Error).message).toContain(run.runId);
    await deletedLine(run.runId);
    // A second end() gives the same answer, not a success.
    expect(MlflowRunDeletedError.isInstance(await rejection(run.end()))).toBe(true);
    expect(await readRun(run.runId)).toMatchObject({ status: 'RUNNING', stage: 'deleted' });

    await readRun(run.runId, true);
    await syncAsNamed((ended as Error).message);
    expect(await readRun(run.runId)).toMatchObject({ status: 'FINISHED', stage: 'active', steps: [0] });
  }, 120_000);

  it('withRun rejects with the typed error instead of reporting success', async () => {
    const { withRun } = await import('@mlflow-kit/core');
    let runId = '';
    const outcome = await rejection(
      withRun(
        {
          enabled: true,
          trackingUri: trackingUri(),
          experimentName: uniqueName('deleted-run'),
          spoolDir: mkdtempSync(join(tmpdir(), 'deleted-run-spool-')),
        },
        async (run) => {
          runId = run.runId;
          await deleteRun(run.runId);
          run.logMetric('loss', 1, { step: 0 });
          return 'trained';
        },
      ),
    );
    expect(MlflowRunDeletedError.isInstance(outcome), String(outcome)).toBe(true);
    expect((outcome as Error).message).toContain(runId);
  }, 120_000);
});

describe('a run deleted during model.fit never throws into training', () => {
  const epochs = 3;

  async function fitDeletingAt(
    epoch: number,
    callbacks: (deleter: tf.CustomCallback) => unknown,
  ): Promise<{
    history: tf.History;
    runId: string;
  }> {
    await useWasm();
    const model = smallClassifier();
    const { xs, ys } = trainingData(12);
    let runId = '';
    const deleter = new tf.CustomCallback({
      onEpochEnd: async (index) => {
        const run = getActiveRun();
        if (index !== epoch || !run?.isRecording) return;
        runId = run.runId;
        await deleteRun(run.runId);
      },
    });
    try {
      const history = await model.fit(xs, ys, { epochs, verbose: 0, callbacks: callbacks(deleter) as never });
      return { history, runId };
    } finally {
      xs.dispose();
      ys.dispose();
    }
  }

  it('mlflowCallback: fit resolves, the run is reported deleted through diag', async () => {
    const callback = mlflowCallback({
      enabled: true,
      trackingUri: trackingUri(),
      experimentName: uniqueName('deleted-fit'),
      spoolDir: mkdtempSync(join(tmpdir(), 'deleted-run-spool-')),
      logModel: false,
      flushIntervalMs: 50,
    });
    const { history, runId } = await fitDeletingAt(0, (deleter) => [callback, deleter]);
    expect(history.epoch).toHaveLength(epochs);
    expect(runId).not.toBe('');
    expect(diagLines.some((line) => line.includes(runId) && line.includes('was deleted'))).toBe(true);
    expect(await readRun(runId)).toMatchObject({ status: 'RUNNING', stage: 'deleted' });
  }, 120_000);

  it('autolog: fit resolves, the run is reported deleted through diag', async () => {
    const disable = autolog({
      tf,
      enabled: true,
      trackingUri: trackingUri(),
      experimentName: uniqueName('deleted-autolog'),
      spoolDir: mkdtempSync(join(tmpdir(), 'deleted-run-spool-')),
      logModel: false,
      flushIntervalMs: 50,
    });
    try {
      const { history, runId } = await fitDeletingAt(1, (deleter) => [deleter]);
      expect(history.epoch).toHaveLength(epochs);
      expect(runId).not.toBe('');
      expect(diagLines.some((line) => line.includes(runId) && line.includes('was deleted'))).toBe(true);
      expect(await readRun(runId)).toMatchObject({ status: 'RUNNING', stage: 'deleted' });
    } finally {
      disable();
    }
  }, 120_000);
});
