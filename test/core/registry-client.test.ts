import { closeStores, createClient, startRun } from '@mlflow-kit/core';
import { logModel, resolveModelUri } from '@mlflow-kit/tfjs';
import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import { python as runPython, trackingUri, uniqueName } from '../helpers/python.js';
import { storeFor } from '../helpers/stores.js';

/** MLflow's telemetry thread sometimes dies on exit; it is off here. */
const python = <T>(code: string): Promise<T> => runPython<T>(code, { MLFLOW_DISABLE_TELEMETRY: 'true' });

afterAll(closeStores);

/** A run whose artifacts hold a model directory `model/` with an MLmodel file. */
async function runWithModelDirectory(): Promise<{ runId: string; artifactUri: string }> {
  const store = await storeFor({ trackingUri: trackingUri() });
  const experimentId = await store.createExperiment(uniqueName('registry-client'));
  const run = await store.createRun({ experimentId, startTime: Date.now(), userId: 'tester', tags: {} });
  await store.uploadArtifact(run.info.artifactUri, 'model/MLmodel', {
    bytes: new TextEncoder().encode('artifact_path: model\nflavors: {tfjs: {format: layers-model}}\n'),
  });
  return { runId: run.info.runId, artifactUri: run.info.artifactUri };
}

/** Logs a small tfjs model with the adapter, as an MLflow 3 logged model of a finished run. */
async function logTinyModel(): Promise<{
  runId: string;
  modelId: string | undefined;
  modelUri: string;
  artifactUri: string;
}> {
  const run = await startRun({
    trackingUri: trackingUri(),
    enabled: true,
    experimentName: uniqueName('reg-lm'),
  });
  const model = tf.sequential({ layers: [tf.layers.dense({ units: 2, inputShape: [3] })] });
  const info = await logModel(run, model, 'model', { tf });
  await run.end();
  if (!info) throw new Error('logModel logged nothing');
  return { runId: info.runId, modelId: info.modelId, modelUri: info.modelUri, artifactUri: info.artifactUri };
}

