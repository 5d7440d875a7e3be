// The example page: trains a small iris classifier with TensorFlow.js in the browser, draws loss and accuracy
// live on a canvas, and logs the run to the MLflow server given by `?trackingUri=` (default
// http://127.0.0.1:5000) through the browser entries of @mlflow-kit/core and @mlflow-kit/tfjs.
import { withRun } from '@mlflow-kit/core';
import { mlflowCallback } from '@mlflow-kit/tfjs';
import * as tf from '@tensorflow/tfjs';

const SPECIES = ['setosa', 'versicolor', 'virginica'];
const EPOCHS = 40;
const query = new URLSearchParams(location.search);
const trackingUri = (query.get('trackingUri') ?? 'http://127.0.0.1:5000').replace(/\/+$/, '');
const experimentName = query.get('experiment') ?? 'browser-training';

const status = document.getElementById('status')!;
const chart = document.getElementById('chart') as HTMLCanvasElement;
document.getElementById('tracking-uri')!.textContent = trackingUri;

/** The iris rows the server ships (the tfjs-autolog example's CSV), shuffled with a fixed seed. */
async function loadIris(): Promise<{ xs: tf.Tensor2D; ys: tf.Tensor2D }> {
  const [, ...rows] = (await (await fetch('./iris.csv')).text()).trim().split('\n');
  let state = 42;
  for (let index = rows.length - 1; index > 0; index--) {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    const other = state % (index + 1);
    [rows[index], rows[other]] = [rows[other]!, rows[index]!];
  }
  const cells = rows.map((row) => row.split(','));
  return {
    xs: tf.tensor2d(cells.map((row) => row.slice(0, 4).map(Number))),
    ys: tf.oneHot(
      tf.tensor1d(
        cells.map((row) => SPECIES.indexOf(row[4] ?? '')),
        'int32',
      ),
      SPECIES.length,
    ) as tf.Tensor2D,
  };
}

const SERIES = [
  { key: 'loss', color: '#d64545', dashed: false },
  { key: 'val_loss', color: '#e8a0a0', dashed: true },
  { key: 'acc', color: '#2f6fd6', dashed: false },
  { key: 'val_acc', color: '#94b4ea', dashed: true },
];

/** Redraws the chart: every series against the epoch, on one axis scaled to the largest value so far. */
function draw(history: Record<string, number>[]): void {
  const context = chart.getContext('2d')!;
  const { width, height } = chart;
  const pad = 30;
  context.fillStyle = '#ffffff';
  context.fillRect(0, 0, width, height);
  context.strokeStyle = '#9aa5b1';
  context.lineWidth = 1;
  context.setLineDash([]);
  context.strokeRect(pad, pad / 2, width - pad * 1.5, height - pad * 1.5);
  const top = Math.max(1, ...history.flatMap((logs) => SERIES.map((series) => logs[series.key] ?? 0)));
  context.fillStyle = '#52606d';
  context.font = '12px sans-serif';
  context.fillText(top.toFixed(1), 2, pad / 2 + 10);
  context.fillText('0', 2, height - pad);
  context.fillText(`epoch ${history.length} / ${EPOCHS}`, width - 110, height - 8);
  const x = (epoch: number) => pad + (epoch / (EPOCHS - 1)) * (width - pad * 1.5);
  const y = (value: number) => height - pad - (value / top) * (height - pad * 1.5);
  for (const series of SERIES) {
    context.strokeStyle = series.color;
    context.lineWidth = 2;
    context.setLineDash(series.dashed ? [6, 4] : []);
    context.beginPath();
    history.forEach((logs, epoch) => {
      const value = logs[series.key];
      if (value === undefined) return;
      if (epoch === 0) context.moveTo(x(epoch), y(value));
      else context.lineTo(x(epoch), y(value));
    });
    context.stroke();
  }
}

async function main(): Promise<void> {
  await tf.ready();
  const { xs, ys } = await loadIris();
  const model = tf.sequential();
  model.add(tf.layers.dense({ units: 16, activation: 'relu', inputShape: [4] }));
  model.add(tf.layers.dense({ units: SPECIES.length, activation: 'softmax' }));
  model.compile({ optimizer: tf.train.adam(0.02), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  const history: Record<string, number>[] = [];
  draw(history);
  // A page has no environment variables: tracking is switched on, and pointed at the server, here.
  await withRun(
    { enabled: true, trackingUri, experimentName, runName: 'iris-in-the-browser' },
    async (run) => {
      const runLink = Object.assign(document.createElement('a'), {
        id: 'run-link',
        href: `${trackingUri}/#/experiments/${run.experimentId}/runs/${run.runId}`,
        target: '_blank',
        textContent: run.runId,
      });
      document.getElementById('run')!.replaceChildren(runLink);
      run.logParam('tfjs.backend', tf.getBackend());
      status.textContent = `training on ${tf.getBackend()}…`;
      await model.fit(xs, ys, {
        epochs: EPOCHS,
        batchSize: 16,
        validationSplit: 0.2,
        callbacks: [
          mlflowCallback({ tf }),
          new tf.CustomCallback({
            onEpochEnd: async (epoch, logs) => {
              history.push({ ...(logs as Record<string, number>) });
              draw(history);
              status.textContent = `epoch ${epoch + 1}/${EPOCHS}: loss ${logs?.loss?.toFixed(3)}, acc ${logs?.acc?.toFixed(3)}`;
              await tf.nextFrame(); // let the browser paint the chart
            },
          }),
        ],
      });
    },
  );
  const last = history.at(-1) ?? {};
  status.textContent = `done on ${tf.getBackend()}: val_acc ${last.val_acc?.toFixed(3)}; the run is in MLflow.`;
  document.body.dataset.state = 'done';
}

main().catch((error: unknown) => {
  status.textContent = `failed: ${error instanceof Error ? error.message : String(error)}`;
  document.body.dataset.state = 'failed';
});
