import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { getActiveRun, setDiagLogger, startRun } from '@mlflow-kit/core';
import { createMemoryStore } from '@mlflow-kit/core/testing';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mlflowCallback } from '../callback.js';
import { findTfjs } from './find-tfjs.js';

// A second copy of TensorFlow.js (4.21.0, installed as `tfjs-other-copy`): its `tf.Callback` is another class.
type Tf = typeof tf;
let other: Tf;
const warnings: string[] = [];

beforeAll(async () => {
  await tf.setBackend('wasm');
  await tf.ready();
  tf.enableProdMode(); // the second copy registers its kernels again; tfjs warns about each one otherwise
  other = createRequire(import.meta.url)('tfjs-other-copy') as Tf;
  setDiagLogger({ error() {}, warn: (message) => warnings.push(message), info() {}, debug() {} });
}, 60_000);

afterEach(async () => {
  for (let run = getActiveRun(); run; run = getActiveRun()) await run.end();
});

function classifier(copy: Tf) {
  const model = copy.sequential({
    layers: [
      copy.layers.dense({ units: 8, inputShape: [4], activation: 'relu' }),
      copy.layers.dense({ units: 3, activation: 'softmax' }),
    ],
  });
  model.compile({ optimizer: copy.train.adam(0.01), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  const xs = copy.randomNormal([24, 4], 0, 1, 'float32', 3);
  const ys = copy.oneHot(
    copy.tensor1d(
      [...Array(24).keys()].map((row) => row % 3),
      'int32',
    ),
    3,
  );
  return { model, xs, ys };
}

/** Stops after the second epoch: no later loss is a billion lower than the first. */
const stopAfterTwo = (copy: Tf) =>
  copy.callbacks.earlyStopping({ monitor: 'loss', minDelta: 1e9, patience: 1 });

describe('mlflowCallback with two copies of TensorFlow.js loaded', { timeout: 30_000 }, () => {
  it('without `tf` uses a loaded copy, and warns that `{ tf }` picks the model’s', () => {
    const found = findTfjs();
    expect([tf.Callback, other.Callback]).toContain(found.Callback);
    expect(warnings.join('\n')).toMatch(/found 2 copies of TensorFlow\.js .* pass `\{ tf \}` from that one/);
  });

  for (const position of ['first', 'last'] as const) {
    it(`given the model’s copy as \`tf\`, logs and keeps earlyStopping working with mlflowCallback ${position}`, async () => {
      const store = createMemoryStore();
      const run = await startRun({ enabled: true, store });
      const { model, xs, ys } = classifier(other);
      const ours = mlflowCallback({ run, tf: other, logModel: false });
      expect(ours).toBeInstanceOf(other.Callback);
      const earlyStopping = stopAfterTwo(other);
      const callbacks = position === 'first' ? [ours, earlyStopping] : [earlyStopping, ours];
      await model.fit(xs, ys, { epochs: 4, callbacks: callbacks as never });
      await run.end();
      const [record] = store.runs();
      expect(record?.history.loss?.map((point) => point.step)).toEqual([0, 1]);
      expect(record?.data.params).toMatchObject({ total_params: '67' });
      expect(record?.data.tags['tfjs.version']).toBe(other.version.tfjs);
    });
  }

  it('given another copy than the model’s, warns at train begin with the fix (tfjs then breaks earlyStopping after it)', async () => {
    const store = createMemoryStore();
    const run = await startRun({ enabled: true, store });
    const { model, xs, ys } = classifier(other);
    warnings.length = 0;
    // Last in the list the model's copy calls it directly: it logs, and it notices the foreign model.
    await model.fit(xs, ys, {
      epochs: 4,
      callbacks: [stopAfterTwo(other), mlflowCallback({ run, tf, logModel: false })] as never,
    });
    expect(warnings).toEqual([
      expect.stringContaining('pass `{ tf }` from the package your model is built with'),
    ]);
    await run.end();
    expect(store.runs()[0]?.history.loss).toHaveLength(2);
    // First in the list the model's copy does not see a tf.Callback in it: that is tfjs' own quirk, reported above.
    const fit = model.fit(xs, ys, {
      epochs: 2,
      callbacks: [mlflowCallback({ tf, enabled: false }), stopAfterTwo(other)] as never,
    });
    await expect(fit).rejects.toThrow(/getMonitorValue is not a function/);
  });
});

describe('findTfjs where no TensorFlow.js is installed', () => {
  it('makes mlflowCallback() throw a MlflowConfigError at once that says to pass `{ tf }`', () => {
    // A child process whose module resolution finds no @tensorflow/* package (the fault injected here).
    const script = `
const Module = require('node:module');
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  if (request.startsWith('@tensorflow/')) throw Object.assign(new Error('Cannot find module ' + request), { code: 'MODULE_NOT_FOUND' });
  return resolve.call(this, request, ...rest);
};
import(${JSON.stringify(fileURLToPath(new URL('../callback.ts', import.meta.url)))}).then(({ mlflowCallback }) => {
  try { mlflowCallback(); console.log('no error'); } catch (error) { console.log(error.name + ': ' + error.message); }
});`;
    const child = spawnSync(
      process.execPath,
      ['--conditions=@mlflow-kit/source', '--import', 'tsx', '-e', script],
      {
        encoding: 'utf8',
        cwd: fileURLToPath(new URL('.', import.meta.url)),
        timeout: 60_000,
      },
    );
    expect(child.stdout.trim()).toBe(
      'MlflowConfigError: mlflowCallback could not find TensorFlow.js (neither @tensorflow/tfjs-node nor @tensorflow/tfjs is loaded or installed): pass `{ tf }`, the module your model is built with.',
    );
  }, 60_000);
});