describe('MlflowClient registry calls against the real server, read back by the Python client', () => {
  const client = createClient({ trackingUri: trackingUri() });

  it('registers runs:/ sources, renames, describes and tags; Python sees every change', async () => {
    const { runId, artifactUri } = await runWithModelDirectory();
    const name = uniqueName('reg-client');
    const v1 = await client.registerModel(`runs:/${runId}/model`, name, {
      description: 'first',
      tags: { stage: 'dev' },
    });
    expect(v1).toMatchObject({ name, version: '1', status: 'READY', runId, source: `${artifactUri}/model` });
    // register_model on an existing name adds a version.
    const v2 = await client.registerModel(`runs:/${runId}/model`, name);
    expect(v2.version).toBe('2');

    const renamed = uniqueName('reg-client-renamed');
    expect((await client.renameRegisteredModel(name, renamed)).name).toBe(renamed);
    expect((await client.updateRegisteredModel(renamed, 'iris classifier')).description).toBe(
      'iris classifier',
    );
    await client.setRegisteredModelTag(renamed, 'team', 'vision');
    await client.setRegisteredModelTag(renamed, 'obsolete', 'yes');
    await client.deleteRegisteredModelTag(renamed, 'obsolete');
    expect((await client.updateModelVersion(renamed, '2', 'second')).description).toBe('second');
    await client.setModelVersionTag(renamed, '2', 'validated', 'true');
    await client.deleteModelVersionTag(renamed, '1', 'stage');
    await client.setRegisteredModelAlias(renamed, 'champion', '2');
    await client.transitionModelVersionStage(renamed, '1', 'Staging');

    const seen = await python<{
      description: string;
      tags: Record<string, string>;
      aliases: Record<string, string>;
      versions: Record<
        string,
        { description: string; tags: Record<string, string>; stage: string; source: string }
      >;
      old_name_found: number;
    }>(`
import json
from mlflow import MlflowClient
c = MlflowClient()
m = c.get_registered_model(${JSON.stringify(renamed)})
vs = {v.version: {"description": v.description or "", "tags": v.tags, "stage": v.current_stage, "source": v.source}
      for v in c.search_model_versions(f"name='${renamed}'")}
print(json.dumps({"description": m.description, "tags": m.tags, "aliases": m.aliases, "versions": vs,
                  "old_name_found": len(c.search_registered_models(f"name='${name}'"))}))
`);
    expect(seen).toEqual({
      description: 'iris classifier',
      tags: { team: 'vision' },
      aliases: { champion: '2' },
      versions: {
        '1': { description: 'first', tags: {}, stage: 'Staging', source: `${artifactUri}/model` },
        '2': {
          description: 'second',
          tags: { validated: 'true' },
          stage: 'None',
          source: `${artifactUri}/model`,
        },
      },
      old_name_found: 0,
    });

    const found = await client.searchRegisteredModels({ filter: `name = '${renamed}'` });
    expect(found.items.map((model) => model.name)).toEqual([renamed]);
    await client.deleteRegisteredModelAlias(renamed, 'champion');
    await client.deleteModelVersion(renamed, '1');
    expect(
      (await client.searchModelVersions({ filter: `name = '${renamed}'` })).items.map((v) => v.version),
    ).toEqual(['2']);
    await client.deleteRegisteredModel(renamed);
    const gone = await python<{ count: number }>(`
import json
from mlflow import MlflowClient
print(json.dumps({"count": len(MlflowClient().search_registered_models(f"name='${renamed}'"))}))
`);
    expect(gone.count).toBe(0);
  });

  it('registers an MLflow 3 logged model from models:/<model_id> and from runs:/<run_id>/<name>', async () => {
    const info = await logTinyModel();
    expect(info.modelId).toMatch(/^m-/);
    const name = uniqueName('reg-logged');
    const byId = await client.registerModel(info.modelUri ?? '', name);
    // The REST answer carries no model_id (MLflow's ModelVersion.to_proto leaves it out): the source names it.
    expect(byId).toMatchObject({ version: '1', status: 'READY', source: `models:/${info.modelId}` });
    const byRun = await client.registerModel(`runs:/${info.runId}/model`, name);
    expect(byRun).toMatchObject({ version: '2', source: `models:/${info.modelId}` });
    expect(await client.getModelVersionDownloadUri(name, '2')).toBe(info.artifactUri);
    const seen = await python<{ source: string; run_id: string }>(`
import json
from mlflow import MlflowClient
v = MlflowClient().get_model_version(${JSON.stringify(name)}, "2")
print(json.dumps({"source": v.source, "run_id": v.run_id}))
`);
    expect(seen).toEqual({ source: `models:/${info.modelId}`, run_id: info.runId });
  });

  it('a runs:/ URI with neither a model directory nor a logged model is an error naming the fix', async () => {
    const { runId } = await runWithModelDirectory();
    await expect(client.registerModel(`runs:/${runId}/nothing-here`, uniqueName('reg-none'))).rejects.toThrow(
      /no MLmodel under nothing-here.*log the model first/,
    );
  });

  it('resolves the aliases and stages the Python client set, in every models:/ form', async () => {
    const { runId, artifactUri } = await runWithModelDirectory();
    const name = uniqueName('reg-python');
    const info = await logTinyModel();
    await python(`
import json
from mlflow import MlflowClient
c = MlflowClient()
c.create_registered_model(${JSON.stringify(name)})
c.create_model_version(${JSON.stringify(name)}, "${artifactUri}/model", run_id="${runId}")
c.create_model_version(${JSON.stringify(name)}, "${artifactUri}/model", run_id="${runId}")
c.set_registered_model_alias(${JSON.stringify(name)}, "challenger", "2")
c.transition_model_version_stage(${JSON.stringify(name)}, "1", "Production")
print(json.dumps({}))
`);
    expect((await client.getModelVersionByAlias(name, 'challenger')).version).toBe('2');
    const production = await client.getLatestVersions(name, ['Production']);
    expect(production.map((version) => version.version)).toEqual(['1']);
    const model = { root: `${artifactUri}/model`, path: '' };
    expect(await resolveModelUri(`models:/${name}@challenger`, client)).toEqual(model);
    expect(await resolveModelUri(`models:/${name}/Production`, client)).toEqual(model);
    expect(await resolveModelUri(`models:/${name}/production`, client)).toEqual(model);
    expect(await resolveModelUri(`models:/${name}/1`, client)).toEqual(model);
    expect(await resolveModelUri(`models:/${name}/latest`, client)).toEqual(model);
    expect(await resolveModelUri(info.modelUri ?? '', client)).toEqual({
      root: info.artifactUri,
      path: '',
    });
  });
});
