import { logConfig, secret } from '@mlflow-kit/config';
import { MlflowValidationError, startRun } from '@mlflow-kit/core';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { python, trackingUri, uniqueName } from '../helpers/python.js';

const options = () => ({
  enabled: true,
  trackingUri: trackingUri(),
  experimentName: uniqueName('config'),
  flushIntervalMs: 200,
});

interface PyReadback {
  params: Record<string, string>;
  tags: Record<string, string>;
  files: Record<string, string>;
}

/** Params, tags and every artifact file of a run, as the official Python client reads them. */
function readBack(runId: string): Promise<PyReadback> {
  return python<PyReadback>(`
import json, os, tempfile, mlflow
from mlflow import MlflowClient
r = MlflowClient().get_run("${runId}")
root = mlflow.artifacts.download_artifacts(run_id="${runId}", dst_path=tempfile.mkdtemp())
files = {}
for folder, _, names in os.walk(root):
    for name in names:
        full = os.path.join(folder, name)
        files[os.path.relpath(full, root).replace(os.sep, "/")] = open(full, encoding="utf-8").read()
print(json.dumps({"params": r.data.params, "tags": r.data.tags, "files": files}))
`);
}

const Optimizer = { Adam: 'adam', Sgd: 'sgd' } as const;

const TrainConfig = z.object({
  lr: z.number().default(0.001),
  epochs: z.number().int().positive(),
  optimizer: z.enum(Optimizer).default('adam'),
  precision: z.literal(['fp32', 'fp16']).default('fp32'),
  model: z.object({
    depth: z.number().int(),
    layers: z.array(z.object({ units: z.number().int(), activation: z.enum(['relu', 'softmax']) })),
    hidden: z.array(z.number()).default([64, 32]),
    dropout: z.number().nullable().default(null),
  }),
  schedule: z.object({ start: z.date(), milestones: z.array(z.date()) }),
  labels: z.record(z.string(), z.string()),
  hubLogin: secret(z.string()),
  openaiApiKey: z.string(),
  datasetUrl: z.string(),
  seed: z.bigint(),
});

const SECRETS = ['hub-login-SECRET-1', 'sk-proj-SECRET-2', 'SECRET-3-pass'];

function rawConfig(overrides: Record<string, unknown> = {}): unknown {
  return {
    epochs: 5,
    optimizer: 'sgd',
    model: {
      depth: 3,
      layers: [
        { units: 128, activation: 'relu' },
        { units: 10, activation: 'softmax' },
      ],
    },
    schedule: {
      start: new Date('2026-05-01T08:00:00.000Z'),
      milestones: [new Date('2026-05-02T00:00:00.000Z')],
    },
    // A long value, like Hugging Face's id2label that broke MLflowCallback (huggingface/transformers#9210).
    labels: Object.fromEntries(Array.from({ length: 1 }, () => ['id2label', 'label-'.repeat(1500)])),
    hubLogin: SECRETS[0],
    openaiApiKey: SECRETS[1],
    datasetUrl: `postgres://reader:${SECRETS[2]}@db.internal:5432/mnist?sslmode=require`,
    seed: 12345678901234567890n,
    ...overrides,
  };
}

function expectNoSecret(readback: PyReadback): void {
  const everything = JSON.stringify(readback);
  for (const leaked of SECRETS) expect(everything).not.toContain(leaked);
}

