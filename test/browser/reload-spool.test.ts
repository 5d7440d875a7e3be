import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFaultProxy, type FaultProxy } from '@mlflow-kit/core/testing';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { bundleForBrowser } from '../helpers/browser-bundle.js';
import { launchChromium } from '../helpers/chromium.js';
import { python, trackingUri, uniqueName } from '../helpers/python.js';
import { serveFolder } from '../helpers/static-server.js';
import type { SpoolPageResult } from './page/spool-page-result.js';

// The page spool (issue 14): a page run whose server stops mid-run leaves what it could not send in IndexedDB
// when the page is reloaded or closed, and the next visit uploads it. 20,000 points per run at
// MLFLOW_KIT_TEST_SCALE=full (the default), 5,000 at `small`.
const scale = process.env.MLFLOW_KIT_TEST_SCALE ?? 'full';
if (scale !== 'full' && scale !== 'small')
  throw new Error(`MLFLOW_KIT_TEST_SCALE must be "full" or "small", not "${scale}"`);
const POINTS = scale === 'full' ? 20_000 : 5_000;
const HALF = POINTS / 2;

let dir: string;
let site: Awaited<ReturnType<typeof serveFolder>>;
let browser: Browser;
let proxy: FaultProxy;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mlflow-kit-spool-page-'));
  const bundle = await bundleForBrowser(join(import.meta.dirname, 'page', 'spool-page.ts'), dir, true);
  expect(bundle.nodeImports).toEqual([]);
  await writeFile(
    join(dir, 'index.html'),
    '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>spool</title></head><body><script type="module" src="./entry.js"></script></body></html>\n',
  );
  site = await serveFolder(dir);
  browser = await launchChromium();
  // Between the page and the real server, so that the test can stop and start "the server".
  proxy = await createFaultProxy({ target: trackingUri() });
});

