import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';

export { tf };

/** Switches tfjs to the wasm backend, which every tfjs test runs on. */
export async function useWasm(): Promise<void> {
  if (tf.getBackend() !== 'wasm') await tf.setBackend('wasm');
  await tf.ready();
}

/** A small compiled classifier: 4 features, 3 classes. */
export function classifier(): tf.Sequential {
  const model = tf.sequential({
    layers: [
      tf.layers.dense({ units: 8, inputShape: [4], activation: 'relu' }),
      tf.layers.dense({ units: 3, activation: 'softmax' }),
    ],
  });
  model.compile({ optimizer: tf.train.adam(0.01), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  return model;
}

/** Deterministic data for {@link classifier}. */
export function data(rows = 48): { xs: tf.Tensor2D; ys: tf.Tensor2D } {
  const features: number[][] = [];
  const labels: number[] = [];
  for (let row = 0; row < rows; row++) {
    const label = row % 3;
    features.push([label + Math.sin(row), label * 0.5, (row % 7) / 7, label]);
    labels.push(label);
  }
  return { xs: tf.tensor2d(features), ys: tf.oneHot(tf.tensor1d(labels, 'int32'), 3) as tf.Tensor2D };
}