describe('logConfig against a real MLflow server, read back by the Python client', () => {
  it('round-trips a nested config as flat params with three kinds of secrets redacted everywhere', async () => {
    const run = await startRun(options());
    const config = await logConfig(TrainConfig, rawConfig(), { artifact: 'both' });
    expect(config.openaiApiKey).toBe(SECRETS[1]);
    await run.end();

    const readback = await readBack(run.runId);
    const longValue = readback.params['labels.id2label']!;
    expect(longValue).toHaveLength(6000);
    expect(longValue.endsWith('... [truncated, 9000 characters; full value in config.json]')).toBe(true);
    expect(readback.params).toEqual({
      lr: '0.001',
      epochs: '5',
      optimizer: 'sgd',
      precision: 'fp32',
      'model.depth': '3',
      'model.layers.0.units': '128',
      'model.layers.0.activation': 'relu',
      'model.layers.1.units': '10',
      'model.layers.1.activation': 'softmax',
      'model.hidden': '[64,32]',
      'model.dropout': 'None',
      'schedule.start': '2026-05-01T08:00:00.000Z',
      'schedule.milestones': '["2026-05-02T00:00:00.000Z"]',
      'labels.id2label': longValue,
      hubLogin: '***',
      openaiApiKey: '***',
      datasetUrl: 'postgres://***@db.internal:5432/mnist?sslmode=require',
      seed: '12345678901234567890',
    });
    expect(Object.keys(readback.files).sort()).toEqual(['config.json', 'config.yaml']);
    const json = JSON.parse(readback.files['config.json']!) as Record<string, unknown>;
    expect(json).toMatchObject({
      hubLogin: '***',
      openaiApiKey: '***',
      datasetUrl: 'postgres://***@db.internal:5432/mnist?sslmode=require',
      labels: { id2label: 'label-'.repeat(1500) },
      schedule: { start: '2026-05-01T08:00:00.000Z' },
    });
    expect(readback.files['config.yaml']).toContain('hubLogin: "***"');
    expectNoSecret(readback);
  });

  it('moves a long value to its own artifact with longValues: artifact', async () => {
    const run = await startRun(options());
    await logConfig(TrainConfig, rawConfig(), { longValues: 'artifact' });
    await run.end();
    const readback = await readBack(run.runId);
    expect(readback.params['labels.id2label']).toBe(
      '[9000 characters, see artifact config_params/labels.id2label.txt]',
    );
    expect(readback.files['config_params/labels.id2label.txt']).toBe('label-'.repeat(1500));
    expectNoSecret(readback);
  });

  it('keeps values within 500 characters for older servers', async () => {
    const run = await startRun(options());
    await logConfig(TrainConfig, rawConfig(), { maxValueLength: 500 });
    await run.end();
    const { params } = await readBack(run.runId);
    expect(params['labels.id2label']).toHaveLength(500);
    expect(Math.max(...Object.values(params).map((value) => value.length))).toBeLessThanOrEqual(500);
  });

  it('refuses a long value with longValues: error, logging nothing', async () => {
    const run = await startRun(options());
    await expect(logConfig(TrainConfig, rawConfig(), { longValues: 'error' })).rejects.toThrow(
      "Param \"labels.id2label\" has 9000 characters, over the limit of 6000: shorten the value, or pass longValues: 'truncate' (keeps the start) or 'artifact' (moves the value to a file).",
    );
    await run.end();
    const readback = await readBack(run.runId);
    expect(readback.params).toEqual({});
    expect(readback.files).toEqual({});
  });

  it('sends 250 params in chunks the server accepts', async () => {
    const run = await startRun(options());
    const wide = Object.fromEntries(Array.from({ length: 250 }, (_, index) => [`feature_${index}`, index]));
    await logConfig({ features: wide });
    await run.end();
    const { params } = await readBack(run.runId);
    expect(Object.keys(params)).toHaveLength(250);
    expect(params['features.feature_249']).toBe('249');
  });

  it('is a no-op on a resumed run with the same config, and names the key but quotes neither value when one changed', async () => {
    const first = await startRun(options());
    await logConfig(TrainConfig, rawConfig());
    await first.end();

    const resumed = await startRun({ enabled: true, trackingUri: trackingUri(), runId: first.runId });
    await expect(logConfig(TrainConfig, rawConfig())).resolves.toMatchObject({ epochs: 5 });
    const changed = logConfig(TrainConfig, rawConfig({ epochs: 6 }));
    await expect(changed).rejects.toThrow(MlflowValidationError);
    await expect(logConfig(TrainConfig, rawConfig({ epochs: 6 }))).rejects.toThrow(
      'Param "epochs" was already logged with another value and cannot change: MLflow params are write-once. Log the new value under another key, or start a new run.',
    );
    await resumed.end();
    const { params } = await readBack(first.runId);
    expect(params.epochs).toBe('5');
  });
});
