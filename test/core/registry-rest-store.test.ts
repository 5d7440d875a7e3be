import { closeStores } from '@mlflow-kit/core';
import { afterAll, describe, expect, it } from 'vitest';
import { python as runPython, trackingUri, uniqueName } from '../helpers/python.js';
import { storeFor } from '../helpers/stores.js';

/** MLflow's telemetry thread sometimes dies on exit with KeyError '_MLFLOW_TELEMETRY_SESSION_ID'; it is off here. */
const python = <T>(code: string): Promise<T> => runPython<T>(code, { MLFLOW_DISABLE_TELEMETRY: 'true' });

const store = await storeFor({ trackingUri: trackingUri(), maxRetries: 2, backoffFactor: 0.05 });
// An http(s) URI gives the REST store, which has a registry.
const registry = store.registry!;

afterAll(closeStores);

async function runWithModelFiles(): Promise<{ runId: string; experimentId: string; artifactUri: string }> {
  const experimentId = await store.createExperiment(uniqueName('registry'));
  const run = await store.createRun({ experimentId, startTime: Date.now(), userId: 'tester', tags: {} });
  const { artifactUri, runId } = run.info;
  await store.uploadArtifact(artifactUri, 'model/MLmodel', {
    bytes: new TextEncoder().encode('artifact_path: model\nflavors: {}\n'),
  });
  await store.uploadArtifact(artifactUri, 'model/model.json', {
    bytes: new TextEncoder().encode('{"format":"layers-model"}'),
  });
  return { runId, experimentId, artifactUri };
}

describe('RestStore registry against the real MLflow server', () => {
  it('registers a version from a run artifact source, aliases it, moves its stage, and Python finds it by alias', async () => {
    const { runId, artifactUri } = await runWithModelFiles();
    const name = uniqueName('tfjs-model');
    await registry.createRegisteredModel(name, { description: 'a tfjs model', tags: { team: 'vision' } });

    const v1 = await registry.createModelVersion({
      name,
      source: `${artifactUri}/model`,
      runId,
      tags: { flavor: 'tfjs' },
    });
    expect(v1).toMatchObject({
      name,
      version: '1',
      status: 'READY',
      runId,
      source: `${artifactUri}/model`,
      tags: { flavor: 'tfjs' },
    });
    const v2 = await registry.createModelVersion({ name, source: `${artifactUri}/model`, runId });
    expect(v2.version).toBe('2');

    await registry.setRegisteredModelAlias(name, 'champion', '1');
    const champion = await registry.getModelVersionByAlias(name, 'champion');
    expect(champion).toMatchObject({ version: '1', aliases: ['champion'] });

    const staged = await registry.transitionModelVersionStage(name, '2', 'Staging');
    expect(staged.currentStage).toBe('Staging');
    const latest = await registry.getLatestVersions(name, ['Staging']);
    expect(latest.map((version) => version.version)).toEqual(['2']);

    expect(await registry.getModelVersionDownloadUri(name, '1')).toBe(`${artifactUri}/model`);

    const model = await registry.getRegisteredModel(name);
    expect(model).toMatchObject({
      name,
      description: 'a tfjs model',
      tags: { team: 'vision' },
      aliases: { champion: '1' },
    });
    const search = await registry.searchModelVersions({ filter: `name = '${name}'` });
    expect(search.items.map((version) => version.version).sort()).toEqual(['1', '2']);
    const models = await registry.searchRegisteredModels({ filter: `name = '${name}'` });
    expect(models.items.map((item) => item.name)).toEqual([name]);

    const seen = await python<{ version: string; run_id: string; source: string; stage2: string }>(`
import json
from mlflow import MlflowClient
c = MlflowClient()
v = c.get_model_version_by_alias("${name}", "champion")
print(json.dumps({"version": v.version, "run_id": v.run_id, "source": v.source, "stage2": c.get_model_version("${name}", "2").current_stage}))
`);
    expect(seen).toEqual({ version: '1', run_id: runId, source: `${artifactUri}/model`, stage2: 'Staging' });

    await registry.deleteRegisteredModelAlias(name, 'champion');
    // MLflow answers a missing alias with 400 INVALID_PARAMETER_VALUE, not 404.
    await expect(registry.getModelVersionByAlias(name, 'champion')).rejects.toMatchObject({
      status: 400,
      errorCode: 'INVALID_PARAMETER_VALUE',
    });
    await registry.deleteModelVersion(name, '2');
    await registry.deleteRegisteredModel(name);
    await expect(registry.getRegisteredModel(name)).rejects.toMatchObject({
      errorCode: 'RESOURCE_DOES_NOT_EXIST',
    });
  });

  it('rejects a duplicate registered model name with RESOURCE_ALREADY_EXISTS', async () => {
    const name = uniqueName('dup-model');
    await registry.createRegisteredModel(name);
    await expect(registry.createRegisteredModel(name)).rejects.toMatchObject({
      status: 400,
      errorCode: 'RESOURCE_ALREADY_EXISTS',
    });
  });

  it('creates a logged model, uploads to its artifact root, records it as a run output and finalizes it READY', async () => {
    const { runId, experimentId } = await runWithModelFiles();
    const created = await registry.createLoggedModel({
      experimentId,
      name: 'tfjs_classifier',
      modelType: 'tfjs',
      sourceRunId: runId,
      params: { units: '16' },
      tags: { framework: 'tfjs' },
    });
    expect(created).toMatchObject({
      experimentId,
      name: 'tfjs_classifier',
      status: 'LOGGED_MODEL_PENDING',
      sourceRunId: runId,
      modelType: 'tfjs',
    });
    expect(created.artifactUri).toMatch(new RegExp(`/${experimentId}/models/${created.modelId}/artifacts$`));

    await store.uploadArtifact(created.artifactUri, 'MLmodel', {
      bytes: new TextEncoder().encode('flavors: {}\n'),
    });
    expect((await store.listArtifacts(created.artifactUri)).map((file) => file.path)).toEqual(['MLmodel']);
    await registry.logOutputs(runId, [{ modelId: created.modelId, step: 3 }]);
    const ready = await registry.finalizeLoggedModel(created.modelId, 'LOGGED_MODEL_READY');
    expect(ready.status).toBe('LOGGED_MODEL_READY');
    expect(await registry.getLoggedModel(created.modelId)).toMatchObject({
      status: 'LOGGED_MODEL_READY',
      params: { units: '16' },
      tags: { framework: 'tfjs' },
    });

    const name = uniqueName('from-logged');
    await registry.createRegisteredModel(name);
    const version = await registry.createModelVersion({
      name,
      source: `models:/${created.modelId}`,
      modelId: created.modelId,
    });
    expect(version).toMatchObject({ status: 'READY', source: `models:/${created.modelId}`, runId });

    const seen = await python<{ status: string; outputs: [string, number][] }>(`
import json
from mlflow import MlflowClient
c = MlflowClient()
m = c.get_logged_model("${created.modelId}")
r = c.get_run("${runId}")
print(json.dumps({"status": str(m.status), "outputs": [[o.model_id, o.step] for o in r.outputs.model_outputs]}))
`);
    expect(seen.status).toMatch(/READY/);
    expect(seen.outputs).toEqual([[created.modelId, 3]]);
  });
});
