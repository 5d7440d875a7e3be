import { readdirSync } from 'node:fs';
import { createClient, getActiveRun, MlflowValidationError, startRun } from '@mlflow-kit/core';
import { SummaryWriter } from '@mlflow-kit/tensorboard';
import * as tf from '@tensorflow/tfjs';
import { afterEach, describe, expect, it } from 'vitest';
import { python, trackingUri, uniqueName } from '../helpers/python.js';
import { readClientRun, readEventDirs, tempDirs } from '../helpers/tensorboard.js';

const tempDir = tempDirs('mlflow-kit-tb-');
afterEach(async () => {
  for (let run = getActiveRun(); run; run = getActiveRun()) await run.end();
});

function tracked(logDir: string, experimentName = uniqueName('tb')): SummaryWriter {
  return new SummaryWriter({ logDir, enabled: true, trackingUri: trackingUri(), experimentName });
}

async function runsOf(experimentName: string): Promise<string[]> {
  const client = createClient({ trackingUri: trackingUri() });
  const experiment = await client.getExperimentByName(experimentName);
  if (!experiment) return [];
  const runs = await client.searchAllRuns({ experimentIds: [experiment.experimentId] });
  return runs.map((run) => run.info.runId);
}

async function onlyRun(experimentName: string): Promise<string> {
  const runs = await runsOf(experimentName);
  expect(runs).toHaveLength(1);
  return runs[0] as string;
}

const f32 = Math.fround;

