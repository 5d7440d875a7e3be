import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MlflowApiError } from '../errors.js';
import type { LoggedModelStore, RegistryStore, TrackingStore } from '../store.js';
import type { Metric, RunRecord } from '../types.js';

/**
 * What a store can do beyond the core of {@link TrackingStore}. The checks of a capability the store lacks
 * are reported as skipped, with the reason in their name, rather than left out.
 */
export interface StoreCapabilities {
  /**
   * `store.registry` exists: registered models, versions and aliases are checked.
   * @defaultValue `false`
   */
  registry?: boolean;
  /**
   * `store.loggedModels` exists: MLflow 3 logged models are created, linked to their run and finalized.
   * @defaultValue `false`
   */
  loggedModels?: boolean;
  /**
   * `store.runUrl` links runs to an MLflow UI at the tracking URI. Without it, `runUrl` must return
   * `undefined`.
   * @defaultValue `false`
   */
  runUrl?: boolean;
}

/**
 * What {@link StoreContractOptions.additionalTests} receives: the suite's fixture, so a store's own tests
 * share the store (and its clean-up) with the contract.
 */
export interface StoreContractContext {
  /** The store under test. Read it inside tests and hooks: it is made in the suite's `beforeAll`. */
  readonly store: TrackingStore;
  /** The fixture `makeStore` returned. Read it inside tests and hooks, as {@link store}. */
  readonly fixture: StoreContractFixture;
  /** A new experiment with a unique name starting with `prefix`; its id. */
  newExperiment(prefix?: string): Promise<string>;
  /** A new RUNNING run, in `experimentId` or in a new experiment. */
  newRun(experimentId?: string, runName?: string): Promise<RunRecord>;
  /** `prefix` followed by something unique, for names that must not collide between runs of the suite. */
  uniqueName(prefix: string): string;
}

/** Options of {@link describeStoreContract}. */
export interface StoreContractOptions {
  /** What the store can do beyond the core; the checks of the rest show as skipped. @defaultValue `{}` */
  capabilities?: StoreCapabilities;
  /**
   * Registers the store's own tests inside the contract suite, sharing its fixture. Called while the suite
   * is being defined: call `it`/`describe` in it, and read `context.store` only inside them.
   */
  additionalTests?: (context: StoreContractContext) => void;
}

/** What the `makeStore` factory of {@link describeStoreContract} returns. */
export interface StoreContractFixture {
  store: TrackingStore;
  /** Runs after the suite, after `store.close()`. */
  cleanup?: () => Promise<void>;
}

/** SQL stores keep ±Infinity as ±Double.MAX_VALUE. */
const SQL_INFINITY = 1.7976931348623157e308;

function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

async function expectErrorCode(promise: Promise<unknown>, errorCode: string): Promise<void> {
  let caught: unknown;
  try {
    await promise;
  } catch (error) {
    caught = error;
  }
  expect(caught, `expected the call to fail with ${errorCode}`).toBeDefined();
  expect(MlflowApiError.isInstance(caught), `expected an MlflowApiError, got ${String(caught)}`).toBe(true);
  expect((caught as MlflowApiError).errorCode).toBe(errorCode);
}

function expectInfinity(value: number | undefined, sign: 1 | -1): void {
  expect([sign * Number.POSITIVE_INFINITY, sign * SQL_INFINITY]).toContain(value);
}

/**
 * The behaviour every {@link TrackingStore} shares with MLflow: registers a vitest suite named `name`
 * that runs against the store `makeStore` builds. Run it for each store implementation so that they
 * stay interchangeable.
 *
 * @example
 * ```ts
 * import { createMemoryStore, describeStoreContract } from '@mlflow-kit/core/testing';
 * import { expect, it } from 'vitest';
 *
 * describeStoreContract('MemoryStore', async () => ({ store: createMemoryStore() }), {
 *   capabilities: { registry: false, loggedModels: false, runUrl: false },
 *   additionalTests: (context) => {
 *     it('is a memory store', () => expect(context.store.kind).toBe('memory'));
 *   },
 * });
 * ```
 */
