// The page of test/browser/train-in-page.test.ts: trains a small tfjs model in the browser and logs it to the
// MLflow server named in the query string, through the browser entries of @mlflow-kit/core and
// @mlflow-kit/tfjs. What it logged is left in `window.result` for the test to compare with what the official
// Python client reads back.
import { withRun } from '@mlflow-kit/core';
import { SummaryWriter } from '@mlflow-kit/tensorboard';
import { mlflowCallback } from '@mlflow-kit/tfjs';
import * as tf from '@tensorflow/tfjs';
import type { PageResult } from './page-result.js';

const page = globalThis as unknown as { result?: PageResult; location: Location };

// webgl when the headless GPU (SwiftShader) gives one, else the plain JavaScript backend.
async function pickBackend(): Promise<string> {
  for (const name of ['webgl', 'cpu']) {
    try {
      if (await tf.setBackend(name)) {
        await tf.ready();
        return name;
      }
    } catch {
      // Not available here: the next one.
    }
  }
  throw new Error('no tfjs backend');
}

// Deterministic data: the label is whether the features sum above zero.
function trainingData(rows: number): { xs: tf.Tensor2D; ys: tf.Tensor2D } {
  const features: number[][] = [];
  for (let row = 0; row < rows; row++) features.push([0, 1, 2, 3].map((col) => Math.sin(row * 7 + col * 3)));
  const labels = features.map((values) => [values.reduce((sum, value) => sum + value, 0) > 0 ? 1 : 0]);
  return { xs: tf.tensor2d(features), ys: tf.tensor2d(labels) };
}

// torch-style TensorBoard calls from the page, on a run the writer starts itself (its name is the last segment
// of logDir) and ends on close(): MLflow only, as the event-file tee is Node-only.
async function logWithSummaryWriter(
  trackingUri: string,
  experimentName: string,
  kernel: tf.Tensor,
): Promise<NonNullable<PageResult['writer']>> {
  const writer = new SummaryWriter({
    enabled: true,
    trackingUri,
    experimentName,
    logDir: 'runs/page-writer',
  });
  const losses = [0.9, 0.5, 0.3, 0.2, 0.1];
  for (const [step, loss] of losses.entries()) writer.addScalar('loss', loss, step);
  writer.addHistogram('dense/kernel', kernel, 4);
  const text = 'written by **SummaryWriter** in a page';
  writer.addText('notes', text, 1);
  // An 8-high, 4-wide RGB image in HWC order, as uint8.
  const pixels = new Uint8Array(8 * 4 * 3).map((_, index) => (index * 7) % 256);
  writer.addImage('sample', pixels, 2, undefined, 'HWC', [8, 4, 3]);
  await writer.close();
  const values = [...kernel.dataSync()];
  return {
    runName: 'page-writer',
    losses,
    histogram: { min: Math.min(...values), max: Math.max(...values), count: values.length },
    text,
    image: { width: 4, height: 8 },
  };
}

// A 16x8 gradient on a canvas, as a page would draw a chart or a sample.
function gradientCanvas(): HTMLCanvasElement {
  const canvas = document.createElement('canvas');
  canvas.width = 16;
  canvas.height = 8;
  const context = canvas.getContext('2d')!;
  for (let x = 0; x < 16; x++) {
    context.fillStyle = `rgb(${x * 16}, 0, ${255 - x * 16})`;
    context.fillRect(x, 0, 1, 8);
  }
  return canvas;
}

async function pngBytes(canvas: HTMLCanvasElement): Promise<Uint8Array> {
  const blob = await new Promise<Blob | null>((resolve) => canvas.toBlob(resolve, 'image/png'));
  return new Uint8Array(await blob!.arrayBuffer());
}

async function main(): Promise<PageResult> {
  const query = new URLSearchParams(page.location.search);
  const backend = await pickBackend();
  const model = tf.sequential();
  model.add(tf.layers.dense({ units: 8, activation: 'relu', inputShape: [4] }));
  model.add(tf.layers.dense({ units: 1, activation: 'sigmoid' }));
  model.compile({ optimizer: tf.train.adam(0.05), loss: 'binaryCrossentropy', metrics: ['accuracy'] });
  const { xs, ys } = trainingData(64);
  const epochs: Record<string, number>[] = [];
  const canvas = gradientCanvas();
  const image = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height);
  const runId = await withRun(
    {
      enabled: true,
      trackingUri: query.get('trackingUri')!,
      experimentName: query.get('experiment')!,
      runName: 'trained-in-a-page',
    },
    async (run) => {
      run.logParam('page.backend', backend);
      await model.fit(xs, ys, {
        epochs: 4,
        batchSize: 16,
        validationSplit: 0.25,
        callbacks: [
          mlflowCallback({ tf }),
          new tf.CustomCallback({
            onEpochEnd: async (_epoch, logs) => {
              epochs.push({ ...(logs as Record<string, number>) });
            },
          }),
        ],
      });
      await run.logText('trained in a browser\n', 'notes/page.txt');
      await run.logDict({ backend, userAgent: navigator.userAgent }, 'page/info.json');
      // The three ways a page has an image: ImageData, the canvas itself, and PNG bytes the browser encoded.
      await run.logImage(image, 'images/gradient.png');
      await run.logImage(canvas, 'images/canvas.png');
      await run.logImage(await pngBytes(canvas), 'images/browser-encoded.png');
      return run.runId;
    },
  );
  const writer = await logWithSummaryWriter(
    query.get('trackingUri')!,
    query.get('experiment')!,
    model.layers[0]!.getWeights()[0]!,
  );
  return { runId, backend, epochs, image: { width: image.width, height: image.height }, writer };
}

main().then(
  (result) => {
    page.result = result;
  },
  (error: unknown) => {
    page.result = {
      error: error instanceof Error ? `${error.name}: ${error.message}\n${error.stack}` : String(error),
    };
  },
);
