import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { launchChromium } from '../helpers/chromium.js';
import { MlflowUi, SCREENSHOT_DIR } from '../helpers/mlflow-ui.js';
import { python, trackingUri, uniqueName } from '../helpers/python.js';

const exampleDir = new URL('../../examples/browser-training/', import.meta.url).pathname;
let server: ChildProcess;
let origin: string;
let browser: Browser;
let ui: MlflowUi | undefined;

/** Starts `examples/browser-training/serve.mjs` on a free port and resolves with the address it prints. */
function startExample(): Promise<string> {
  server = spawn(process.execPath, ['serve.mjs'], {
    cwd: exampleDir,
    env: { ...process.env, PORT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  return new Promise((resolve, reject) => {
    const seen = (chunk: Buffer) => {
      output += chunk;
      const url = /Open (http:\/\/127\.0\.0\.1:\d+)\//.exec(output)?.[1];
      if (url) resolve(url);
    };
    server.stdout?.on('data', seen);
    server.stderr?.on('data', seen);
    server.once('exit', (code) => reject(new Error(`serve.mjs exited (${code}) before serving:\n${output}`)));
  });
}

beforeAll(async () => {
  [origin, browser] = await Promise.all([startExample(), launchChromium()]);
});

afterAll(async () => {
  await ui?.close();
  await browser?.close();
  server?.kill('SIGTERM');
});

it('the browser-training example trains in Chromium with a live chart and a run link; Python and the MLflow UI see its metrics', async () => {
  const experiment = uniqueName('example-page');
  const started = Date.now();
  const page = await browser.newPage({ viewport: { width: 900, height: 700 } });
  const consoleLines: string[] = [];
  page.on('console', (line) => consoleLines.push(line.text()));
  await page.goto(`${origin}/?trackingUri=${encodeURIComponent(trackingUri())}&experiment=${experiment}`);

  // The link to the run appears when the run starts, before training ends.
  await page.waitForSelector('#run-link[href]', { timeout: 30_000 });
  const href = (await page.getAttribute('#run-link', 'href')) ?? '';
  const [, experimentId, runId] = /#\/experiments\/(\d+)\/runs\/([0-9a-f]{32})$/.exec(href) ?? [];
  expect(href.startsWith(`${trackingUri()}/#/experiments/`), href).toBe(true);
  expect(runId, href).toBeDefined();

  await page.waitForSelector('body[data-state]', { timeout: 40_000 });
  const state = {
    state: await page.getAttribute('body', 'data-state'),
    status: await page.textContent('#status'),
  };
  expect(state.state, `${state.status}\n${consoleLines.join('\n')}`).toBe('done');

  // The chart is drawn: pixels of the loss (red) and accuracy (blue) lines on the canvas.
  // (A string, evaluated in the page: this file is compiled without the DOM types.)
  const colours = (await page.evaluate(`(() => {
    const canvas = document.getElementById('chart');
    const { data } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
    let red = 0;
    let blue = 0;
    for (let index = 0; index < data.length; index += 4) {
      const [r, g, b] = [data[index], data[index + 1], data[index + 2]];
      if (r > 180 && g < 110 && b < 110) red++;
      if (b > 180 && r < 90 && g < 150) blue++;
    }
    return { red, blue };
  })()`)) as { red: number; blue: number };
  expect(colours.red, 'loss line pixels').toBeGreaterThan(300);
  expect(colours.blue, 'accuracy line pixels').toBeGreaterThan(300);
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOT_DIR, 'example-browser-training-page.png'), fullPage: true });
  await page.close();
  console.info(`example page trained and logged in ${Date.now() - started} ms`);

  const seen = await python<{ status: string; experimentId: string; history: Record<string, number[]> }>(`
import json
from mlflow.tracking import MlflowClient
c = MlflowClient()
r = c.get_run("${runId}")
history = {k: [m.step for m in sorted(c.get_metric_history(r.info.run_id, k), key=lambda m: m.step)] for k in r.data.metrics}
print(json.dumps({"status": r.info.status, "experimentId": r.info.experiment_id, "history": history}))
`);
  expect(seen.status).toBe('FINISHED');
  expect(seen.experimentId).toBe(experimentId);
  const epochs = Array.from({ length: 40 }, (_, epoch) => epoch);
  for (const key of ['loss', 'acc', 'val_loss', 'val_acc']) expect(seen.history[key], key).toEqual(epochs);

  // The run page of the official UI, its model-metrics tab: a chart per metric, each with its latest value.
  const uiStarted = Date.now();
  ui = await MlflowUi.launch();
  const metricsTab = await ui.view(`${href}/model-metrics`, {
    waitFor: [/\bloss\n\d/, /\bacc\n\d/, /val_loss\n\d/, /val_acc\n\d/],
    screenshot: 'example-browser-training-run-metrics',
  });
  expect(metricsTab.text).not.toContain('No metrics');
  console.info(`MLflow UI showed the run's metric charts in ${Date.now() - uiStarted} ms`);
}, 90_000);
