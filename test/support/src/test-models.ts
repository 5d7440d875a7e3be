import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';

/** Switches tfjs to the wasm backend (pure npm, loads everywhere). */
export async function useWasm(): Promise<typeof tf> {
  if (tf.getBackend() !== 'wasm') await tf.setBackend('wasm');
  await tf.ready();
  return tf;
}

/** A small compiled classifier: 4 features, 3 classes. */
export function smallClassifier(): tf.Sequential {
  const model = tf.sequential({
    layers: [
      tf.layers.dense({ units: 8, inputShape: [4], activation: 'relu' }),
      tf.layers.dense({ units: 3, activation: 'softmax' }),
    ],
  });
  model.compile({ optimizer: tf.train.adam(0.01), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  return model;
}

/** Deterministic training data for {@link smallClassifier}. */
export function trainingData(rows = 48): { xs: tf.Tensor2D; ys: tf.Tensor2D } {
  const features: number[][] = [];
  const labels: number[] = [];
  for (let row = 0; row < rows; row++) {
    const label = row % 3;
    features.push([label + Math.sin(row), label * 0.5 + Math.cos(row) * 0.1, (row % 7) / 7, label]);
    labels.push(label);
  }
  return { xs: tf.tensor2d(features), ys: tf.oneHot(tf.tensor1d(labels, 'int32'), 3) as tf.Tensor2D };
}
