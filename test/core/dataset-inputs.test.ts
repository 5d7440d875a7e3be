import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { closeStores, type DatasetInput, startRun } from '@mlflow-kit/core';
import { createFaultProxy, type FaultProxy } from '@mlflow-kit/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { python, trackingUri, uniqueName } from '../helpers/python.js';

const INPUTS: DatasetInput[] = [
  {
    dataset: {
      name: 'iris_train',
      digest: 'cf3e3229',
      sourceType: 'code',
      source: JSON.stringify({ tags: { 'mlflow.source.name': 'train.ts' } }),
      schema: JSON.stringify({
        mlflow_tensorspec: {
          features: JSON.stringify([{ type: 'tensor', 'tensor-spec': { dtype: 'float32', shape: [-1, 4] } }]),
          targets: null,
        },
      }),
      profile: JSON.stringify({ num_rows: 120 }),
    },
    tags: { 'mlflow.data.context': 'train' },
  },
  {
    dataset: { name: 'iris_eval', digest: '0a1b2c3d', sourceType: 'code', source: '{"tags": {}}' },
    tags: { 'mlflow.data.context': 'eval' },
  },
];

interface PyInput {
  name: string;
  digest: string;
  source_type: string;
  source: string;
  schema: string | null;
  profile: string | null;
  tags: Record<string, string>;
}

/** `run.inputs.dataset_inputs` as the official client reads them, sorted by name. */
function readInputs(runId: string, env: Record<string, string> = {}): Promise<PyInput[]> {
  return python<PyInput[]>(
    `
import json, mlflow
r = mlflow.get_run("${runId}")
out = [{"name": d.dataset.name, "digest": d.dataset.digest, "source_type": d.dataset.source_type,
  "source": d.dataset.source, "schema": d.dataset.schema, "profile": d.dataset.profile,
  "tags": {t.key: t.value for t in d.tags}} for d in r.inputs.dataset_inputs]
print(json.dumps(sorted(out, key=lambda d: d["name"])))
`,
    env,
  );
}

const EXPECTED: PyInput[] = [
  {
    name: 'iris_eval',
    digest: '0a1b2c3d',
    source_type: 'code',
    source: '{"tags": {}}',
    schema: null,
    profile: null,
    tags: { 'mlflow.data.context': 'eval' },
  },
  {
    name: 'iris_train',
    digest: 'cf3e3229',
    source_type: 'code',
    source: INPUTS[0]!.dataset.source,
    schema: INPUTS[0]!.dataset.schema!,
    profile: '{"num_rows":120}',
    tags: { 'mlflow.data.context': 'train' },
  },
];

const roots: string[] = [];
let proxy: FaultProxy;

beforeAll(async () => {
  proxy = await createFaultProxy({ target: trackingUri() });
});

afterAll(async () => {
  await closeStores();
  await proxy.stop();
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  roots.push(dir);
  return dir;
}

describe('run.logInputs: datasets the official client sees as run.inputs.dataset_inputs', () => {
  it('on the server: name, digest, source, schema, profile and the context tag; logging again adds nothing', async () => {
    const run = await startRun({
      enabled: true,
      trackingUri: trackingUri(),
      experimentName: uniqueName('inputs'),
    });
    await run.logInputs(INPUTS);
    await run.logInputs([INPUTS[0]!]);
    await run.end();
    expect(await readInputs(run.runId)).toEqual(EXPECTED);
  });

  it('in ./mlruns: written as MLflow FileStore writes them, read by the official client', async () => {
    const root = tempDir('mlflow-kit-inputs-local-');
    const run = await startRun({ enabled: true, trackingUri: root, experimentName: 'local-inputs' });
    await run.logInputs(INPUTS);
    await run.end();
    expect(await readInputs(run.runId, { MLFLOW_TRACKING_URI: pathToFileURL(root).href })).toEqual(EXPECTED);
  });

  it('with the server unreachable at start: spooled, then replayed into the run created on the server', async () => {
    const experiment = uniqueName('inputs-offline');
    await proxy.stop();
    const run = await startRun({
      enabled: true,
      trackingUri: proxy.uri,
      experimentName: experiment,
      spoolDir: tempDir('mlflow-kit-inputs-spool-'),
      exitTimeoutSeconds: 2,
      startTimeoutSeconds: 1,
      maxRetries: 1,
    });
    await run.logInputs(INPUTS);
    run.logMetric('loss', 0.5);
    await proxy.start();
    await run.end();
    const deadline = Date.now() + 60_000;
    let inputs: PyInput[] = [];
    while (Date.now() < deadline) {
      inputs = await python<PyInput[]>(`
import json, mlflow
from mlflow import MlflowClient
c = MlflowClient()
exp = c.get_experiment_by_name("${experiment}")
runs = [] if exp is None else c.search_runs([exp.experiment_id])
out = [] if not runs else [{"name": d.dataset.name, "digest": d.dataset.digest, "source_type": d.dataset.source_type,
  "source": d.dataset.source, "schema": d.dataset.schema, "profile": d.dataset.profile,
  "tags": {t.key: t.value for t in d.tags}} for d in runs[0].inputs.dataset_inputs]
print(json.dumps(sorted(out, key=lambda d: d["name"])))
`);
      if (inputs.length === 2) break;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    expect(inputs).toEqual(EXPECTED);
  }, 120_000);

  it('refuses a dataset without a name with a typed error, before anything is sent', async () => {
    const run = await startRun({
      enabled: true,
      trackingUri: trackingUri(),
      experimentName: uniqueName('inputs'),
    });
    await expect(
      run.logInputs([{ dataset: { name: '', digest: 'x', sourceType: 'code', source: '{}' } }]),
    ).rejects.toThrow(/non-empty `name`/);
    await run.end();
  });
});