describe('SummaryWriter against the real MLflow server and TensorBoard’s EventAccumulator', () => {
  it('addScalar and addScalars: metrics with step and walltime as timestamp; simple_value events', async () => {
    const logDir = tempDir();
    const experimentName = uniqueName('tb-scalar');
    const writer = tracked(logDir, experimentName);
    for (let step = 0; step < 5; step++) writer.addScalar('loss', 1 / (step + 1), step, 1_700_000_000 + step);
    writer.addScalar('tensor_scalar', tf.scalar(0.25), 9);
    writer.addScalars('lr', { warm: 0.1, cold: 0.2 }, 3, 1_700_000_100.5);
    await writer.close();

    const run = await readClientRun(await onlyRun(experimentName));
    expect(run.status).toBe('FINISHED');
    expect(run.metrics.loss?.map((p) => [p.step, p.value, p.timestamp])).toEqual(
      [0, 1, 2, 3, 4].map((step) => [step, 1 / (step + 1), (1_700_000_000 + step) * 1000]),
    );
    expect(run.metrics.tensor_scalar).toMatchObject([{ step: 9, value: 0.25 }]);
    expect(run.metrics['lr/warm']).toEqual([{ step: 3, value: 0.1, timestamp: 1_700_000_100_500 }]);
    expect(run.metrics['lr/cold']).toMatchObject([{ step: 3, value: 0.2 }]);

    const events = await readEventDirs(logDir);
    expect(events['.']?.scalars.loss?.map((e) => [e.step, e.value, e.wallTime])).toEqual(
      [0, 1, 2, 3, 4].map((step) => [step, f32(1 / (step + 1)), 1_700_000_000 + step]),
    );
    expect(events['.']?.scalars.tensor_scalar).toMatchObject([{ step: 9, value: 0.25 }]);
    // As torch: one sub-directory per scalar, all under the main tag.
    expect(events.lr_warm?.scalars.lr).toMatchObject([
      { step: 3, value: f32(0.1), wallTime: 1_700_000_100.5 },
    ]);
    expect(events.lr_cold?.scalars.lr).toMatchObject([{ step: 3, value: f32(0.2) }]);
  });

  it('addHistogram and addHistogramRaw: summary metrics, bucket JSON and a PNG; HistogramProto events', async () => {
    const logDir = tempDir();
    const experimentName = uniqueName('tb-histo');
    const writer = tracked(logDir, experimentName);
    const values = [1, 2, 2, 3, 3, 3, 4, 4, 4, 4];
    writer.addHistogram('weights', tf.tensor2d(values, [2, 5]), 2, 3);
    await writer.flush();
    writer.addHistogramRaw('raw', 0, 10, 4, 12, 50, [2.5, 5, 10], [1, 2, 1], 5);
    await writer.close();

    const run = await readClientRun(await onlyRun(experimentName));
    const mean = 3;
    const std = Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / values.length);
    expect(run.metrics['weights/min']).toMatchObject([{ step: 2, value: 1 }]);
    expect(run.metrics['weights/max']).toMatchObject([{ step: 2, value: 4 }]);
    expect(run.metrics['weights/mean']).toMatchObject([{ step: 2, value: mean }]);
    expect(run.metrics['weights/std']?.[0]?.value).toBeCloseTo(std, 12);
    expect(run.metrics['weights/count']).toMatchObject([{ step: 2, value: 10 }]);
    expect(run.metrics['raw/mean']).toMatchObject([{ step: 5, value: 3 }]);
    expect(run.metrics['raw/std']?.[0]?.value).toBeCloseTo(Math.sqrt(50 / 4 - 9), 12);
    expect(run.artifacts).toEqual([
      'histograms/raw.json',
      'histograms/raw.png',
      'histograms/weights.json',
      'histograms/weights.png',
    ]);
    expect(JSON.parse(run.texts['histograms/weights.json'] as string)).toMatchObject({
      tag: 'weights',
      steps: [{ step: 2, min: 1, max: 4, count: 10, edges: [1, 2, 3, 4], counts: [1, 2, 7] }],
    });
    expect(run.pngs['histograms/weights.png']).toBe(true);

    const events = await readEventDirs(logDir);
    expect(events['.']?.histograms.weights).toEqual([
      { step: 2, min: 1, max: 4, num: 10, sum: 30, sumSquares: 100, limits: [2, 3, 4], counts: [1, 2, 7] },
    ]);
    expect(events['.']?.histograms.raw).toEqual([
      { step: 5, min: 0, max: 10, num: 4, sum: 12, sumSquares: 50, limits: [2.5, 5, 10], counts: [1, 2, 1] },
    ]);
  });

  it('addImage and addImages: CHW/HWC/NCHW/NHWC, float 0–1 or uint8, tensor or typed array; PNG artifacts and Image events', async () => {
    const logDir = tempDir();
    const experimentName = uniqueName('tb-image');
    const writer = tracked(logDir, experimentName);
    // 2x3 RGB, channels first, floats.
    writer.addImage('chw', tf.ones([3, 2, 3]).mul(0.5), 0);
    // 2x2 RGB, channels last, bytes in a typed array with its shape.
    writer.addImage(
      'hwc',
      new Uint8Array([255, 0, 0, 0, 255, 0, 0, 0, 255, 9, 9, 9]),
      1,
      undefined,
      'HWC',
      [2, 2, 3],
    );
    writer.addImage('grey', new Float32Array([0, 0.25, 0.5, 1]), 2, undefined, 'HW', [2, 2]);
    writer.addImages('batch_nchw', tf.zeros([3, 1, 4, 5]), 3);
    writer.addImages('batch_nhwc', tf.zeros([2, 4, 5, 4]).toInt(), 4, undefined, 'NHWC');
    await writer.close();

    const run = await readClientRun(await onlyRun(experimentName));
    expect(run.artifacts).toEqual([
      'images/batch_nchw/step_3.png',
      'images/batch_nhwc/step_4.png',
      'images/chw/step_0.png',
      'images/grey/step_2.png',
      'images/hwc/step_1.png',
    ]);
    expect(Object.values(run.pngs).every(Boolean)).toBe(true);

    const images = (await readEventDirs(logDir))['.']?.images;
    expect(images).toEqual({
      chw: [{ step: 0, width: 3, height: 2, png: true }],
      hwc: [{ step: 1, width: 2, height: 2, png: true }],
      grey: [{ step: 2, width: 2, height: 2, png: true }],
      batch_nchw: [{ step: 3, width: 15, height: 4, png: true }],
      batch_nhwc: [{ step: 4, width: 10, height: 4, png: true }],
    });
  });

  it('addText and addFigure: text and SVG artifacts per tag and step; text-plugin tensor events', async () => {
    const logDir = tempDir();
    const experimentName = uniqueName('tb-text');
    const writer = tracked(logDir, experimentName);
    writer.addText('notes', 'first **note**', 0);
    writer.addText('notes', 'second, ünïcödé', 1);
    const svg =
      '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>';
    writer.addFigure('plot', svg, 3);
    await writer.close();

    const run = await readClientRun(await onlyRun(experimentName));
    expect(run.texts).toEqual({
      'text/notes/step_0.txt': 'first **note**',
      'text/notes/step_1.txt': 'second, ünïcödé',
      'figures/plot/step_3.svg': svg,
    });
    const events = await readEventDirs(logDir);
    expect(events['.']?.tensors.notes).toEqual([
      { step: 0, value: 'first **note**', plugin: 'text', description: '' },
      { step: 1, value: 'second, ünïcödé', plugin: 'text', description: '' },
    ]);
  });

  it('addPrCurve: a pr_curves tensor [tp, fp, tn, fn, precision, recall] in the event file, a JSON artifact in MLflow', async () => {
    const logDir = tempDir();
    const experimentName = uniqueName('tb-pr');
    const writer = tracked(logDir, experimentName);
    // Thresholds 0, 0.5, 1: predictions 0.9 and 0.8 land in bucket 1, 0.3 and 0.1 in bucket 0 (as torch).
    writer.addPrCurve('pr', tf.tensor1d([1, 0, 1, 0], 'bool'), [0.9, 0.8, 0.3, 0.1], 2, 3);
    expect(() => writer.addPrCurve('pr', [true], [1.5], 3)).toThrowError(
      expect.objectContaining({ name: 'MlflowValidationError', key: 'pr' }),
    );
    expect(() => writer.addPrCurve('pr', [2], [0.5], 3)).toThrowError(/pr: label 0 is 2/);
    await writer.close();

    const rows = [
      [2, 1, 0],
      [2, 1, 0],
      [0, 1, 2],
      [0, 1, 2],
      [0.5, 0.5, 0],
      [1, 0.5, 0],
    ];
    const events = await readEventDirs(logDir);
    expect(events['.']?.tensors.pr).toEqual([{ step: 2, value: rows, plugin: 'pr_curves', description: '' }]);
    const run = await readClientRun(await onlyRun(experimentName));
    expect(JSON.parse(run.texts['pr_curves/pr/step_2.json'] as string)).toMatchObject({
      step: 2,
      thresholds: [0, 0.5, 1],
      truePositives: rows[0],
      falsePositives: rows[1],
      trueNegatives: rows[2],
      falseNegatives: rows[3],
      precision: rows[4],
      recall: rows[5],
    });
  });

  it('addPrCurve matches torch’s compute_curve (run in numpy) on random weighted data', async () => {
    const logDir = tempDir();
    const writer = new SummaryWriter({ logDir, enabled: false });
    let seed = 7;
    const random = (): number => {
      seed = (seed * 16807) % 2147483647;
      return seed / 2147483647;
    };
    const labels = Array.from({ length: 200 }, () => (random() < 0.4 ? 1 : 0));
    const predictions = labels.map((label) => Math.min(1, Math.max(0, label * 0.3 + random() * 0.7)));
    const weights = labels.map(() => 0.5 + random());
    writer.addPrCurve('pr', labels, predictions, 0, 11, weights);
    await writer.close();
    const ours = (await readEventDirs(logDir))['.']?.tensors.pr?.[0]?.value;
    // torch.utils.tensorboard.summary.compute_curve, verbatim, then float32 as in the event file.
    const torch = await python<number[][]>(`
import json, numpy as np
labels, predictions, weights = np.array(${JSON.stringify(labels)}), np.array(${JSON.stringify(predictions)}), np.array(${JSON.stringify(weights)})
num_thresholds = 11
_MINIMUM_COUNT = 1e-7
bucket_indices = np.int32(np.floor(predictions * (num_thresholds - 1)))
float_labels = labels.astype(np.float64)
histogram_range = (0, num_thresholds - 1)
tp_buckets, _ = np.histogram(bucket_indices, bins=num_thresholds, range=histogram_range, weights=float_labels * weights)
fp_buckets, _ = np.histogram(bucket_indices, bins=num_thresholds, range=histogram_range, weights=(1.0 - float_labels) * weights)
tp = np.cumsum(tp_buckets[::-1])[::-1]
fp = np.cumsum(fp_buckets[::-1])[::-1]
tn = fp[0] - fp
fn = tp[0] - tp
precision = tp / np.maximum(_MINIMUM_COUNT, tp + fp)
recall = tp / np.maximum(_MINIMUM_COUNT, tp + fn)
print(json.dumps(np.stack((tp, fp, tn, fn, precision, recall)).astype(np.float32).tolist()))
`);
    expect(ours).toHaveLength(6);
    for (const [r, row] of torch.entries()) {
      for (const [i, value] of row.entries()) {
        expect((ours as number[][])[r]?.[i]).toBeCloseTo(value, 4);
      }
    }
  });

  it('addHparams: params and metrics on the same run (no sub-run); hparams plugin summaries in the same log directory', async () => {
    const logDir = tempDir();
    const experimentName = uniqueName('tb-hparams');
    const writer = tracked(logDir, experimentName);
    writer.addScalar('loss', 0.5, 1);
    writer.addHparams({ lr: 0.01, optimizer: 'adam', batchnorm: true }, { 'hparam/accuracy': 0.93 }, 1);
    await writer.close();

    const run = await readClientRun(await onlyRun(experimentName));
    expect(run.params).toEqual({ lr: '0.01', optimizer: 'adam', batchnorm: 'true' });
    expect(run.metrics['hparam/accuracy']).toMatchObject([{ step: 1, value: 0.93 }]);
    expect(run.metrics.loss).toMatchObject([{ step: 1, value: 0.5 }]);

    const events = await readEventDirs(logDir);
    expect(Object.keys(events)).toEqual(['.']);
    expect(events['.']?.scalars['hparam/accuracy']).toMatchObject([{ step: 1, value: f32(0.93) }]);
    expect(events['.']?.hparams['_hparams_/session_start_info']).toMatchObject({
      sessionStartInfo: {
        hparams: { lr: 0.01, optimizer: 'adam', batchnorm: true },
      },
    });
    expect(events['.']?.hparams['_hparams_/experiment']).toMatchObject({
      experiment: {
        hparamInfos: [
          { name: 'lr', type: 'DATA_TYPE_FLOAT64' },
          { name: 'optimizer', type: 'DATA_TYPE_STRING' },
          { name: 'batchnorm', type: 'DATA_TYPE_BOOL' },
        ],
        metricInfos: [{ name: { tag: 'hparam/accuracy' } }],
      },
    });
    expect(events['.']?.hparams['_hparams_/session_end_info']).toMatchObject({
      sessionEndInfo: { status: 'STATUS_SUCCESS' },
    });
  });

  it('logs to the active run and leaves it open', async () => {
    const experimentName = uniqueName('tb-active');
    const run = await startRun({ enabled: true, trackingUri: trackingUri(), experimentName });
    const writer = new SummaryWriter({ logDir: tempDir() });
    writer.addScalar('acc', 0.75, 4);
    await writer.close();
    expect(getActiveRun()).toBe(run);
    await run.end();
    const read = await readClientRun(run.runId);
    expect(read.metrics.acc).toMatchObject([{ step: 4, value: 0.75 }]);
    expect(await runsOf(experimentName)).toEqual([run.runId]);
  });

  it('with tracking off it still writes event files and sends nothing', async () => {
    const logDir = tempDir();
    const experimentName = uniqueName('tb-off');
    const writer = new SummaryWriter({ logDir, enabled: false, trackingUri: trackingUri(), experimentName });
    writer.addScalar('loss', 0.1, 0);
    writer.addHistogram('h', [1, 2, 3], 0);
    writer.addText('t', 'x', 0);
    await writer.close();
    expect(await runsOf(experimentName)).toEqual([]);
    const events = (await readEventDirs(logDir))['.'];
    expect(events?.scalars.loss).toMatchObject([{ step: 0, value: f32(0.1) }]);
    expect(events?.histograms.h).toHaveLength(1);
    expect(events?.tensors.t).toHaveLength(1);
  });

  it('bad input: typed errors naming the tag; NaN scalars are kept; nothing half-written', async () => {
    const logDir = tempDir();
    const experimentName = uniqueName('tb-bad');
    const writer = tracked(logDir, experimentName);
    const fails = (call: () => void, key: string, text: RegExp): void => {
      let caught: unknown;
      try {
        call();
      } catch (error) {
        caught = error;
      }
      expect(MlflowValidationError.isInstance(caught)).toBe(true);
      expect((caught as MlflowValidationError).key).toBe(key);
      expect((caught as Error).message).toMatch(text);
    };
    fails(
      () => writer.addScalar('loss', 1, 1.5),
      'loss',
      /step is expected to be an integer, but is instead 1.5/,
    );
    fails(() => writer.addScalar('vec', tf.tensor1d([1, 2]), 0), 'vec', /tensor of shape \[2\]/);
    fails(() => writer.addHistogram('empty', [], 0), 'empty', /no values/);
    fails(() => writer.addHistogram('nan', [1, Number.NaN], 0), 'nan', /NaN at index 1/);
    fails(() => writer.addHistogramRaw('raw', 0, 1, 1, 1, 1, [1, 2], [1], 0), 'raw', /equally long/);
    fails(() => writer.addImage('img', tf.zeros([2, 2]), 0), 'img', /CHW needs 3 positive dimensions/);
    fails(() => writer.addImage('img5', tf.zeros([5, 2, 2]), 0), 'img5', /5 channels/);
    fails(
      () => writer.addImage('short', new Uint8Array(5), 0, undefined, 'HWC', [2, 2, 3]),
      'short',
      /5 values, but shape \[2, 2, 3\] for format HWC needs 12/,
    );
    fails(() => writer.addImage('plain', [0, 1], 0), 'plain', /pass its shape too/);
    fails(() => writer.addHparams({ ok: 1, bad: null as unknown as string }, {}), 'bad', /is null/);
    fails(() => writer.addFigure('fig', 'not svg', 0), 'fig', /not an SVG document/);
    writer.addScalar('nan', Number.NaN, 2);
    await writer.close();

    const run = await readClientRun(await onlyRun(experimentName));
    expect(Object.keys(run.metrics)).toEqual(['nan']);
    expect(run.metrics.nan).toMatchObject([{ step: 2, value: null }]);
    expect(run.artifacts).toEqual([]);
    const events = (await readEventDirs(logDir))['.'];
    expect(Object.keys(events?.scalars ?? {})).toEqual(['nan']);
    expect(events?.scalars.nan).toMatchObject([{ step: 2, value: null }]);
    expect(events?.images).toEqual({});
  });

  it('names its event files events.out.tfevents.<seconds>.<host>... and defaults logDir to runs/<date>_<host>', async () => {
    const logDir = tempDir();
    const writer = new SummaryWriter({ logDir, enabled: false, filenameSuffix: '.mine' });
    writer.addScalar('x', 1, 0);
    await writer.close();
    expect(readdirSync(logDir)).toEqual([expect.stringMatching(/^events\.out\.tfevents\.\d{10}\..+\.mine$/)]);
    const unnamed = new SummaryWriter({ enabled: false, comment: '_lr0.1', tee: false });
    expect(unnamed.logDir).toMatch(/^runs\/[A-Z][a-z]{2}\d{2}_\d{2}-\d{2}-\d{2}_.+_lr0\.1$/);
    expect(unnamed.getLogdir()).toBe(unnamed.logDir);
  });
});
