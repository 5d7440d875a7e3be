import { type ChildProcess, spawn } from 'node:child_process';
import { createClient, type Metric } from '@mlflow-kit/core';
import { REPO_ROOT, TSX_ARGS } from '@mlflow-kit/test-support/tsx';
import { CLI_SOURCE } from '../helpers/cli-source.js';
import { python } from '../helpers/python.js';
import { storeFor } from '../helpers/stores.js';

/** Point value of run `run`, point `index`: distinct per run and point, NaN now and then. */
export function pointValue(run: number, index: number): number {
  return index % 2500 === 7 ? Number.NaN : Math.sin(index / 10) * (run + 1) + index / 1e5;
}

/**
 * Writes `runs` finished runs of `points` points each into a local store, the first run the parent of the
 * others, with params, tags, a second metric, a key with "/" and two artifacts.
 */
export async function writeLocalRuns(
  root: string,
  experimentName: string,
  runs: number,
  points: number,
): Promise<string[]> {
  const store = await storeFor({ trackingUri: root });
  const experimentId = await store.createExperiment(experimentName, { tags: { origin: 'offline' } });
  const ids: string[] = [];
  const base = 1_700_000_000_000;
  for (let run = 0; run < runs; run++) {
    const tags: Record<string, string> = { 'mlflow.user': 'trainer', team: 'vision' };
    if (run > 0 && ids[0]) tags['mlflow.parentRunId'] = ids[0];
    const record = await store.createRun({
      experimentId,
      startTime: base + run * 1000,
      userId: 'trainer',
      runName: `run-${run}`,
      tags,
    });
    const runId = record.info.runId;
    ids.push(runId);
    await store.logBatch(runId, {
      params: [
        { key: 'lr', value: String(0.001 * (run + 1)) },
        { key: 'model/units', value: String(32 * (run + 1)) },
      ],
    });
    for (let start = 0; start < points; start += 1000) {
      const metrics: Metric[] = [];
      for (let index = start; index < Math.min(points, start + 1000); index++) {
        metrics.push({
          key: 'loss',
          value: pointValue(run, index),
          timestamp: base + run * 1000 + index * 3,
          step: index,
        });
      }
      await store.logBatch(runId, { metrics });
    }
    await store.logBatch(runId, {
      metrics: Array.from({ length: 20 }, (_, epoch) => ({
        key: 'val/acc',
        value: epoch / 20,
        timestamp: base + epoch,
        step: epoch,
      })),
    });
    await store.uploadArtifact(record.info.artifactUri, 'model/weights.bin', {
      bytes: new Uint8Array(4096).fill(run),
    });
    await store.uploadArtifact(record.info.artifactUri, 'notes.txt', {
      bytes: new TextEncoder().encode(`run ${run}`),
    });
    await store.updateRun(runId, {
      status: run === runs - 1 ? 'FAILED' : 'FINISHED',
      endTime: base + run * 1000 + points * 3 + 5,
    });
  }
  return ids;
}

/** A run as the comparison sees it: everything a sync must carry over, in a form both sides produce. */
export interface ComparableRun {
  run_name: string;
  status: string;
  start_time: number;
  end_time: number | null;
  user_id?: string;
  params: Record<string, string>;
  tags: Record<string, string>;
  history: Record<string, [number, number | string, number][]>;
  artifacts: Record<string, number>;
  notes: string;
  parent: string | null;
}

function sortHistory(points: [number, number | string, number][]): [number, number | string, number][] {
  return points.sort((a, b) => a[0] - b[0] || a[2] - b[2] || String(a[1]).localeCompare(String(b[1])));
}

