import { describe, expect, it } from 'vitest';
import { MlflowValidationError } from './errors.js';
import {
  keyProblem,
  normalizeArtifactPath,
  sanitizeKey,
  toMetricValue,
  toParamString,
  validateKey,
  validateStep,
} from './validation.js';

describe('keys', () => {
  it.each(['loss', 'val/accuracy', 'train loss', 'a:b', 'layer_1.units', 'épochs', 'a-b'])(
    'accepts %j as MLflow does',
    (key) => {
      expect(keyProblem(key)).toBeUndefined();
    },
  );

  it.each([
    ['', 'must not be empty'],
    ['a$b', 'may contain only'],
    ['/abs', 'must not start or end'],
    ['trail/', 'must not start or end'],
    ['a//b', 'must not start or end'],
    ['../up', 'must not start with ".."'],
    ['a/./b', '"." or ".."'],
    ['x'.repeat(251), 'at most 250'],
  ])('rejects %j (%s)', (key, reason) => {
    expect(keyProblem(key)).toContain(reason);
  });

  it('names the key and suggests a valid one in the error', () => {
    expect(() => validateKey('metric', 'acc@top1')).toThrowError(
      new MlflowValidationError(
        'acc@top1',
        'Invalid metric key "acc@top1": keys may contain only letters, digits, underscores (_), dashes (-), periods (.), spaces ( ), colons (:) and slashes (/). Use a key such as "acc_top1".',
      ),
    );
  });

  it('sanitizes any string into a key the validator accepts', () => {
    for (const raw of ['acc@top1', '//a//b//', '../x', 'a/./b', '', '€$%', 'y'.repeat(400)]) {
      expect(keyProblem(sanitizeKey(raw))).toBeUndefined();
    }
  });
});

describe('values', () => {
  it('keeps NaN and infinities as metric values', () => {
    expect(toMetricValue('m', Number.NaN)).toBeNaN();
    expect(toMetricValue('m', Number.POSITIVE_INFINITY)).toBe(Number.POSITIVE_INFINITY);
    expect(toMetricValue('m', 10n)).toBe(10);
  });

  it('rejects a tensor with advice on reading it', () => {
    const tensor = { shape: [1], dtype: 'float32', dataSync: () => [1] };
    expect(() => toMetricValue('loss', tensor)).toThrow('Metric "loss" got a tensor, not a number');
  });

  it('rejects strings and booleans as metrics', () => {
    expect(() => toMetricValue('loss', '0.5')).toThrow(
      'Metric "loss" must be a number, got a string: pass a number.',
    );
    expect(() => toMetricValue('loss', true)).toThrow('must be a number');
  });

  it('rejects non-integer and non-finite steps', () => {
    expect(() => validateStep('loss', 1.5)).toThrow('Step 1.5 of metric "loss" is not an integer');
    expect(() => validateStep('loss', Number.NaN)).toThrow('is not an integer');
    expect(() => validateStep('loss', Number.POSITIVE_INFINITY)).toThrow('is not an integer');
  });

  it('names a step that is not a number by its type, never quoting it', () => {
    expect(() => validateStep('loss', 'hunter2')).toThrow(
      'Step (a string) of metric "loss" is not an integer',
    );
    expect(() => validateStep('loss', null)).toThrow('Step (a null) of metric "loss"');
  });

  it('converts params by the documented rule', () => {
    expect(toParamString('k', 'text')).toBe('text');
    expect(toParamString('k', 0.01)).toBe('0.01');
    expect(toParamString('k', true)).toBe('true');
    expect(toParamString('k', 12n)).toBe('12');
    expect(toParamString('k', null)).toBe('None');
    expect(toParamString('k', undefined)).toBe('None');
    expect(toParamString('k', new Date('2026-01-02T03:04:05Z'))).toBe('2026-01-02T03:04:05.000Z');
    expect(toParamString('k', { a: [1, 2] })).toBe('{"a":[1,2]}');
  });

  it('rejects a circular param value naming the key', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => toParamString('cfg', cyclic)).toThrow(
      'refers back to one of its own parents (a cycle): it must be a tree at "cfg.self"',
    );
  });

  it('keeps artifact paths inside the run', () => {
    expect(normalizeArtifactPath('./plots//loss.png')).toBe('plots/loss.png');
    expect(() => normalizeArtifactPath('../escape.txt')).toThrow('contains ".."');
  });
});
