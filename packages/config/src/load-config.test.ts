import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MlflowConfigError } from '@mlflow-kit/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { loadConfig } from './load-config.js';

const Config = z.object({
  lr: z.number().default(0.001),
  epochs: z.number().int().default(10),
  runName: z.string().default('baseline'),
  amp: z.boolean().default(false),
  optimizer: z.enum(['adam', 'sgd']).default('adam'),
  model: z
    .object({ depth: z.number().int(), hiddenUnits: z.array(z.number()) })
    .default({ depth: 4, hiddenUnits: [64] }),
  data: z.object({ path: z.string(), shuffle: z.boolean().default(true) }),
});

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'load-config-'));
  await writeFile(join(dir, 'base.yaml'), 'lr: 0.1\nmodel:\n  depth: 6\ndata:\n  path: /data/mnist\n');
  await writeFile(join(dir, 'local.json'), JSON.stringify({ epochs: 20, model: { hiddenUnits: [128, 64] } }));
  await writeFile(join(dir, 'broken.json'), '{"password": "hunter2",, }');
  await writeFile(join(dir, 'broken.yaml'), 'a: [1, 2\npassword: hunter2\n');
  await writeFile(join(dir, 'list.yaml'), '- 1\n- 2\n');
});

describe('loadConfig', () => {
  it('layers schema defaults, files, environment and command line, later ones winning', async () => {
    const config = await loadConfig({
      schema: Config,
      cwd: dir,
      files: ['base.yaml', 'local.json'],
      envPrefix: 'TRAIN_',
      env: { TRAIN_EPOCHS: '30', TRAIN_MODEL__HIDDEN_UNITS: '[256]', TRAIN_AMP: 'true', OTHER: 'x' },
      argv: ['--lr', '0.01', 'model.depth=8', '--run-name=007', '--no-data.shuffle'],
    });
    expect(config).toEqual({
      lr: 0.01,
      epochs: 30,
      runName: '007',
      amp: true,
      optimizer: 'adam',
      model: { depth: 8, hiddenUnits: [256] },
      data: { path: '/data/mnist', shuffle: false },
    });
  });

  it('merges a partial override into an object default', async () => {
    const config = await loadConfig({ schema: Config, argv: ['--model.depth', '2', '--data.path', '/d'] });
    expect(config.model).toEqual({ depth: 2, hiddenUnits: [64] });
  });

  it('skips the bare -- that pnpm and npm pass on to the script', async () => {
    const config = await loadConfig({ schema: Config, argv: ['--', '--epochs', '2', '--data.path', 'x'] });
    expect(config.epochs).toBe(2);
  });

  it('treats a bare boolean flag as true', async () => {
    const config = await loadConfig({ schema: Config, argv: ['--amp', '--data.path', 'x'] });
    expect(config.amp).toBe(true);
  });

  it('reports every bad value with where it came from, without the values', async () => {
    const error = await loadConfig({
      schema: Config,
      cwd: dir,
      files: ['base.yaml'],
      envPrefix: 'TRAIN_',
      env: { TRAIN_OPTIMIZER: 'rmsprop' },
      argv: ['--model.depth', 'deep'],
    }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(MlflowConfigError);
    expect((error as Error).message).toBe(
      [
        'Invalid config, 2 problems:',
        '  - optimizer: expected one of "adam"|"sgd" (from environment variable TRAIN_OPTIMIZER)',
        '  - model.depth: expected number, received string (from --model.depth)',
        'Fix these values, or change the schema.',
      ].join('\n'),
    );
  });

  it('names a required field that no layer set', async () => {
    await expect(loadConfig({ schema: Config, argv: [] })).rejects.toThrow(
      'Invalid config, 1 problem:\n  - data.path: expected string, received undefined\nFix these values, or change the schema.',
    );
  });

  it('rejects an option that names no field, listing the fields', async () => {
    await expect(loadConfig({ schema: Config, argv: ['--modle.depth', '3'] })).rejects.toThrow(
      'Command-line option --modle.depth names no config field "modle": the fields there are "lr", "epochs", "runName", "amp", "optimizer", "model", "data".',
    );
    await expect(
      loadConfig({ schema: Config, argv: [], envPrefix: 'TRAIN_', env: { TRAIN_MODEL__WIDTH: '3' } }),
    ).rejects.toThrow(
      'Environment variable TRAIN_MODEL__WIDTH names no config field "WIDTH" in "model": the fields there are "depth", "hiddenUnits".',
    );
  });

  it('rejects a stray positional argument and a value-less non-boolean option', async () => {
    await expect(loadConfig({ schema: Config, argv: ['train'] })).rejects.toThrow(
      'Unexpected command-line argument "train": set config fields as --key value, --key=value or key=value (for example --lr 0.01 or model.depth=5).',
    );
    await expect(loadConfig({ schema: Config, argv: ['--lr'] })).rejects.toThrow(
      'Command-line option --lr needs a value: pass --lr <value> or --lr=<value>.',
    );
  });

  it('names a missing file', async () => {
    const error = await loadConfig({ schema: Config, cwd: dir, files: ['nope.yaml'], argv: [] }).catch(
      (caught: unknown) => caught,
    );
    expect((error as Error).message).toBe(
      `Config file nope.yaml does not exist (looked at ${join(dir, 'nope.yaml')}): check the path, or leave it out of \`files\`.`,
    );
    expect((error as MlflowConfigError).setting).toBe('nope.yaml');
  });

  it('reports broken JSON and YAML by position, never quoting their content', async () => {
    const json = await loadConfig({ schema: Config, cwd: dir, files: ['broken.json'], argv: [] }).catch(
      (caught: unknown) => caught,
    );
    expect((json as Error).message).toMatch(
      /^Config file broken\.json is not valid JSON( at line 1)?: fix the syntax\.$/,
    );
    const yaml = await loadConfig({ schema: Config, cwd: dir, files: ['broken.yaml'], argv: [] }).catch(
      (caught: unknown) => caught,
    );
    expect((yaml as Error).message).toMatch(
      /^Config file broken\.yaml is not valid YAML at line \d+, column \d+ \([A-Z_]+\): fix the syntax\.$/,
    );
    expect(String(json)).not.toContain('hunter2');
    expect(String(yaml)).not.toContain('hunter2');
  });

  it('rejects a file that is not a mapping or has an unknown extension', async () => {
    await expect(loadConfig({ schema: Config, cwd: dir, files: ['list.yaml'], argv: [] })).rejects.toThrow(
      'Config file list.yaml must hold a mapping of fields at its top level, not a list.',
    );
    await expect(loadConfig({ schema: Config, cwd: dir, files: ['config.toml'], argv: [] })).rejects.toThrow(
      'Config file config.toml is neither JSON (.json) nor YAML (.yaml, .yml): rename it or convert it.',
    );
  });

  it('rejects an empty envPrefix', async () => {
    await expect(loadConfig({ schema: Config, envPrefix: '', argv: [] })).rejects.toThrow(
      'Option `envPrefix` is empty: pass a prefix such as "TRAIN_", so that unrelated variables are not read.',
    );
  });

  it('never shows a command-line value in an error: only the option name', async () => {
    const secret = 'sk-live-0123456789';
    for (const argv of [
      [`--hubTokn=${secret}`],
      [`hubTokn=${secret}`],
      [`+hubTokn=${secret}`],
      ['--hubTokn', secret],
    ]) {
      const error = await loadConfig({ schema: Config, argv }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(MlflowConfigError);
      expect((error as Error).message).not.toContain(secret);
      expect((error as MlflowConfigError).setting).not.toContain(secret);
      expect((error as Error).message).toMatch(
        /^Command-line option (--hubTokn|hubTokn=\.\.\.) names no config field/,
      );
    }
    const stray = await loadConfig({ schema: Config, argv: [`-api-key=${secret}`] }).catch(
      (caught: unknown) => caught,
    );
    expect(stray).toBeInstanceOf(MlflowConfigError);
    expect((stray as Error).message).not.toContain(secret);
    expect((stray as Error).message).toContain('Unexpected command-line argument "-api-key=..."');
  });

  it('takes a space-separated value that holds = as the value, not as an override', async () => {
    const Secrets = z.object({ hubToken: z.string(), dbUrl: z.string(), depth: z.number().default(1) });
    const config = await loadConfig({
      schema: Secrets,
      argv: ['--hub-token', 'abc123==', '--db-url', 'postgres://h/db?sslmode=require', 'depth=3'],
    });
    expect(config).toEqual({ hubToken: 'abc123==', dbUrl: 'postgres://h/db?sslmode=require', depth: 3 });
    const withOverride = await loadConfig({
      schema: Secrets,
      argv: ['--hub-token=t', '--db-url=u', '--depth', '4'],
    });
    expect(withOverride.depth).toBe(4);
  });
});
