import {
  getActiveRun,
  MlflowConfigError,
  MlflowValidationError,
  type Run,
  setDiagLogger,
  startRun,
} from '@mlflow-kit/core';
import { createMemoryStore, type MemoryStore } from '@mlflow-kit/core/testing';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { logConfig } from './log-config.js';
import { secret } from './secret.js';

let store: MemoryStore;
const on = () => ({ enabled: true, store, flushIntervalMs: 60_000 });

beforeEach(() => {
  store = createMemoryStore();
  vi.stubEnv('MLFLOW_KIT_ENABLED', undefined);
  vi.stubEnv('MLFLOW_RUN_ID', undefined);
});

afterEach(async () => {
  for (let run = getActiveRun(); run; run = getActiveRun()) await run.end();
  vi.unstubAllEnvs();
  setDiagLogger(undefined);
});

async function paramsOf(run: Run): Promise<Record<string, string>> {
  await run.flush();
  return (await store.getRun(run.runId)).data.params;
}

function artifactText(run: Run, path: string): string | undefined {
  const bytes = store.artifacts.get(`${run.artifactUri}/${path}`);
  return bytes && new TextDecoder().decode(bytes);
}

const Config = z.object({
  lr: z.number().default(0.001),
  epochs: z.number().int().positive(),
  optimizer: z.enum(['adam', 'sgd']).default('adam'),
  model: z.object({
    depth: z.number().int(),
    layers: z.array(z.object({ units: z.number(), activation: z.literal(['relu', 'softmax']) })),
    hidden: z.array(z.number()).default([64, 32]),
  }),
  startedAt: z.date(),
  notes: z.string().default(''),
  hubToken: secret(z.string()),
  db: z.object({ url: z.string(), password: z.string() }),
  wandb: z.object({ key: z.string().meta({ secret: true }) }).optional(),
});

const input = {
  epochs: 3,
  model: {
    depth: 2,
    layers: [
      { units: 64, activation: 'relu' },
      { units: 10, activation: 'softmax' },
    ],
  },
  startedAt: new Date('2026-03-01T12:00:00.000Z'),
  hubToken: 'hf_abcdef',
  db: { url: 'postgres://trainer:s3cr3t@db.internal:5432/runs', password: 'hunter2' },
};

