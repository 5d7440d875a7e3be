import { describe, expect, it } from 'vitest';
import { kerasMetricName, metricKey } from './logs.js';

describe('kerasMetricName', () => {
  it('names tfjs metrics as Keras does, keeping val_ and leaving Keras-equal names alone', () => {
    const names = [
      'loss',
      'val_loss',
      'acc',
      'val_acc',
      'ce',
      'val_ce',
      'dense_2_acc',
      'val_dense_2_acc',
      'dense_2_loss',
      'meanSquaredError',
      'val_categoricalAccuracy',
      'binaryAccuracy',
      'mse',
      'MAE',
      'precision',
      'account',
    ];
    expect(Object.fromEntries(names.map((name) => [name, kerasMetricName(name)]))).toEqual({
      loss: 'loss',
      val_loss: 'val_loss',
      acc: 'accuracy',
      val_acc: 'val_accuracy',
      ce: 'crossentropy',
      val_ce: 'val_crossentropy',
      dense_2_acc: 'dense_2_accuracy',
      val_dense_2_acc: 'val_dense_2_accuracy',
      dense_2_loss: 'dense_2_loss',
      meanSquaredError: 'mean_squared_error',
      val_categoricalAccuracy: 'val_categorical_accuracy',
      binaryAccuracy: 'binary_accuracy',
      mse: 'mse',
      MAE: 'MAE',
      precision: 'precision',
      account: 'account',
    });
  });

  it('keeps tfjs names by default and prefixes after renaming', () => {
    expect(metricKey('acc')).toBe('acc');
    expect(metricKey('acc', 'batch_', 'keras')).toBe('batch_accuracy');
    expect(metricKey('acc', 'batch_')).toBe('batch_acc');
  });
});
