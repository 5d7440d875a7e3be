import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { redactConfig } from './redact.js';
import { SchemaView, secret } from './secret.js';

describe('secret', () => {
  it('marks a schema secret and keeps metadata already set', () => {
    const field = secret(z.string().meta({ description: 'Hub token' }));
    expect(field.meta()).toEqual({ description: 'Hub token', secret: true });
    expect(SchemaView.of(field)?.isSecret).toBe(true);
  });

  it('still validates like the schema it marks', () => {
    expect(() => secret(z.string().min(3)).parse('ab')).toThrow();
    expect(secret(z.string()).parse('abc')).toBe('abc');
  });
});

describe('schema marks read by redaction', () => {
  it('redacts a whole object marked secret', () => {
    const schema = z.object({
      db: z.object({ user: z.string(), host: z.string() }).meta({ secret: true }),
      lr: z.number(),
    });
    expect(redactConfig({ db: { user: 'u', host: 'h' }, lr: 1 }, { schema }).value).toEqual({
      db: '***',
      lr: 1,
    });
  });

  it('follows union branches, transforms, tuples and lazy schemas', () => {
    const storage = z.union([
      z.object({ kind: z.literal('s3'), accessId: secret(z.string()) }),
      z.object({ kind: z.literal('local'), path: z.string() }),
    ]);
    interface Tree {
      label: string;
      pin?: string | undefined;
      children?: Tree[] | undefined;
    }
    const tree: z.ZodType<Tree> = z.lazy(() =>
      z.object({ label: z.string(), pin: secret(z.string()).optional(), children: z.array(tree).optional() }),
    );
    const schema = z.object({
      storage,
      code: secret(z.string().transform((text) => text.trim())),
      pair: z.tuple([z.string(), secret(z.string())]),
      tree,
    });
    const value = schema.parse({
      storage: { kind: 's3', accessId: 'AKIA1' },
      code: ' 1234 ',
      pair: ['name', 'hidden'],
      tree: { label: 'root', children: [{ label: 'leaf', pin: '0000' }] },
    });
    expect(redactConfig(value, { schema }).value).toEqual({
      storage: { kind: 's3', accessId: '***' },
      code: '***',
      pair: ['name', '***'],
      tree: { label: 'root', children: [{ label: 'leaf', pin: '***' }] },
    });
  });

  it('keeps a null secret as null, so that a missing secret shows as None rather than a fake value', () => {
    const schema = z.object({ token: secret(z.string()).nullable() });
    expect(redactConfig({ token: null }, { schema }).value).toEqual({ token: null });
  });

  it('redacts URL credentials inside arrays of strings', () => {
    expect(redactConfig({ mirrors: ['https://u:p@a.example', 'https://b.example'] }).value).toEqual({
      mirrors: ['https://***@a.example', 'https://b.example'],
    });
  });
});