export function describeStoreContract(
  name: string,
  makeStore: () => Promise<StoreContractFixture>,
  options: StoreContractOptions = {},
): void {
  describe(`${name}: TrackingStore contract`, () => {
    const capabilities = options.capabilities ?? {};
    let fixture: StoreContractFixture;
    let store: TrackingStore;

    beforeAll(async () => {
      fixture = await makeStore();
      store = fixture.store;
    });

    // A check that asserts nothing would pass whatever the store does.
    beforeEach(() => {
      expect.hasAssertions();
    });

    afterAll(async () => {
      await fixture?.store.close();
      await fixture?.cleanup?.();
    });

    async function newExperiment(prefix = 'contract'): Promise<string> {
      return store.createExperiment(uniqueName(prefix));
    }

    async function newRun(experimentId?: string, runName?: string): Promise<RunRecord> {
      return store.createRun({
        experimentId: experimentId ?? (await newExperiment()),
        startTime: Date.now(),
        runName,
        userId: 'contract-user',
        tags: {},
      });
    }

    describe('experiments', () => {
      it('creates an experiment and finds it by id and by name', async () => {
        const experimentName = uniqueName('contract-exp');
        const id = await store.createExperiment(experimentName, { tags: { team: 'ml' } });
        expect(typeof id).toBe('string');
        const byId = await store.getExperiment(id);
        expect(byId).toMatchObject({ experimentId: id, name: experimentName, lifecycleStage: 'active' });
        expect(byId.tags.team).toBe('ml');
        expect(byId.artifactLocation).not.toBe('');
        const byName = await store.getExperimentByName(experimentName);
        expect(byName?.experimentId).toBe(id);
      });

      it('returns undefined for an experiment name that does not exist', async () => {
        expect(await store.getExperimentByName(uniqueName('contract-missing'))).toBeUndefined();
      });

      it('supports get-or-create: a second lookup finds the experiment the first one created', async () => {
        const experimentName = uniqueName('contract-goc');
        const getOrCreate = async () =>
          (await store.getExperimentByName(experimentName))?.experimentId ??
          store.createExperiment(experimentName);
        const first = await getOrCreate();
        const second = await getOrCreate();
        expect(second).toBe(first);
      });

      it('rejects a duplicate experiment name with RESOURCE_ALREADY_EXISTS', async () => {
        const experimentName = uniqueName('contract-dup');
        await store.createExperiment(experimentName);
        await expectErrorCode(store.createExperiment(experimentName), 'RESOURCE_ALREADY_EXISTS');
      });

      it('finds a new experiment by searching for its name', async () => {
        const experimentName = uniqueName('contract-search');
        const id = await store.createExperiment(experimentName);
        const page = await store.searchExperiments({ filter: `name = '${experimentName}'` });
        expect(page.items.map((experiment) => experiment.experimentId)).toContain(id);
      });

      it('deletes and restores an experiment', async () => {
        const id = await newExperiment();
        await store.deleteExperiment(id);
        expect((await store.getExperiment(id)).lifecycleStage).toBe('deleted');
        await store.restoreExperiment(id);
        expect((await store.getExperiment(id)).lifecycleStage).toBe('active');
      });

      it('sets an experiment tag', async () => {
        const id = await newExperiment();
        await store.setExperimentTag(id, 'owner', 'alice');
        expect((await store.getExperiment(id)).tags.owner).toBe('alice');
      });
    });

    describe('runs', () => {
      it('creates a RUNNING run with its start time, name and tags, and reads it back', async () => {
        const experimentId = await newExperiment();
        const startTime = Date.now() - 5000;
        const created = await store.createRun({
          experimentId,
          startTime,
          runName: 'contract-run',
          userId: 'contract-user',
          tags: { 'mlflow.source.name': 'contract' },
        });
        expect(created.info).toMatchObject({
          experimentId,
          startTime,
          runName: 'contract-run',
          status: 'RUNNING',
          lifecycleStage: 'active',
        });
        expect(created.info.runId).toMatch(/^[a-zA-Z0-9][\w-]*$/);
        expect(created.info.artifactUri).not.toBe('');
        const fetched = await store.getRun(created.info.runId);
        expect(fetched.info).toMatchObject({
          runId: created.info.runId,
          startTime,
          runName: 'contract-run',
          status: 'RUNNING',
        });
        expect(fetched.info.endTime ?? undefined).toBeUndefined();
        expect(fetched.data.tags['mlflow.source.name']).toBe('contract');
        expect(fetched.data.tags['mlflow.runName']).toBe('contract-run');
      });

      it('ends a run with a status and an end time', async () => {
        const run = await newRun();
        const endTime = Date.now();
        const info = await store.updateRun(run.info.runId, { status: 'FINISHED', endTime });
        expect(info.status).toBe('FINISHED');
        const fetched = await store.getRun(run.info.runId);
        expect(fetched.info.status).toBe('FINISHED');
        expect(fetched.info.endTime).toBe(endTime);
      });

      it('renames a run and keeps the mlflow.runName tag in step', async () => {
        const run = await newRun(undefined, 'before');
        await store.updateRun(run.info.runId, { runName: 'after' });
        const fetched = await store.getRun(run.info.runId);
        expect(fetched.info.runName).toBe('after');
        expect(fetched.data.tags['mlflow.runName']).toBe('after');
      });

      it('round-trips params, metrics and tags of a log-batch, NaN and ±Infinity included', async () => {
        const run = await newRun();
        const runId = run.info.runId;
        const timestamp = Date.now();
        await store.logBatch(runId, {
          params: [
            { key: 'lr', value: '0.01' },
            { key: 'optimizer', value: 'adam' },
          ],
          metrics: [
            { key: 'loss', value: 0.25, timestamp, step: 3 },
            { key: 'nan_metric', value: Number.NaN, timestamp, step: 0 },
            { key: 'pos_inf', value: Number.POSITIVE_INFINITY, timestamp, step: 0 },
            { key: 'neg_inf', value: Number.NEGATIVE_INFINITY, timestamp, step: 0 },
          ],
          tags: [{ key: 'phase', value: 'train' }],
        });
        const { data } = await store.getRun(runId);
        expect(data.params).toMatchObject({ lr: '0.01', optimizer: 'adam' });
        expect(data.tags.phase).toBe('train');
        expect(data.metrics.loss).toBe(0.25);
        expect(Number.isNaN(data.metrics.nan_metric)).toBe(true);
        expectInfinity(data.metrics.pos_inf, 1);
        expectInfinity(data.metrics.neg_inf, -1);

        const loss = await store.getMetricHistory(runId, 'loss');
        expect(loss.items).toEqual([{ key: 'loss', value: 0.25, timestamp, step: 3 }]);
        const nan = await store.getMetricHistory(runId, 'nan_metric');
        expect(nan.items).toHaveLength(1);
        expect(Number.isNaN(nan.items[0]?.value)).toBe(true);
        expectInfinity((await store.getMetricHistory(runId, 'neg_inf')).items[0]?.value, -1);
      });

      it('accepts re-logging a param with the same value and rejects a changed value with INVALID_PARAMETER_VALUE', async () => {
        const run = await newRun();
        await store.logBatch(run.info.runId, { params: [{ key: 'batch_size', value: '32' }] });
        await store.logBatch(run.info.runId, { params: [{ key: 'batch_size', value: '32' }] });
        await expectErrorCode(
          store.logBatch(run.info.runId, { params: [{ key: 'batch_size', value: '64' }] }),
          'INVALID_PARAMETER_VALUE',
        );
        expect((await store.getRun(run.info.runId)).data.params.batch_size).toBe('32');
      });

      it('overwrites tags with later values and deletes them', async () => {
        const run = await newRun();
        await store.logBatch(run.info.runId, { tags: [{ key: 'stage', value: 'one' }] });
        await store.logBatch(run.info.runId, { tags: [{ key: 'stage', value: 'two' }] });
        expect((await store.getRun(run.info.runId)).data.tags.stage).toBe('two');
        await store.deleteTag(run.info.runId, 'stage');
        expect((await store.getRun(run.info.runId)).data.tags.stage).toBeUndefined();
      });

      it("keeps keys containing '/' as they are", async () => {
        const run = await newRun();
        const timestamp = Date.now();
        await store.logBatch(run.info.runId, {
          params: [{ key: 'model/layers/0/units', value: '64' }],
          metrics: [{ key: 'train/loss', value: 1.5, timestamp, step: 0 }],
          tags: [{ key: 'data/source', value: 'mnist' }],
        });
        const { data } = await store.getRun(run.info.runId);
        expect(data.params['model/layers/0/units']).toBe('64');
        expect(data.metrics['train/loss']).toBe(1.5);
        expect(data.tags['data/source']).toBe('mnist');
        expect((await store.getMetricHistory(run.info.runId, 'train/loss')).items).toHaveLength(1);
      });

      it('returns metric history ordered by timestamp, step and value, page by page', async () => {
        const run = await newRun();
        const base = Date.now();
        const points: Metric[] = [
          { key: 'acc', value: 0.3, timestamp: base + 30, step: 0 },
          { key: 'acc', value: 0.1, timestamp: base + 10, step: 1 },
          { key: 'acc', value: 0.5, timestamp: base + 20, step: 3 },
          { key: 'acc', value: 0.4, timestamp: base + 20, step: 2 },
          { key: 'acc', value: 0.2, timestamp: base + 40, step: 4 },
        ];
        await store.logBatch(run.info.runId, { metrics: points });
        const all = await store.getMetricHistory(run.info.runId, 'acc');
        expect(all.items.map((point) => point.value)).toEqual([0.1, 0.4, 0.5, 0.3, 0.2]);
        expect(all.nextPageToken).toBeUndefined();

        const paged: Metric[] = [];
        let pageToken: string | undefined;
        let pages = 0;
        do {
          const page = await store.getMetricHistory(run.info.runId, 'acc', {
            maxResults: 2,
            ...(pageToken ? { pageToken } : {}),
          });
          expect(page.items.length).toBeLessThanOrEqual(2);
          paged.push(...page.items);
          pageToken = page.nextPageToken;
          pages++;
        } while (pageToken && pages < 10);
        expect(paged).toEqual(all.items);
        // The latest value MLflow reports is the point with the highest (step, timestamp, value).
        expect((await store.getRun(run.info.runId)).data.metrics.acc).toBe(0.2);
      });

      it('searches runs with a filter, an order and pages', async () => {
        const experimentId = await newExperiment('contract-searchruns');
        const ids: string[] = [];
        for (const [index, value] of [1, 3, 2].entries()) {
          const run = await newRun(experimentId, `search-${index}`);
          await store.logBatch(run.info.runId, {
            metrics: [{ key: 'score', value, timestamp: Date.now(), step: 0 }],
            params: [{ key: 'kind', value: value === 1 ? 'small' : 'big' }],
          });
          ids[value] = run.info.runId;
        }
        const filtered = await store.searchRuns({
          experimentIds: [experimentId],
          filter: 'metrics.score > 1',
          orderBy: ['metrics.score DESC'],
        });
        expect(filtered.items.map((run) => run.info.runId)).toEqual([ids[3], ids[2]]);
        const byParam = await store.searchRuns({
          experimentIds: [experimentId],
          filter: "params.kind = 'small'",
        });
        expect(byParam.items.map((run) => run.info.runId)).toEqual([ids[1]]);
        // A key with dots and dashes is quoted with backticks, as MLflow takes it.
        await store.logBatch(ids[2]!, { tags: [{ key: 'source-of.run', value: 'abc' }] });
        const byTag = await store.searchRuns({
          experimentIds: [experimentId],
          filter: "tags.`source-of.run` = 'abc'",
        });
        expect(byTag.items.map((run) => run.info.runId)).toEqual([ids[2]]);

        const first = await store.searchRuns({
          experimentIds: [experimentId],
          orderBy: ['metrics.score ASC'],
          maxResults: 2,
        });
        expect(first.items.map((run) => run.info.runId)).toEqual([ids[1], ids[2]]);
        expect(first.nextPageToken).toBeTruthy();
        const second = await store.searchRuns({
          experimentIds: [experimentId],
          orderBy: ['metrics.score ASC'],
          maxResults: 2,
          ...(first.nextPageToken ? { pageToken: first.nextPageToken } : {}),
        });
        expect(second.items.map((run) => run.info.runId)).toEqual([ids[3]]);
        expect(second.nextPageToken).toBeUndefined();
      });

      it('deletes and restores a run, hiding it from active searches meanwhile', async () => {
        const experimentId = await newExperiment();
        const run = await newRun(experimentId);
        await store.deleteRun(run.info.runId);
        expect((await store.getRun(run.info.runId)).info.lifecycleStage).toBe('deleted');
        const active = await store.searchRuns({ experimentIds: [experimentId] });
        expect(active.items.map((item) => item.info.runId)).not.toContain(run.info.runId);
        const deleted = await store.searchRuns({ experimentIds: [experimentId], viewType: 'DELETED_ONLY' });
        expect(deleted.items.map((item) => item.info.runId)).toContain(run.info.runId);
        await store.restoreRun(run.info.runId);
        expect((await store.getRun(run.info.runId)).info.lifecycleStage).toBe('active');
      });

      it('refuses writes to a deleted run with INVALID_PARAMETER_VALUE', async () => {
        const run = await newRun();
        await store.deleteRun(run.info.runId);
        await expectErrorCode(
          store.logBatch(run.info.runId, {
            metrics: [{ key: 'x', value: 1, timestamp: Date.now(), step: 0 }],
          }),
          'INVALID_PARAMETER_VALUE',
        );
        await expectErrorCode(
          store.updateRun(run.info.runId, { status: 'FINISHED', endTime: Date.now() }),
          'INVALID_PARAMETER_VALUE',
        );
      });

      it('fails with RESOURCE_DOES_NOT_EXIST for a run that does not exist', async () => {
        await expectErrorCode(store.getRun('0123456789abcdef0123456789abcdef'), 'RESOURCE_DOES_NOT_EXIST');
      });

      if (capabilities.runUrl) {
        it('links a run to the UI at the tracking URI', async () => {
          const run = await newRun();
          expect(store.runUrl(run.info.experimentId, run.info.runId)).toBe(
            `${store.trackingUri.replace(/\/+$/, '')}/#/experiments/${run.info.experimentId}/runs/${run.info.runId}`,
          );
        });
      } else {
        it('says there is no UI to link a run to (runUrl is undefined)', async () => {
          const run = await newRun();
          expect(store.runUrl(run.info.experimentId, run.info.runId)).toBeUndefined();
        });
      }
    });

    describe('artifacts', () => {
      let dir: string;
      beforeAll(async () => {
        dir = await mkdtemp(join(tmpdir(), 'mlflow-kit-contract-'));
      });
      afterAll(async () => {
        await rm(dir, { recursive: true, force: true });
      });

      it('uploads bytes, a file and a nested path, lists them level by level and downloads them', async () => {
        const run = await newRun();
        const root = run.info.artifactUri;
        const text = new TextEncoder().encode('hello artifacts\n');
        const binary = new Uint8Array(70_000).map((_, index) => (index * 31) % 256);
        const file = join(dir, 'weights.bin');
        await writeFile(file, binary);

        await store.uploadArtifact(root, 'notes.txt', { bytes: text });
        await store.uploadArtifact(root, 'model/weights.bin', { file });
        await store.uploadArtifact(root, 'model/deep/config with space.json', {
          bytes: new TextEncoder().encode('{"a":1}'),
        });

        const top = await store.listArtifacts(root);
        expect(top.map((info) => [info.path, info.isDir])).toEqual(
          expect.arrayContaining([
            ['notes.txt', false],
            ['model', true],
          ]),
        );
        expect(top.find((info) => info.path === 'notes.txt')?.fileSize).toBe(text.byteLength);

        const model = await store.listArtifacts(root, 'model');
        expect(model.map((info) => info.path).sort()).toEqual(['model/deep', 'model/weights.bin']);
        expect(model.find((info) => info.path === 'model/weights.bin')?.fileSize).toBe(binary.byteLength);
        const deep = await store.listArtifacts(root, 'model/deep');
        expect(deep.map((info) => info.path)).toEqual(['model/deep/config with space.json']);

        expect(new Uint8Array(await store.downloadArtifact(root, 'notes.txt'))).toEqual(text);
        expect(new Uint8Array(await store.downloadArtifact(root, 'model/weights.bin'))).toEqual(binary);
        expect(
          new TextDecoder().decode(await store.downloadArtifact(root, 'model/deep/config with space.json')),
        ).toBe('{"a":1}');
      });

      it('overwrites an artifact written twice', async () => {
        const run = await newRun();
        await store.uploadArtifact(run.info.artifactUri, 'state.txt', {
          bytes: new TextEncoder().encode('first'),
        });
        await store.uploadArtifact(run.info.artifactUri, 'state.txt', {
          bytes: new TextEncoder().encode('second'),
        });
        expect(
          new TextDecoder().decode(await store.downloadArtifact(run.info.artifactUri, 'state.txt')),
        ).toBe('second');
      });

      it('lists an empty or missing directory as empty', async () => {
        const run = await newRun();
        expect(await store.listArtifacts(run.info.artifactUri)).toEqual([]);
        expect(await store.listArtifacts(run.info.artifactUri, 'nothing/here')).toEqual([]);
      });
    });

    describe.skipIf(!capabilities.registry)(
      capabilities.registry ? 'registry' : 'registry (skipped: the store declares no registry capability)',
      () => {
        // Only reached when the store declares the capability, which the first check asserts.
        const registryOf = (): RegistryStore => store.registry!;

        it('has a registry', () => {
          expect(store.registry).toBeDefined();
        });

        it('registers a model version from a run, aliases it and finds it by alias', async () => {
          const registry = registryOf();
          const run = await newRun();
          const modelName = uniqueName('contract-model');
          await store.uploadArtifact(run.info.artifactUri, 'model/MLmodel', {
            bytes: new TextEncoder().encode('flavors: {}\n'),
          });
          const created = await registry.createRegisteredModel(modelName, { description: 'contract' });
          expect(created.name).toBe(modelName);
          const version = await registry.createModelVersion({
            name: modelName,
            source: `${run.info.artifactUri}/model`,
            runId: run.info.runId,
          });
          expect(version).toMatchObject({
            name: modelName,
            version: '1',
            status: 'READY',
            runId: run.info.runId,
          });
          await registry.setRegisteredModelAlias(modelName, 'champion', version.version);
          const byAlias = await registry.getModelVersionByAlias(modelName, 'champion');
          expect(byAlias.version).toBe('1');
          expect(byAlias.aliases).toContain('champion');
          expect((await registry.getRegisteredModel(modelName)).aliases).toEqual({ champion: '1' });
        });
      },
    );

    describe.skipIf(!capabilities.loggedModels)(
      capabilities.loggedModels
        ? 'logged models'
        : 'logged models (skipped: the store declares no loggedModels capability)',
      () => {
        // Only reached when the store declares the capability, which the first check asserts.
        const loggedModelsOf = (): LoggedModelStore => store.loggedModels!;

        it('has logged models', () => {
          expect(store.loggedModels).toBeDefined();
        });

        it('creates a logged model and finalizes it READY', async () => {
          const loggedModels = loggedModelsOf();
          const run = await newRun();
          const model = await loggedModels.createLoggedModel({
            experimentId: run.info.experimentId,
            name: 'contract_model',
            sourceRunId: run.info.runId,
            params: { units: '8' },
          });
          expect(model.status).toBe('LOGGED_MODEL_PENDING');
          expect(model.modelId).toMatch(/^m-/);
          await loggedModels.logOutputs(run.info.runId, [{ modelId: model.modelId, step: 0 }]);
          const ready = await loggedModels.finalizeLoggedModel(model.modelId, 'LOGGED_MODEL_READY');
          expect(ready.status).toBe('LOGGED_MODEL_READY');
          expect((await loggedModels.getLoggedModel(model.modelId)).params.units).toBe('8');
        });
      },
    );

    options.additionalTests?.({
      get store() {
        return store;
      },
      get fixture() {
        return fixture;
      },
      newExperiment,
      newRun,
      uniqueName,
    });
  });
}
