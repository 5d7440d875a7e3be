import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { bundleForBrowser } from '../helpers/browser-bundle.js';
import { launchChromium } from '../helpers/chromium.js';
import { python, trackingUri, uniqueName } from '../helpers/python.js';
import { serveFolder } from '../helpers/static-server.js';
import type { PageResult } from './page/page-result.js';

let dir: string;
let site: Awaited<ReturnType<typeof serveFolder>>;
let browser: Browser;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mlflow-kit-page-'));
  const started = Date.now();
  const bundle = await bundleForBrowser(join(import.meta.dirname, 'page', 'train-page.ts'), dir, true);
  expect(bundle.nodeImports).toEqual([]);
  await copyFile(join(import.meta.dirname, 'page', 'index.html'), join(dir, 'index.html'));
  console.info(`page bundle (tfjs included) built in ${Date.now() - started} ms`);
  site = await serveFolder(dir);
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await site?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

it('trains a tfjs model in Chromium and logs it, and SummaryWriter calls, to the real server, where Python reads every param, metric point and artifact', async () => {
  const experiment = uniqueName('browser');
  const started = Date.now();
  const page = await browser.newPage();
  const consoleLines: string[] = [];
  page.on('console', (line) => consoleLines.push(line.text()));
  await page.goto(
    `${site.origin}/?trackingUri=${encodeURIComponent(trackingUri())}&experiment=${experiment}`,
  );
  await page.waitForFunction(() => (globalThis as { result?: unknown }).result !== undefined, undefined, {
    timeout: 90_000,
  });
  const result = (await page.evaluate(() => (globalThis as { result?: unknown }).result)) as PageResult;
  await page.close();
  expect(result.error, consoleLines.join('\n')).toBeUndefined();
  console.info(`page trained on ${result.backend} and logged in ${Date.now() - started} ms`);

  const seen = await python<{
    status: string;
    params: Record<string, string>;
    tags: Record<string, string>;
    history: Record<string, [number, number][]>;
    artifacts: string[];
    text: string;
    info: Record<string, string>;
    pngs: Record<string, string>;
    model: { flavor: Record<string, unknown>; files: string[]; layers: string[]; weights: string[] };
  }>(`
import json, os, mlflow, base64
from mlflow.models import Model
from mlflow.tracking import MlflowClient
c = MlflowClient()
r = c.get_run("${result.runId}")
history = {k: [[m.step, m.value] for m in sorted(c.get_metric_history(r.info.run_id, k), key=lambda m: m.step)] for k in r.data.metrics}
def walk(path=None):
    out = []
    for f in c.list_artifacts(r.info.run_id, path):
        out += walk(f.path) if f.is_dir else [f.path]
    return out
m = c.get_logged_model(r.outputs.model_outputs[0].model_id)
model_dir = mlflow.artifacts.download_artifacts(f"models:/{m.model_id}")
topology = json.load(open(os.path.join(model_dir, "model.json")))
model = {"flavor": Model.load(f"models:/{m.model_id}").flavors["tfjs"], "files": sorted(os.listdir(model_dir)),
  "layers": [l["class_name"] for l in topology["modelTopology"]["config"]["layers"]],
  "weights": [p for g in topology["weightsManifest"] for p in g["paths"]]}
pngs = {name: base64.b64encode(open(mlflow.artifacts.download_artifacts(run_id=r.info.run_id, artifact_path=f"images/{name}"), "rb").read()[:24]).decode()
  for name in ["gradient.png", "canvas.png", "browser-encoded.png"]}
print(json.dumps({"status": r.info.status, "params": r.data.params, "tags": r.data.tags, "history": history,
  "artifacts": walk(), "text": mlflow.artifacts.load_text(f"runs:/{r.info.run_id}/notes/page.txt"),
  "info": mlflow.artifacts.load_dict(f"runs:/{r.info.run_id}/page/info.json"),
  "pngs": pngs, "model": model}))
`);
  expect(seen.status).toBe('FINISHED');
  expect(seen.params['page.backend']).toBe(result.backend);
  expect(seen.params.epochs).toBe('4');
  expect(seen.params.batch_size).toBe('16');
  expect(seen.params.opt_name).toBe('Adam');
  expect(Number(seen.params.opt_learning_rate)).toBeCloseTo(0.05);
  expect(seen.tags['mlflow.source.name']).toBe(`${site.origin}/`);
  // Every point the page saw, at its epoch, once.
  const epochs = result.epochs!;
  expect(epochs).toHaveLength(4);
  for (const key of ['loss', 'acc', 'val_loss', 'val_acc']) {
    const sent = epochs.map((logs, step) => [step, logs[key]]);
    expect(seen.history[key], key).toHaveLength(4);
    seen.history[key]!.forEach(([step, value], index) => {
      expect(step).toBe(sent[index]![0]);
      expect(value).toBeCloseTo(sent[index]![1]!, 5);
    });
  }
  expect(seen.text).toBe('trained in a browser\n');
  expect(seen.info.backend).toBe(result.backend);
  expect(seen.info.userAgent).toMatch(/Chrome/);
  expect(seen.artifacts).toEqual(
    expect.arrayContaining(['images/gradient.png', 'images/canvas.png', 'notes/page.txt', 'page/info.json']),
  );
  // The model trained in the page, as an MLflow 3 logged model with the tfjs flavor and all its weight files.
  expect(seen.model.flavor).toBeDefined();
  expect(seen.model.layers.filter((name) => name === 'Dense')).toHaveLength(2);
  expect(seen.model.files).toEqual(expect.arrayContaining(['MLmodel', 'model.json', ...seen.model.weights]));
  // Each a real PNG of the canvas' size: the signature, then IHDR with width 16 and height 8.
  expect(Object.keys(seen.pngs)).toHaveLength(3);
  for (const [name, base64] of Object.entries(seen.pngs)) {
    const head = Buffer.from(base64, 'base64');
    expect([...head.subarray(0, 8)], name).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    expect(head.readUInt32BE(16), name).toBe(result.image!.width);
    expect(head.readUInt32BE(20), name).toBe(result.image!.height);
  }

  // The page's SummaryWriter: its own run (named after logDir, ended FINISHED by close()), every scalar point,
  // the histogram's summary metrics and bucket JSON, the text and the image, as the Node writer logs them.
  const logged = result.writer!;
  const written = await python<{
    status: string;
    history: Record<string, [number, number][]>;
    metrics: Record<string, number>;
    artifacts: string[];
    text: string;
    buckets: { tag: string; steps: { step: number; count: number; counts: number[] }[] };
    png: string;
  }>(`
import json, base64, mlflow
from mlflow.tracking import MlflowClient
c = MlflowClient()
e = c.get_experiment_by_name("${experiment}")
[r] = c.search_runs([e.experiment_id], "attributes.run_name = '${logged.runName}'")
def walk(path=None):
    out = []
    for f in c.list_artifacts(r.info.run_id, path):
        out += walk(f.path) if f.is_dir else [f.path]
    return out
history = {k: [[m.step, m.value] for m in sorted(c.get_metric_history(r.info.run_id, k), key=lambda m: m.step)] for k in r.data.metrics}
uri = f"runs:/{r.info.run_id}"
print(json.dumps({"status": r.info.status, "history": history, "metrics": r.data.metrics, "artifacts": walk(),
  "text": mlflow.artifacts.load_text(f"{uri}/text/notes/step_1.txt"),
  "buckets": mlflow.artifacts.load_dict(f"{uri}/histograms/dense/kernel.json"),
  "png": base64.b64encode(open(mlflow.artifacts.download_artifacts(f"{uri}/images/sample/step_2.png"), "rb").read()[:24]).decode()}))
`);
  expect(written.status).toBe('FINISHED');
  expect(written.history.loss!.map(([step]) => step)).toEqual([0, 1, 2, 3, 4]);
  for (const [step, value] of written.history.loss!) expect(value).toBeCloseTo(logged.losses[step]!, 6);
  expect(written.history['dense/kernel/count']).toEqual([[4, logged.histogram.count]]);
  expect(written.metrics['dense/kernel/min']).toBeCloseTo(logged.histogram.min, 6);
  expect(written.metrics['dense/kernel/max']).toBeCloseTo(logged.histogram.max, 6);
  expect(written.buckets.steps.map((step) => step.step)).toEqual([4]);
  expect(written.buckets.steps[0]!.counts.reduce((sum, count) => sum + count, 0)).toBe(
    logged.histogram.count,
  );
  expect(written.text).toBe(logged.text);
  expect(written.artifacts).toEqual(
    expect.arrayContaining([
      'histograms/dense/kernel.json',
      'histograms/dense/kernel.png',
      'images/sample/step_2.png',
      'text/notes/step_1.txt',
    ]),
  );
  const head = Buffer.from(written.png, 'base64');
  expect([...head.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  expect(head.readUInt32BE(16)).toBe(logged.image.width);
  expect(head.readUInt32BE(20)).toBe(logged.image.height);
});
