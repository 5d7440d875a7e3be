import { MlflowConfigError, MlflowValidationError } from '@mlflow-kit/core';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { flattenParams } from './flatten-params.js';

describe('flattenParams', () => {
  it('turns nested objects into dotted keys with string values', () => {
    expect(flattenParams({ lr: 0.01, model: { depth: 5, head: { dropout: 0.1 } }, amp: true })).toEqual({
      lr: '0.01',
      'model.depth': '5',
      'model.head.dropout': '0.1',
      amp: 'true',
    });
  });

  it('uses the configured separator and prefix', () => {
    expect(flattenParams({ model: { depth: 5 } }, { separator: '/', prefix: 'config' })).toEqual({
      'config/model/depth': '5',
    });
  });

  it('indexes arrays of objects and writes arrays of primitives as JSON', () => {
    expect(
      flattenParams({
        layers: [
          { units: 64, activation: 'relu' },
          { units: 10, activation: 'softmax' },
        ],
        hidden: [64, 32],
        names: ['a', 'b'],
        grid: [
          [1, 2],
          [3, 4],
        ],
        empty: [],
      }),
    ).toEqual({
      'layers.0.units': '64',
      'layers.0.activation': 'relu',
      'layers.1.units': '10',
      'layers.1.activation': 'softmax',
      hidden: '[64,32]',
      names: '["a","b"]',
      grid: '[[1,2],[3,4]]',
      empty: '[]',
    });
  });

  it('writes dates as ISO strings, bigints as digits, null as None and leaves undefined out', () => {
    expect(
      flattenParams(
        {
          start: new Date('2026-01-02T03:04:05.000Z'),
          seed: 12345678901234567890n,
          note: null,
          missing: undefined,
          nan: Number.NaN,
        },
        { redact: false },
      ),
    ).toEqual({ start: '2026-01-02T03:04:05.000Z', seed: '12345678901234567890', note: 'None', nan: 'NaN' });
  });

  it('writes enums and literals as their values', () => {
    enum Optimizer {
      Adam = 'adam',
      Sgd = 'sgd',
    }
    enum Level {
      Low = 1,
    }
    const config = z
      .object({
        optimizer: z.enum(Optimizer),
        mode: z.literal('train'),
        act: z.enum(['relu', 'gelu']),
        level: z.enum(Level),
      })
      .parse({ optimizer: 'adam', mode: 'train', act: 'gelu', level: 1 });
    expect(flattenParams(config)).toEqual({ optimizer: 'adam', mode: 'train', act: 'gelu', level: '1' });
  });

  it('walks Maps like objects and writes Sets like arrays', () => {
    expect(
      flattenParams({
        weights: new Map<string, number>([
          ['cat', 2],
          ['dog', 1],
        ]),
        tags: new Set(['x', 'y']),
      }),
    ).toEqual({
      'weights.cat': '2',
      'weights.dog': '1',
      tags: '["x","y"]',
    });
  });

  it('writes an Error as its text and a sparse array with null for its holes (valid JSON)', () => {
    // biome-ignore lint/suspicious/noSparseArray: the sparse array is the case under test.
    const sparse = [1, , 3];
    expect(flattenParams({ failure: new Error('disk full'), sizes: sparse })).toEqual({
      failure: 'Error: disk full',
      sizes: '[1,null,3]',
    });
  });

  it('rejects a Map whose keys cannot become names', () => {
    expect(() => flattenParams({ weights: new Map([[{ id: 1 }, 2]]) })).toThrow(
      'The Map at "weights" has a key that is not a string or number: only such keys can become param names.',
    );
  });

  it('indexes Sets of objects and writes value objects such as URLs by their text', () => {
    expect(
      flattenParams({ heads: new Set([{ n: 1 }]), endpoint: new URL('https://example.com/v1') }),
    ).toEqual({
      'heads.0.n': '1',
      endpoint: 'https://example.com/v1',
    });
  });

  it('keeps empty objects as {} so that no field vanishes', () => {
    expect(flattenParams({ extra: {} })).toEqual({ extra: '{}' });
  });

  it('rejects a circular reference, naming its path', () => {
    const model: Record<string, unknown> = { depth: 2 };
    model.self = { parent: model };
    const run = () => flattenParams({ model });
    expect(run).toThrow(MlflowValidationError);
    expect(run).toThrow(
      'The config has a circular reference at "model.self.parent", which points back to "model": a config must be a tree. Remove the reference, or log that field yourself.',
    );
    expect(() => flattenParams({ model }, { redact: false })).toThrow(
      'circular reference at "model.self.parent"',
    );
  });

  it('rejects a list that holds itself, naming its path', () => {
    const a: unknown[] = [];
    a.push(a);
    expect(() => flattenParams({ a }, { redact: false })).toThrow(MlflowValidationError);
    expect(() => flattenParams({ a }, { redact: false })).toThrow(
      'circular reference at "a.0", which points back to "a"',
    );
    const inner: unknown[] = [1];
    inner.push([inner]);
    expect(() => flattenParams({ b: [inner] }, { redact: false })).toThrow('circular reference at "b.0.1.0"');
  });

  it('accepts the same object twice when it is not an ancestor', () => {
    const shared = { units: 4 };
    expect(flattenParams({ a: shared, b: shared })).toEqual({ 'a.units': '4', 'b.units': '4' });
  });

  it('rejects a key MLflow refuses, naming it and the sanitised alternative', () => {
    const run = () => flattenParams({ model: { 'lr@warmup': 1 } });
    expect(run).toThrow(MlflowValidationError);
    expect(run).toThrow(
      'The config field at "model.lr@warmup" gives the param key "model.lr@warmup", which MLflow refuses: keys may contain only letters, digits, underscores (_), dashes (-), periods (.), spaces ( ), colons (:) and slashes (/). Rename the field, or pass invalidKeys: \'sanitize\' to log it as "model.lr_warmup".',
    );
  });

  it('rejects a key over 250 characters', () => {
    expect(() => flattenParams({ ['k'.repeat(251)]: 1 })).toThrow(
      'keys may be at most 250 characters, this one has 251',
    );
  });

  it('sanitises invalid keys when asked', () => {
    expect(flattenParams({ 'lr@warmup': 1 }, { invalidKeys: 'sanitize' })).toEqual({ lr_warmup: '1' });
  });

  it('rejects two fields that flatten to the same key', () => {
    expect(() => flattenParams({ 'a.b': 1, a: { b: 2 } })).toThrow(
      'The config fields at "a.b" and "a.b" both become the param "a.b": rename one of them, or pick another separator.',
    );
  });

  it('rejects functions and symbols with the path', () => {
    expect(() => flattenParams({ model: { init: () => 1 } })).toThrow(
      'Config value at "model.init" is a function, which cannot become a param: pass a string, number, boolean, date, array or plain object there.',
    );
  });

  it('rejects a separator MLflow refuses', () => {
    const run = () => flattenParams({ a: { b: 1 } }, { separator: '@' });
    expect(run).toThrow(MlflowConfigError);
    expect(run).toThrow(
      'Option `separator` is "@": use characters MLflow allows in keys, such as "." (the default), "/", "_" or "-".',
    );
  });

  it('rejects a non-object root', () => {
    expect(() => flattenParams([1, 2])).toThrow(
      'flattenParams takes an object (a config), got an array: wrap it, as in { value }.',
    );
  });

  it('redacts secrets by default', () => {
    expect(
      flattenParams({ db: { url: 'postgres://u:p@h:5432/db', password: 'hunter2' }, apiKey: 'sk-123' }),
    ).toEqual({
      'db.url': 'postgres://***@h:5432/db',
      'db.password': '***',
      apiKey: '***',
    });
  });

  it('leaves values as they are with redact: false', () => {
    expect(flattenParams({ password: 'hunter2' }, { redact: false })).toEqual({ password: 'hunter2' });
  });
});
