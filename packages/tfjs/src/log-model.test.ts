import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  createClient,
  getActiveRun,
  MlflowApiError,
  type ModelVersion,
  type RegistryStore,
  startRun,
} from '@mlflow-kit/core';
import { createMemoryStore } from '@mlflow-kit/core/testing';
import { describeBackends } from '@mlflow-kit/test-support/describe-backends';
import { smallClassifier, trainingData } from '@mlflow-kit/test-support/test-models';
import * as tf from '@tensorflow/tfjs';
import { afterEach, expect, it } from 'vitest';
import { toSnakeCase } from './internal/params.js';
import { toYaml } from './internal/yaml.js';
import { loadModel } from './load-model.js';
import { logModel } from './log-model.js';

afterEach(async () => {
  for (let run = getActiveRun(); run; run = getActiveRun()) await run.end();
});

/** A registry as the MLflow server keeps it, in memory: enough for registering and resolving model URIs. */
function fakeRegistry(): Partial<RegistryStore> & { versions: ModelVersion[]; aliases: Map<string, string> } {
  const names = new Set<string>();
  const versions: ModelVersion[] = [];
  const aliases = new Map<string, string>();
  const missing = (what: string) =>
    new MlflowApiError({
      endpoint: 'fake',
      status: 404,
      errorCode: 'RESOURCE_DOES_NOT_EXIST',
      serverMessage: what,
      retryable: false,
    });
  const find = (name: string, version: string) => {
    const found = versions.find((candidate) => candidate.name === name && candidate.version === version);
    if (!found) throw missing(`${name} v${version}`);
    return found;
  };
  return {
    versions,
    aliases,
    async getRegisteredModel(name) {
      if (!names.has(name)) throw missing(name);
      return { name, tags: {}, aliases: {}, latestVersions: [] };
    },
    async createRegisteredModel(name) {
      names.add(name);
      return { name, tags: {}, aliases: {}, latestVersions: [] };
    },
    async createModelVersion({ name, source, runId }) {
      const version: ModelVersion = {
        name,
        version: String(versions.filter((candidate) => candidate.name === name).length + 1),
        source,
        runId,
        status: 'READY',
        currentStage: 'None',
        tags: {},
        aliases: [],
      };
      versions.push(version);
      return version;
    },
    async getModelVersion(name, version) {
      return find(name, version);
    },
    async getModelVersionByAlias(name, alias) {
      return find(name, aliases.get(`${name}@${alias}`) ?? '');
    },
    async getLatestVersions(name) {
      return versions.filter((candidate) => candidate.name === name);
    },
    async getModelVersionDownloadUri(name, version) {
      return find(name, version).source;
    },
  };
}