describe('logConfig', () => {
  it('validates, logs flat redacted params and config.json, and returns the typed config with defaults', async () => {
    const run = await startRun(on());
    const config = await logConfig(Config, input);
    expect(config.lr).toBe(0.001);
    expect(config.model.hidden).toEqual([64, 32]);
    expect(config.hubToken).toBe('hf_abcdef');
    expect(await paramsOf(run)).toEqual({
      lr: '0.001',
      epochs: '3',
      optimizer: 'adam',
      'model.depth': '2',
      'model.layers.0.units': '64',
      'model.layers.0.activation': 'relu',
      'model.layers.1.units': '10',
      'model.layers.1.activation': 'softmax',
      'model.hidden': '[64,32]',
      startedAt: '2026-03-01T12:00:00.000Z',
      notes: '',
      hubToken: '***',
      'db.url': 'postgres://***@db.internal:5432/runs',
      'db.password': '***',
    });
    const artifact = JSON.parse(artifactText(run, 'config.json') ?? 'null') as Record<string, unknown>;
    expect(artifact).toMatchObject({
      hubToken: '***',
      db: { url: 'postgres://***@db.internal:5432/runs', password: '***' },
    });
    expect(artifact.startedAt).toBe('2026-03-01T12:00:00.000Z');
    const everything = [...store.artifacts.values()]
      .map((bytes) => new TextDecoder().decode(bytes))
      .join('\n');
    for (const leaked of ['hf_abcdef', 's3cr3t', 'hunter2']) expect(everything).not.toContain(leaked);
  });

  it('reports every bad path in one MlflowConfigError', async () => {
    const bad = {
      ...input,
      epochs: 'three',
      optimizer: 'rmsprop',
      model: { depth: '5', layers: [{ units: 1, activation: 'tanh' }] },
    };
    const error = await logConfig(Config, bad).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(MlflowConfigError);
    expect((error as Error).message).toBe(
      [
        'Invalid config, 4 problems:',
        '  - epochs: expected number, received string',
        '  - optimizer: expected one of "adam"|"sgd"',
        '  - model.depth: expected number, received string',
        '  - model.layers.0.activation: expected one of "relu"|"softmax"',
        'Fix these values, or change the schema.',
      ].join('\n'),
    );
    expect((error as MlflowConfigError).setting).toBe('epochs');
  });

  it('writes config.yaml on request', async () => {
    const run = await startRun(on());
    await logConfig(Config, input, { artifact: 'both' });
    expect(artifactText(run, 'config.yaml')).toContain('hubToken: "***"');
    expect(artifactText(run, 'config.json')).toBeDefined();
  });

  it('truncates long values with a marker by default, keeping the full value in config.json', async () => {
    const run = await startRun(on());
    const long = 'x'.repeat(7000);
    await logConfig(Config, { ...input, notes: long });
    const notes = (await paramsOf(run)).notes!;
    expect(notes).toHaveLength(6000);
    expect(notes.endsWith('... [truncated, 7000 characters; full value in config.json]')).toBe(true);
    expect(JSON.parse(artifactText(run, 'config.json')!).notes).toBe(long);
  });

  it('honours a lower maxValueLength for older servers', async () => {
    const run = await startRun(on());
    await logConfig({ notes: 'y'.repeat(600) }, { maxValueLength: 500, artifact: false });
    const notes = (await paramsOf(run)).notes!;
    expect(notes).toHaveLength(500);
    expect(notes.endsWith('... [truncated, 600 characters]')).toBe(true);
  });

  it('moves long values to their own artifact with longValues: artifact', async () => {
    const run = await startRun(on());
    const long = 'z'.repeat(6001);
    await logConfig({ model: { notes: long } }, { longValues: 'artifact' });
    expect((await paramsOf(run))['model.notes']).toBe(
      '[6001 characters, see artifact config_params/model.notes.txt]',
    );
    expect(artifactText(run, 'config_params/model.notes.txt')).toBe(long);
  });

  it('throws before logging anything with longValues: error', async () => {
    const run = await startRun(on());
    const call = logConfig({ a: 1, notes: 'n'.repeat(6001) }, { longValues: 'error' });
    await expect(call).rejects.toThrow(MlflowValidationError);
    await expect(logConfig({ notes: 'n'.repeat(6001) }, { longValues: 'error' })).rejects.toThrow(
      "Param \"notes\" has 6001 characters, over the limit of 6000: shorten the value, or pass longValues: 'truncate' (keeps the start) or 'artifact' (moves the value to a file).",
    );
    expect(await paramsOf(run)).toEqual({});
    expect(store.artifacts.size).toBe(0);
  });

  it('rejects maxValueLength outside 500..6000 and an unknown strategy', async () => {
    await expect(logConfig({ a: 1 }, { maxValueLength: 8000 })).rejects.toThrow(
      'Option `maxValueLength` is 8000: pass a whole number from 500 to 6000 (6000 for MLflow 2.7.2 and later, 500 for older servers).',
    );
    await expect(logConfig({ a: 1 }, { longValues: 'drop' as never })).rejects.toThrow(
      "Option `longValues` is \"drop\": pass 'truncate', 'artifact' or 'error'.",
    );
  });

  it('sends more than 100 params in chunks of at most 100', async () => {
    const run = await startRun(on());
    const big = Object.fromEntries(Array.from({ length: 250 }, (_, index) => [`p${index}`, index]));
    await logConfig(big, { artifact: false });
    expect(Object.keys(await paramsOf(run))).toHaveLength(250);
    const sizes = store.batches
      .filter((entry) => entry.runId === run.runId)
      .map((entry) => entry.batch.params?.length ?? 0);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(100);
    expect(sizes.reduce((sum, size) => sum + size, 0)).toBe(250);
  });

  it('is a no-op when the same config is logged again to a resumed run', async () => {
    const first = await startRun(on());
    await logConfig(Config, input);
    await first.end();
    const resumed = await startRun({ ...on(), runId: first.runId });
    const batchesBefore = store.batches.length;
    await logConfig(Config, input);
    await resumed.flush();
    expect(store.batches.slice(batchesBefore).some((entry) => (entry.batch.params?.length ?? 0) > 0)).toBe(
      false,
    );
  });

  it('throws naming the key, never the values, when a resumed run gets a changed value', async () => {
    const first = await startRun(on());
    await logConfig(Config, input);
    await first.end();
    await startRun({ ...on(), runId: first.runId });
    const call = logConfig(Config, { ...input, epochs: 4 });
    await expect(call).rejects.toThrow(MlflowValidationError);
    await expect(logConfig(Config, { ...input, epochs: 4 })).rejects.toThrow(
      'Param "epochs" was already logged with another value and cannot change: MLflow params are write-once. Log the new value under another key, or start a new run.',
    );
  });

  it('logs to the run given in options rather than the active one', async () => {
    const active = await startRun(on());
    const other = await startRun({ ...on(), nested: true });
    await logConfig({ a: 1 }, { run: active, artifact: false });
    expect(await paramsOf(active)).toEqual({ a: '1' });
    expect(await paramsOf(other)).toEqual({});
  });

  it('still validates and returns the config when tracking is off, logging nothing', async () => {
    const run = await startRun({ store });
    expect(run.isRecording).toBe(false);
    const config = await logConfig(Config, input);
    expect(config.optimizer).toBe('adam');
    expect(store.runs()).toHaveLength(0);
    await expect(logConfig(Config, {})).rejects.toThrow(MlflowConfigError);
  });

  it('returns the config and warns once when tracking is on but no run is active', async () => {
    vi.stubEnv('MLFLOW_KIT_ENABLED', '1');
    const logger = { error: vi.fn(), warn: vi.fn(), info: vi.fn(), debug: vi.fn() };
    setDiagLogger(logger, 'debug');
    expect(await logConfig({ a: 1 })).toEqual({ a: 1 });
    expect(logger.warn).toHaveBeenCalledWith(
      '[mlflow-kit] logConfig found no active run, so the config was validated but not logged: call startRun() first, or pass `run`.',
    );
  });

  it('applies secretPatterns and allowKeys', async () => {
    const run = await startRun(on());
    await logConfig(
      { slackHook: 'https://hooks/x', sessionKey: 'run-1' },
      { secretPatterns: [/hook/i], allowKeys: ['sessionKey'] },
    );
    expect(await paramsOf(run)).toEqual({ slackHook: '***', sessionKey: 'run-1' });
  });

  it('uses the separator and prefix', async () => {
    const run = await startRun(on());
    await logConfig({ model: { depth: 3 } }, { separator: '/', prefix: 'cfg', artifact: false });
    expect(await paramsOf(run)).toEqual({ 'cfg/model/depth': '3' });
  });

  it('names the artifact after the prefix, so that two configs on one run keep their own files', async () => {
    const run = await startRun(on());
    await logConfig({ depth: 3 }, { prefix: 'model' });
    await logConfig({ rows: 10 }, { prefix: 'data' });
    expect(JSON.parse(artifactText(run, 'config_model.json')!)).toEqual({ depth: 3 });
    expect(JSON.parse(artifactText(run, 'config_data.json')!)).toEqual({ rows: 10 });
    expect(await paramsOf(run)).toEqual({ 'model.depth': '3', 'data.rows': '10' });
  });

  it('takes a config typed by an interface without a schema, and returns it as is', async () => {
    interface Plain {
      lr: number;
      tags: string[];
    }
    const plain: Plain = { lr: 0.1, tags: ['a'] };
    const returned: Plain = await logConfig(plain);
    expect(returned).toBe(plain);
  });

  it('rejects something that is neither a schema nor a config object', async () => {
    const call = logConfig([1, 2] as unknown as Record<string, unknown>);
    await expect(call).rejects.toThrow(MlflowConfigError);
    await expect(logConfig('lr=1' as unknown as Record<string, unknown>)).rejects.toThrow(
      'logConfig takes a zod schema and an input, or a config object; got string.',
    );
    // @ts-expect-error: a schema without an input is a type error, and at run time an invalid (missing) config
    await expect(logConfig(z.object({ a: z.number() }))).rejects.toThrow(
      'Invalid config, 1 problem:\n  - (root): expected object, received undefined\nFix these values, or change the schema.',
    );
  });

  it('reports a failed artifact upload through diag instead of throwing', async () => {
    const run = await startRun(on());
    const logger = { error: vi.fn(), warn: vi.fn(), info: vi.fn(), debug: vi.fn() };
    setDiagLogger(logger);
    vi.spyOn(store, 'uploadArtifact').mockRejectedValue(new Error('disk full'));
    await expect(logConfig({ a: 1 })).resolves.toEqual({ a: 1 });
    // The run's queue reports it (this store has no spool: a REST store would spool the file).
    expect(logger.error).toHaveBeenCalledWith(
      expect.stringContaining(`artifact config.json of run ${run.runId}`),
    );
    expect(logger.warn).toHaveBeenCalledWith(expect.stringContaining('disk full'));
  });
});