afterAll(async () => {
  await browser?.close();
  await site?.close();
  await proxy?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function pageResult(page: Page, lines: string[]): Promise<SpoolPageResult> {
  await page.waitForFunction(
    () => (globalThis as unknown as { result?: unknown }).result !== undefined,
    undefined,
    {
      timeout: 120_000,
    },
  );
  const result = (await page.evaluate(
    () => (globalThis as unknown as { result?: unknown }).result,
  )) as SpoolPageResult;
  expect(result.error, lines.join('\n')).toBeUndefined();
  return result;
}

async function open(
  context: BrowserContext,
  mode: 'run' | 'replay',
  experiment: string,
  extra = '',
): Promise<{ page: Page; result: SpoolPageResult; lines: string[] }> {
  const page = await context.newPage();
  const lines: string[] = [];
  page.on('console', (line) => lines.push(line.text()));
  await page.goto(
    `${site.origin}/?mode=${mode}&trackingUri=${encodeURIComponent(proxy.uri)}&experiment=${experiment}${extra}`,
  );
  return { page, result: await pageResult(page, lines), lines };
}

/** Starts a run in a page, logs half the points with the server up, stops it and logs the rest. */
async function runIntoOutage(
  context: BrowserContext,
): Promise<{ page: Page; runId: string; lines: string[] }> {
  const { page, result, lines } = await open(context, 'run', uniqueName('page-spool'));
  await page.evaluate(
    (to) => (globalThis as unknown as { logSteps: (a: number, b: number) => void }).logSteps(0, to),
    HALF,
  );
  await page.evaluate(() => (globalThis as unknown as { flushRun: () => Promise<void> }).flushRun());
  await proxy.stop();
  await page.evaluate(
    ([from, to]) =>
      (globalThis as unknown as { logSteps: (a: number, b: number) => void }).logSteps(from!, to!),
    [HALF, POINTS],
  );
  // The run tries the stopped server (and fails) before the page goes away.
  await new Promise((resolve) => setTimeout(resolve, 1500));
  return { page, runId: result.runId!, lines };
}

async function nextVisit(context: BrowserContext, runId: string): Promise<void> {
  await proxy.start();
  const { page, result, lines } = await open(context, 'replay', 'unused');
  expect(result.spooledItems, lines.join('\n')).toBeGreaterThan(0);
  expect(result.replay?.complete, lines.join('\n')).toBe(true);
  expect(result.replay?.runs).toContain(runId);
  expect(result.replay?.points).toBeGreaterThanOrEqual(POINTS - HALF);
  expect(
    await page.evaluate(() => (globalThis as unknown as { countSpool: () => Promise<number> }).countSpool()),
  ).toBe(0);
  await page.close();
}

function readRun(runId: string): Promise<{ status: string; steps: [number, number][] }> {
  return python<{ status: string; steps: [number, number][] }>(`
import json
from mlflow import MlflowClient
c = MlflowClient()
r = c.get_run("${runId}")
print(json.dumps({"status": r.info.status, "steps": [[m.step, m.value] for m in c.get_metric_history("${runId}", "loss")]}))
`);
}

async function expectEveryPointOnce(runId: string): Promise<void> {
  const seen = await readRun(runId);
  expect(seen.steps).toHaveLength(POINTS);
  const byStep = new Map<number, number[]>();
  for (const [step, value] of seen.steps) byStep.set(step, [...(byStep.get(step) ?? []), value]);
  expect(byStep.size).toBe(POINTS);
  for (let step = 0; step < POINTS; step++) expect(byStep.get(step), `step ${step}`).toEqual([step * 0.5]);
  // The page went away: the run ends KILLED, applied by the replay after its data.
  expect(seen.status).toBe('KILLED');
}

it('a page reloaded mid-run with the server stopped keeps its points in IndexedDB; the next visit, with the server back, uploads every point exactly once and ends the run KILLED', async () => {
  const context = await browser.newContext();
  try {
    const { page, runId, lines } = await runIntoOutage(context);
    const started = Date.now();
    await page.reload();
    const reloaded = await pageResult(page, lines);
    console.info(`reload with ${POINTS - HALF} points unsent: ${Date.now() - started} ms`);
    expect(reloaded.reloaded).toBe(true);
    // The server is still down: the reloaded page's try leaves the spool as it is.
    expect(reloaded.spooledItems, lines.join('\n')).toBeGreaterThan(0);
    expect(reloaded.replay?.complete).toBe(false);
    expect(reloaded.replay?.items).toBe(0);
    await page.close();
    await nextVisit(context, runId);
    await expectEveryPointOnce(runId);
  } finally {
    await context.close();
    await proxy.start();
  }
});

it('a tab closed mid-run with the server stopped keeps its points in IndexedDB; a new visit uploads every point exactly once and ends the run KILLED', async () => {
  const context = await browser.newContext();
  try {
    const { page, runId } = await runIntoOutage(context);
    await page.close({ runBeforeUnload: false });
    await nextVisit(context, runId);
    await expectEveryPointOnce(runId);
  } finally {
    await context.close();
    await proxy.start();
  }
});

it('a tab closed with the server up sends its queued points with keepalive before any next visit; the replay of the same points adds no duplicate and ends the run KILLED', async () => {
  const context = await browser.newContext();
  try {
    // Nothing is sent before the page goes away: the background send waits ten minutes.
    const { page, result, lines } = await open(
      context,
      'run',
      uniqueName('page-keepalive'),
      '&flushIntervalMs=600000',
    );
    const queued = 300;
    await page.evaluate(
      (to) => (globalThis as unknown as { logSteps: (a: number, b: number) => void }).logSteps(0, to),
      queued,
    );
    await page.close({ runBeforeUnload: false });
    const runId = result.runId!;
    let seen = await readRun(runId);
    for (let waited = 0; seen.steps.length < queued && waited < 10_000; waited += 500) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      seen = await readRun(runId);
    }
    expect(seen.steps, lines.join('\n')).toHaveLength(queued);
    // The status waits for the replay, which comes after the data in the spool.
    expect(seen.status).toBe('RUNNING');
    const next = await open(context, 'replay', 'unused');
    expect(next.result.replay).toMatchObject({ complete: true, points: queued });
    await next.page.close();
    const after = await readRun(runId);
    expect(after.steps.map(([step]) => step).sort((a, b) => a - b)).toEqual(
      Array.from({ length: queued }, (_, step) => step),
    );
    expect(after.status).toBe('KILLED');
  } finally {
    await context.close();
  }
});

/** Makes the page hidden or visible as a tab switch does, for the page's own listeners. */
function setVisibility(page: Page, state: 'hidden' | 'visible'): Promise<void> {
  return page.evaluate((value) => {
    const { document } = globalThis as unknown as { document: EventTarget };
    Object.defineProperty(document, 'visibilityState', { value, configurable: true });
    document.dispatchEvent(new Event('visibilitychange'));
  }, state);
}

it('a page hidden during an outage spools what it holds and goes on; visible again with the server back, it uploads the spool, and the run ends FINISHED with every point once', async () => {
  const context = await browser.newContext();
  try {
    const { page, runId, lines } = await runIntoOutage(context);
    const countSpool = (): Promise<number> =>
      page.evaluate(() => (globalThis as unknown as { countSpool: () => Promise<number> }).countSpool());
    await setVisibility(page, 'hidden');
    await expect.poll(countSpool, { timeout: 10_000 }).toBeGreaterThan(0);
    await proxy.start();
    await setVisibility(page, 'visible');
    // Uploaded while the page lives, each item deleted once the server has it.
    await expect.poll(countSpool, { timeout: 60_000 }).toBe(0);
    expect((await readRun(runId)).steps.length, lines.join('\n')).toBe(POINTS);
    await page.evaluate(() => (globalThis as unknown as { endRun: () => Promise<void> }).endRun());
    const seen = await readRun(runId);
    expect(seen.status).toBe('FINISHED');
    expect(seen.steps.map(([step]) => step).sort((a, b) => a - b)).toEqual(
      Array.from({ length: POINTS }, (_, step) => step),
    );
    await page.close();
  } finally {
    await context.close();
    await proxy.start();
  }
});