describeBackends('logModel and loadModel', () => {
  it('registers versions, and loads by alias, version, stage and latest with equal predictions', async () => {
    const store = createMemoryStore();
    const registry = fakeRegistry();
    Object.assign(store, { registry });
    const run = await startRun({ enabled: true, store });
    const model = smallClassifier();
    const { xs, ys } = trainingData();
    await model.fit(xs, ys, { epochs: 2 });
    const first = await logModel(run, model, 'model', { registeredModelName: 'iris', tf });
    const second = await logModel(run, model, 'model-2', { registeredModelName: 'iris', tf });
    await run.end();
    expect([first?.registeredModelVersion, second?.registeredModelVersion]).toEqual(['1', '2']);
    expect(registry.versions[0]?.source).toBe(`${run.artifactUri}/model`);
    registry.aliases.set('iris@champion', '1');
    registry.versions[1]!.currentStage = 'Production';

    const expected = (model.predict(xs) as typeof xs).arraySync();
    const client = createClient({ store });
    for (const uri of [
      'models:/iris@champion',
      'models:/iris/1',
      'models:/iris/production',
      'models:/iris/latest',
      `runs:/${run.runId}/model`,
    ]) {
      const loaded = await loadModel(uri, { tf, client });
      expect((loaded.predict(xs) as typeof xs).arraySync(), uri).toEqual(expected);
    }
  });

  it("names models kept as run artifacts in the run's mlflow.log-model.history tag, one entry per path, as MLflow 2 does", async () => {
    const store = createMemoryStore();
    const run = await startRun({ enabled: true, store });
    const model = smallClassifier();
    const first = await logModel(run, model, 'model', { tf });
    await logModel(run, model, 'model', { tf });
    const other = await logModel(run, model, 'checkpoints/best', { tf });
    await run.end();
    const history = JSON.parse((await store.getRun(run.runId)).data.tags['mlflow.log-model.history']!);
    expect(history.map((entry: { artifact_path: string }) => entry.artifact_path)).toEqual([
      'model',
      'checkpoints/best',
    ]);
    expect(history[1]).toMatchObject({
      run_id: run.runId,
      model_uuid: other?.modelUuid,
      flavors: { tfjs: { format: 'layers-model', model_file: 'model.json' } },
    });
    expect(history[0].model_uuid).not.toBe(first?.modelUuid);
    expect(history[1].utc_time_created).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}$/);
  });

  it('keeps the newest entries of mlflow.log-model.history within 5000 characters', async () => {
    const store = createMemoryStore();
    const run = await startRun({ enabled: true, store });
    const model = smallClassifier();
    for (let index = 0; index < 20; index++) await logModel(run, model, `model-${index}`, { tf });
    await run.end();
    const tag = (await store.getRun(run.runId)).data.tags['mlflow.log-model.history']!;
    expect(tag.length).toBeLessThanOrEqual(5000);
    const paths = JSON.parse(tag).map((entry: { artifact_path: string }) => entry.artifact_path);
    expect(paths.length).toBeGreaterThan(1);
    expect(paths.at(-1)).toBe('model-19');
    expect(paths).not.toContain('model-0');
  });

  it('splits large weights into 4 MB shards that load back', async () => {
    const store = createMemoryStore();
    const run = await startRun({ enabled: true, store });
    const big = tf.sequential({ layers: [tf.layers.dense({ units: 1100, inputShape: [1000] })] });
    await logModel(run, big, 'big');
    await run.end();
    const manifest = JSON.parse(
      new TextDecoder().decode(store.artifacts.get(`${run.artifactUri}/big/model.json`)),
    );
    expect(manifest.weightsManifest[0].paths).toEqual(['group1-shard1of2.bin', 'group1-shard2of2.bin']);
    const loaded = await loadModel(`runs:/${run.runId}/big`, { tf, store });
    const input = tf.ones([1, 1000]);
    expect((loaded.predict(input) as typeof input).arraySync()).toEqual(
      (big.predict(input) as typeof input).arraySync(),
    );
  });

  it('does nothing for a run that does not record, and refuses to register without a registry', async () => {
    const model = smallClassifier();
    expect(await logModel(await startRun({ enabled: false }), model)).toBeUndefined();
    const run = await startRun({ enabled: true, store: createMemoryStore() });
    await expect(logModel(run, model, 'model', { registeredModelName: 'x' })).rejects.toThrow(
      /needs an MLflow tracking server/,
    );
  });

  it('marks the logged model UPLOAD_FAILED and rethrows when a file upload fails, in the local store', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mlflow-kit-logged-'));
    try {
      const store = await createClient({ trackingUri: pathToFileURL(dir).href }).store();
      const upload = store.uploadArtifact.bind(store);
      // The fault: the weights cannot be written to the logged model's artifact root.
      store.uploadArtifact = async (root, path, source) => {
        if (root.includes('/models/m-') && path.endsWith('.bin')) throw new Error('disk full');
        return upload(root, path, source);
      };
      const run = await startRun({ enabled: true, store });
      const model = smallClassifier();
      await expect(logModel(run, model, 'model')).rejects.toThrow('disk full');
      await run.end();
      const { items } = await store.loggedModels!.searchLoggedModels({ experimentIds: [run.experimentId] });
      expect(items.map((item) => [item.name, item.status, item.sourceRunId])).toEqual([
        ['model', 'LOGGED_MODEL_UPLOAD_FAILED', run.runId],
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('logs a logged model with explicit final metrics into the local store, and loads it by models:/<id>', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mlflow-kit-logged-'));
    try {
      const store = await createClient({ trackingUri: pathToFileURL(dir).href }).store();
      const run = await startRun({ enabled: true, store });
      run.logParams({ units: 8 });
      const model = smallClassifier();
      const { xs } = trainingData();
      const info = await logModel(run, model, 'nested/model', {
        metrics: { values: { loss: 0.25 }, step: 4, timestamp: 1_800_000_000_000 },
      });
      await run.end();
      expect(info?.modelUri).toBe(`models:/${info?.modelId}`);
      const logged = await store.loggedModels!.getLoggedModel(info!.modelId!);
      expect(logged).toMatchObject({
        name: 'nested_model',
        status: 'LOGGED_MODEL_READY',
        params: { units: '8' },
        metrics: [{ key: 'loss', value: 0.25, step: 4, timestamp: 1_800_000_000_000 }],
      });
      const loaded = await loadModel(info!.modelUri, { tf, store });
      expect((loaded.predict(xs) as typeof xs).arraySync()).toEqual(
        (model.predict(xs) as typeof xs).arraySync(),
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('names optimizer config keys as Keras does, and writes YAML Python reads back', () => {
    expect(
      ['learningRate', 'beta1', 'epsilon', 'useNesterov', 'initialAccumulatorValue'].map(toSnakeCase),
    ).toEqual(['learning_rate', 'beta_1', 'epsilon', 'use_nesterov', 'initial_accumulator_value']);
    expect(toYaml({ a: 'plain', b: '1.0', c: 'yes', d: { e: null, f: [] }, g: 'x: y' })).toBe(
      'a: plain\nb: "1.0"\nc: "yes"\nd:\n  e: null\n  f: []\ng: "x: y"\n',
    );
  });
});