/** Reads the local runs of an experiment in the comparable form, keyed by local run id. */
export async function readLocal(
  root: string,
  experimentName: string,
): Promise<Record<string, ComparableRun>> {
  const store = await storeFor({ trackingUri: root });
  const client = createClient({ trackingUri: root });
  const experiment = await store.getExperimentByName(experimentName);
  const runs = await store.searchRuns({ experimentIds: [experiment?.experimentId ?? ''] });
  const result: Record<string, ComparableRun> = {};
  for (const run of runs.items) {
    const history: ComparableRun['history'] = {};
    for (const key of Object.keys(run.data.metrics)) {
      history[key] = sortHistory(
        (await client.getMetricHistory(run.info.runId, key)).map((point) => [
          point.timestamp,
          Number.isNaN(point.value) ? 'nan' : point.value,
          point.step,
        ]),
      );
    }
    const { 'mlflow.parentRunId': parent, ...tags } = run.data.tags;
    result[run.info.runId] = {
      run_name: run.info.runName,
      status: run.info.status,
      start_time: run.info.startTime,
      end_time: run.info.endTime ?? null,
      params: run.data.params,
      tags,
      history,
      artifacts: {
        'model/weights.bin': 4096,
        'notes.txt': (await store.downloadArtifact(run.info.artifactUri, 'notes.txt')).length,
      },
      notes: new TextDecoder().decode(await store.downloadArtifact(run.info.artifactUri, 'notes.txt')),
      parent: parent ?? null,
    };
  }
  return result;
}

/**
 * Reads the runs of an experiment on the suite's server with the official Python client, keyed by the
 * local run id they came from (`mlflow-kit.sync.sourceRunId`); `parent` is mapped back to a local id.
 */
export async function readRemote(
  experimentName: string,
): Promise<{ count: number; runs: Record<string, ComparableRun> }> {
  const read = await python<{ count: number; runs: Record<string, ComparableRun> }>(`
import json, math, tempfile, os
import mlflow
from mlflow import MlflowClient
c = MlflowClient()
e = c.get_experiment_by_name(${JSON.stringify(experimentName)})
runs = c.search_runs([e.experiment_id], run_view_type=3, max_results=1000)
by_remote = {r.info.run_id: r.data.tags.get("mlflow-kit.sync.sourceRunId") for r in runs}
out = {}
for r in runs:
    src = r.data.tags.get("mlflow-kit.sync.sourceRunId")
    tags = {k: v for k, v in r.data.tags.items() if k not in ("mlflow-kit.sync.sourceRunId", "mlflow.parentRunId")}
    hist = {}
    for k in r.data.metrics:
        hist[k] = [[m.timestamp, m.value if math.isfinite(m.value) else str(m.value), m.step] for m in c.get_metric_history(r.info.run_id, k)]
    arts = {}
    def walk(p=None):
        for fi in c.list_artifacts(r.info.run_id, p):
            if fi.is_dir: walk(fi.path)
            else: arts[fi.path] = fi.file_size
    walk()
    try:
        notes = open(c.download_artifacts(r.info.run_id, "notes.txt", tempfile.mkdtemp())).read()
    except Exception:
        notes = None  # not uploaded yet (a sync killed halfway)
    parent = r.data.tags.get("mlflow.parentRunId")
    out[src] = {"run_name": r.info.run_name, "status": r.info.status, "start_time": r.info.start_time,
                "end_time": r.info.end_time, "params": r.data.params, "tags": tags, "history": hist,
                "artifacts": arts, "notes": notes, "parent": by_remote.get(parent) if parent else None}
print(json.dumps({"count": len(runs), "runs": out}))
`);
  for (const run of Object.values(read.runs)) {
    for (const key of Object.keys(run.history)) run.history[key] = sortHistory(run.history[key] ?? []);
  }
  return read;
}

/** Runs the CLI in a child process (`node --import tsx <@mlflow-kit/cli>/src/bin.ts ...`). */
export function spawnCli(
  args: string[],
  env: Record<string, string> = {},
): {
  child: ChildProcess;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
  onStderr(listener: (text: string) => void): void;
} {
  const child = spawn(process.execPath, [...TSX_ARGS, CLI_SOURCE, ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const listeners: ((text: string) => void)[] = [];
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    for (const listener of listeners) listener(chunk.toString());
  });
  const done = new Promise<{
    code: number | null;
    signal: NodeJS.Signals | null;
    stdout: string;
    stderr: string;
  }>((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { child, done, onStderr: (listener) => listeners.push(listener) };
}
