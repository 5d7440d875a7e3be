import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { flattenParams, logConfig } from '@mlflow-kit/config';
import {
  MlflowConfigError,
  MlflowKitError,
  MlflowValidationError,
  type Run,
  resolveSettings,
  startRun,
} from '@mlflow-kit/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { z as z3 } from 'zod3';
import { python, trackingUri, uniqueName } from '../helpers/python.js';

type ErrorClass = typeof MlflowConfigError | typeof MlflowValidationError | typeof MlflowKitError;

/** One bad input: what is called, the error class it must throw, and the key or setting the message names. */
interface Case {
  name: string;
  call: (run: Run) => unknown;
  type: ErrorClass;
  names: string;
}

function deep(levels: number): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  let node = root;
  for (let level = 0; level < levels; level++) {
    const child: Record<string, unknown> = {};
    node.next = child;
    node = child;
  }
  return root;
}

function circular(): Record<string, unknown> {
  const value: Record<string, unknown> = { a: 1 };
  value.self = value;
  return value;
}

const throwingGetter = () =>
  Object.defineProperty({ ok: 1 }, 'boom', {
    enumerable: true,
    get() {
      throw new Error('getter failed');
    },
  });
const throwingProxy = () =>
  new Proxy(
    {},
    {
      ownKeys() {
        throw new Error('ownKeys failed');
      },
    },
  );
const tensorLike = { shape: [1], dtype: 'float32', dataSync: () => [1] };
const settings =
  (env: Record<string, string>, options = {}) =>
  () =>
    resolveSettings({ enabled: true, ...options }, env);
const server = 'http://127.0.0.1:5000';
const tmp = mkdtempSync(join(tmpdir(), 'bad-input-'));
const file = join(tmp, 'f.txt');
writeFileSync(file, 'x');

const CASES: Case[] = [
  // Settings: each names the option or variable and says what to set.
  {
    name: 'URI host:port without a scheme',
    call: settings({}, { trackingUri: '127.0.0.1:5000' }),
    type: MlflowConfigError,
    names: 'trackingUri',
  },
  {
    name: 'URI localhost:port from the env',
    call: settings({ MLFLOW_TRACKING_URI: 'localhost:5000' }),
    type: MlflowConfigError,
    names: 'MLFLOW_TRACKING_URI',
  },
  {
    name: 'URI with a leading space',
    call: settings({ MLFLOW_TRACKING_URI: ` ${server}` }),
    type: MlflowConfigError,
    names: 'MLFLOW_TRACKING_URI',
  },
  {
    name: 'URI with a trailing newline',
    call: settings({}, { trackingUri: `${server}\n` }),
    type: MlflowConfigError,
    names: 'trackingUri',
  },
  {
    name: 'URI with an unsupported scheme',
    call: settings({ MLFLOW_TRACKING_URI: 'sqlite:///mlflow.db' }),
    type: MlflowConfigError,
    names: 'sqlite',
  },
  {
    name: 'URI that is not a valid URL',
    call: settings({}, { trackingUri: 'http://user:pw@127.0.0.1:99999' }),
    type: MlflowConfigError,
    names: 'MLFLOW_TRACKING_URI',
  },
  {
    name: 'MLFLOW_KIT_EXIT_TIMEOUT=abc',
    call: settings({ MLFLOW_KIT_EXIT_TIMEOUT: 'abc' }),
    type: MlflowConfigError,
    names: 'MLFLOW_KIT_EXIT_TIMEOUT',
  },
  {
    name: 'MLFLOW_KIT_EXIT_TIMEOUT=-1',
    call: settings({ MLFLOW_KIT_EXIT_TIMEOUT: '-1' }),
    type: MlflowConfigError,
    names: 'MLFLOW_KIT_EXIT_TIMEOUT',
  },
  {
    name: 'MLFLOW_KIT_ENABLED=maybe',
    call: () => resolveSettings({}, { MLFLOW_KIT_ENABLED: 'maybe' }),
    type: MlflowConfigError,
    names: 'MLFLOW_KIT_ENABLED',
  },
  {
    name: 'MLFLOW_KIT_DEBUG=verbose',
    call: settings({ MLFLOW_KIT_DEBUG: 'verbose' }),
    type: MlflowConfigError,
    names: 'MLFLOW_KIT_DEBUG',
  },
  {
    name: 'MLFLOW_HTTP_REQUEST_TIMEOUT=soon',
    call: settings({ MLFLOW_HTTP_REQUEST_TIMEOUT: 'soon' }),
    type: MlflowConfigError,
    names: 'MLFLOW_HTTP_REQUEST_TIMEOUT',
  },
  {
    name: 'MLFLOW_HTTP_REQUEST_MAX_RETRIES=1.5',
    call: settings({ MLFLOW_HTTP_REQUEST_MAX_RETRIES: '1.5' }),
    type: MlflowConfigError,
    names: 'MLFLOW_HTTP_REQUEST_MAX_RETRIES',
  },
  {
    name: 'MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR=-2',
    call: settings({ MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR: '-2' }),
    type: MlflowConfigError,
    names: 'MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR',
  },
  {
    name: 'MLFLOW_HTTP_REQUEST_BACKOFF_JITTER=x',
    call: settings({ MLFLOW_HTTP_REQUEST_BACKOFF_JITTER: 'x' }),
    type: MlflowConfigError,
    names: 'MLFLOW_HTTP_REQUEST_BACKOFF_JITTER',
  },
  {
    name: 'MLFLOW_TRACKING_INSECURE_TLS=sure',
    call: settings({ MLFLOW_TRACKING_INSECURE_TLS: 'sure' }),
    type: MlflowConfigError,
    names: 'MLFLOW_TRACKING_INSECURE_TLS',
  },
  {
    name: 'password without user name (env)',
    call: settings({ MLFLOW_TRACKING_URI: server, MLFLOW_TRACKING_PASSWORD: 'pw' }),
    type: MlflowConfigError,
    names: 'MLFLOW_TRACKING_USERNAME',
  },
  {
    name: 'password without user name (option)',
    call: settings({}, { trackingUri: server, password: 'pw' }),
    type: MlflowConfigError,
    names: 'MLFLOW_TRACKING_USERNAME',
  },
  {
    name: 'insecure TLS and a CA bundle',
    call: settings({ MLFLOW_TRACKING_INSECURE_TLS: '1', MLFLOW_TRACKING_SERVER_CERT_PATH: '/ca.pem' }),
    type: MlflowConfigError,
    names: 'MLFLOW_TRACKING_INSECURE_TLS',
  },
  {
    name: 'maxRetries 2.5',
    call: settings({}, { maxRetries: 2.5 }),
    type: MlflowConfigError,
    names: 'maxRetries',
  },
  {
    name: 'requestTimeoutSeconds 0',
    call: settings({}, { requestTimeoutSeconds: 0 }),
    type: MlflowConfigError,
    names: 'requestTimeoutSeconds',
  },
  // Keys.
  {
    name: 'param key with "!"',
    call: (run) => run.logParam('bad key!', 1),
    type: MlflowValidationError,
    names: 'bad key!',
  },
  {
    name: 'empty param key',
    call: (run) => run.logParam('', 1),
    type: MlflowValidationError,
    names: 'param key',
  },
  {
    name: 'param key over 250 characters',
    call: (run) => run.logParam('k'.repeat(251), 1),
    type: MlflowValidationError,
    names: 'k'.repeat(20),
  },
  {
    name: 'param key with ..',
    call: (run) => run.logParam('../x', 1),
    type: MlflowValidationError,
    names: '../x',
  },
  {
    name: 'param key starting with /',
    call: (run) => run.logParam('/abs', 1),
    type: MlflowValidationError,
    names: '/abs',
  },
  {
    name: 'param key with //',
    call: (run) => run.logParam('a//b', 1),
    type: MlflowValidationError,
    names: 'a//b',
  },
  {
    name: 'metric key with @',
    call: (run) => run.logMetric('acc@1', 1),
    type: MlflowValidationError,
    names: 'acc@1',
  },
  // Keys are stored verbatim: one holding a token is refused, and named redacted.
  {
    name: 'metric key that is a token (a custom callback log)',
    call: (run) => run.logMetric('ghp_BadInputMetricKey0000000000000000001', 1),
    type: MlflowValidationError,
    names: 'metric key "***"',
  },
  {
    name: 'param key holding a token',
    call: (run) => run.logParam('hf_BadInputParamKey00000000000000000002', 1),
    type: MlflowValidationError,
    names: 'param key "***"',
  },
  {
    name: 'tag key holding a token',
    call: (run) => run.setTag('cfg/sk-proj-BadInputTagKey00000000000003', 'x'),
    type: MlflowValidationError,
    names: 'tag key "cfg/***"',
  },
  {
    name: 'tag key with a newline',
    call: (run) => run.setTag('a\nb', 'x'),
    type: MlflowValidationError,
    names: 'tag key',
  },
  // Param and tag values.
  {
    name: 'symbol param value',
    call: (run) => run.logParam('sym', Symbol('x') as never),
    type: MlflowValidationError,
    names: 'sym',
  },
  {
    name: 'function param value',
    call: (run) => run.logParam('fn', (() => 1) as never),
    type: MlflowValidationError,
    names: 'fn',
  },
  {
    name: 'circular param value',
    call: (run) => run.logParam('cyc', circular() as never),
    type: MlflowValidationError,
    names: 'cyc.self',
  },
  {
    name: 'param value with a Symbol key',
    call: (run) => run.logParam('symkey', { [Symbol('s')]: 1 } as never),
    type: MlflowValidationError,
    names: 'symkey',
  },
  {
    name: 'param value whose getter throws',
    call: (run) => run.logParam('getter', throwingGetter() as never),
    type: MlflowValidationError,
    names: 'getter',
  },
  {
    name: 'param value, a Proxy whose ownKeys throws',
    call: (run) => run.logParam('proxy', throwingProxy() as never),
    type: MlflowValidationError,
    names: 'proxy',
  },
  {
    name: 'param value nested 5000 levels',
    call: (run) => run.logParam('deep', deep(5000) as never),
    type: MlflowValidationError,
    names: 'deep.next',
  },
  {
    name: 'Map param with an object key',
    call: (run) => run.logParam('map', new Map([[{}, 1]]) as never),
    type: MlflowValidationError,
    names: 'map',
  },
  {
    name: 'circular tag value',
    call: (run) => run.setTag('cyctag', circular() as never),
    type: MlflowValidationError,
    names: 'cyctag',
  },
  // Metrics.
  {
    name: 'string metric',
    call: (run) => run.logMetric('loss', '0.5' as never),
    type: MlflowValidationError,
    names: 'loss',
  },
  {
    name: 'boolean metric',
    call: (run) => run.logMetric('flag', true as never),
    type: MlflowValidationError,
    names: 'flag',
  },
  {
    name: 'null metric',
    call: (run) => run.logMetric('nul', null as never),
    type: MlflowValidationError,
    names: 'nul',
  },
  {
    name: 'tensor metric',
    call: (run) => run.logMetric('tensor', tensorLike as never),
    type: MlflowValidationError,
    names: 'tensor',
  },
  {
    name: 'metric in logMetrics that is a string',
    call: (run) => run.logMetrics({ ok: 1, bad: 'x' as never }),
    type: MlflowValidationError,
    names: 'bad',
  },
  {
    name: 'fractional step',
    call: (run) => run.logMetric('s1', 1, { step: 1.5 }),
    type: MlflowValidationError,
    names: 's1',
  },
  {
    name: 'NaN step',
    call: (run) => run.logMetric('s2', 1, { step: Number.NaN }),
    type: MlflowValidationError,
    names: 's2',
  },
  {
    name: 'infinite step',
    call: (run) => run.logMetric('s3', 1, { step: Number.POSITIVE_INFINITY }),
    type: MlflowValidationError,
    names: 's3',
  },
  {
    name: 'timestamp in seconds',
    call: (run) => run.logMetric('t1', 1, { timestamp: 1_700_000_000 }),
    type: MlflowValidationError,
    names: 't1',
  },
  {
    name: 'timestamp in microseconds',
    call: (run) => run.logMetric('t2', 1, { timestamp: 1_700_000_000_000_000 }),
    type: MlflowValidationError,
    names: 't2',
  },
  {
    name: 'negative timestamp',
    call: (run) => run.logMetric('t3', 1, { timestamp: -5 }),
    type: MlflowValidationError,
    names: 't3',
  },
  {
    name: 'fractional timestamp',
    call: (run) => run.logMetric('t4', 1, { timestamp: 1_700_000_000_000.5 }),
    type: MlflowValidationError,
    names: 't4',
  },
  {
    name: 'timestamp of logMetrics in seconds',
    call: (run) => run.logMetrics({ t5: 1 }, { timestamp: 1_700_000_000 }),
    type: MlflowValidationError,
    names: 't5',
  },
  // Artifacts.
  {
    name: 'logArtifact of a missing file',
    call: (run) => run.logArtifact(join(tmp, 'missing.txt')),
    type: MlflowKitError,
    names: 'missing.txt',
  },
  {
    name: 'logArtifact of a directory',
    call: (run) => run.logArtifact(tmp),
    type: MlflowKitError,
    names: 'logArtifacts',
  },
  {
    name: 'absolute artifact path /etc',
    call: (run) => run.logText('x', '/etc/passwd_copy'),
    type: MlflowValidationError,
    names: '/etc/passwd_copy',
  },
  {
    name: 'absolute artifact path C:\\',
    call: (run) => run.logText('x', 'C:\\x.txt'),
    type: MlflowValidationError,
    names: 'x.txt',
  },
  {
    name: 'absolute artifactPath of logArtifact',
    call: (run) => run.logArtifact(file, '/abs/dir'),
    type: MlflowValidationError,
    names: '/abs/dir',
  },
  {
    name: 'artifact path escaping with ..',
    call: (run) => run.logText('x', '../../etc/passwd'),
    type: MlflowValidationError,
    names: '../../etc/passwd',
  },
  {
    name: 'empty artifact file name',
    call: (run) => run.logText('x', ''),
    type: MlflowValidationError,
    names: 'file name',
  },
  {
    name: 'logDict of a circular value',
    call: (run) => run.logDict(circular(), 'c.json'),
    type: MlflowValidationError,
    names: 'c.json.self',
  },
  {
    name: 'logDict with a Symbol key',
    call: (run) => run.logDict({ a: { [Symbol('s')]: 1 } }, 's.json'),
    type: MlflowValidationError,
    names: 's.json.a',
  },
  {
    name: 'logDict nested 5000 levels',
    call: (run) => run.logDict(deep(5000), 'd.json'),
    type: MlflowValidationError,
    names: 'd.json.next',
  },
  {
    name: 'logDict with a function',
    call: (run) => run.logDict({ f: () => 1 }, 'f.json'),
    type: MlflowValidationError,
    names: 'f.json.f',
  },
  {
    name: 'logDict with a throwing getter',
    call: (run) => run.logDict({ g: throwingGetter() }, 'g.json'),
    type: MlflowValidationError,
    names: 'g.json.g',
  },
  {
    name: 'logTable not ending in .json',
    call: (run) => run.logTable({ a: [1] }, 'table.csv'),
    type: MlflowValidationError,
    names: 'table.csv',
  },
  {
    name: 'logImage of a string',
    call: (run) => run.logImage('png' as never, 'i.png'),
    type: MlflowValidationError,
    names: 'i.png',
  },
  {
    name: 'logImage of raw data not named .png',
    call: (run) => run.logImage({ width: 1, height: 1, data: new Uint8ClampedArray(4) }, 'i.jpg'),
    type: MlflowValidationError,
    names: 'i.jpg',
  },
  {
    name: 'logImage of bytes that are not a PNG',
    call: (run) => run.logImage(new Uint8Array([1, 2, 3]), 'bytes.png'),
    type: MlflowValidationError,
    names: 'bytes.png',
  },
  // Configs.
  {
    name: 'logConfig with a zod 3 schema',
    call: () => logConfig(z3.object({ a: z3.number() }) as never, { a: 1 }),
    type: MlflowConfigError,
    names: 'zod 3',
  },
  {
    name: 'logConfig that fails its schema',
    call: () => logConfig(z.object({ lr: z.number() }), { lr: 'fast' }),
    type: MlflowConfigError,
    names: 'lr',
  },
  {
    name: 'logConfig with a throwing getter',
    call: () => logConfig({ model: throwingGetter() }),
    type: MlflowValidationError,
    names: 'model',
  },
  {
    name: 'logConfig with a Proxy whose ownKeys throws',
    call: () => logConfig({ p: throwingProxy() }),
    type: MlflowValidationError,
    names: 'p',
  },
  {
    name: 'logConfig nested 5000 levels',
    call: () => logConfig(deep(5000)),
    type: MlflowValidationError,
    names: '100 levels',
  },
  {
    name: 'logConfig nested 5000 levels through a schema',
    call: () => logConfig(z.record(z.string(), z.any()), deep(5000)),
    type: MlflowValidationError,
    names: '100 levels',
  },
  {
    name: 'logConfig circular',
    call: () => logConfig(circular()),
    type: MlflowValidationError,
    names: 'self',
  },
  {
    name: 'logConfig with a Symbol key',
    call: () => logConfig({ a: { [Symbol('s')]: 1 } }),
    type: MlflowValidationError,
    names: 'a',
  },
  {
    name: 'logConfig with a function',
    call: () => logConfig({ cb: () => 1 }),
    type: MlflowValidationError,
    names: 'cb',
  },
  {
    name: 'logConfig with artifact: xml',
    call: () => logConfig({ a: 1 }, { artifact: 'xml' as never }),
    type: MlflowConfigError,
    names: 'artifact',
  },
  {
    name: 'logConfig with an invalid key',
    call: () => logConfig({ 'lr@warmup': 1 }),
    type: MlflowValidationError,
    names: 'lr@warmup',
  },
  {
    name: 'flattenParams with a bad separator',
    call: () => flattenParams({ a: { b: 1 } }, { separator: '!' }),
    type: MlflowConfigError,
    names: 'separator',
  },
];

let run: Run;
let cwdBefore: string[];

beforeAll(async () => {
  cwdBefore = readdirSync('.');
  run = await startRun({
    enabled: true,
    trackingUri: trackingUri(),
    experimentName: uniqueName('bad-input'),
  });
});

afterAll(async () => {
  await run?.end();
});

async function thrown(call: () => unknown): Promise<unknown> {
  try {
    await call();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('every bad input gets a typed error naming the key, and nothing is sent or written', () => {
  it('has at least 60 cases', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(60);
  });

  it.each(CASES)('$name', async ({ call, type, names }) => {
    const error = await thrown(() => call(run));
    expect(error, 'no error was thrown').toBeDefined();
    expect(type.isInstance(error), `${String(error)} is not a ${type.name}`).toBe(true);
    expect((error as Error).message).toContain(names);
  });

  it('sent nothing to the server and wrote nothing to the working directory', async () => {
    await run.flush();
    const read = await python<{ params: object; metrics: object; tags: string[]; artifacts: string[] }>(`
import json
from mlflow import MlflowClient
c = MlflowClient()
r = c.get_run("${run.runId}")
print(json.dumps({"params": r.data.params, "metrics": r.data.metrics,
  "tags": sorted(k for k in r.data.tags if not k.startswith("mlflow.")),
  "artifacts": [f.path for f in c.list_artifacts("${run.runId}")]}))
`);
    expect(read).toEqual({ params: {}, metrics: {}, tags: [], artifacts: [] });
    expect(readdirSync('.')).toEqual(cwdBefore);
    expect(existsSync('127.0.0.1:5000')).toBe(false);
  });
});

describe('documented conversions', () => {
  it('stores Maps as objects, Sets as arrays, Errors as their text and sparse arrays with null', async () => {
    const converted = await startRun({
      enabled: true,
      trackingUri: trackingUri(),
      experimentName: uniqueName('conversions'),
      nested: true,
    });
    // biome-ignore lint/suspicious/noSparseArray: the sparse array is the case under test.
    const sparse = [1, , 3];
    converted.logParams({
      map: new Map<string, unknown>([
        ['a', 1],
        ['b', new Set([2, 3])],
      ]) as never,
      error: new Error('disk full') as never,
      sparse: sparse as never,
    });
    await converted.logDict({ when: new Map([['k', 'v']]), sparse }, 'converted.json');
    await converted.end();
    const read = await python<{ params: Record<string, string>; dict: unknown }>(`
import json, tempfile, mlflow
from mlflow import MlflowClient
r = MlflowClient().get_run("${converted.runId}")
p = mlflow.artifacts.download_artifacts(run_id="${converted.runId}", artifact_path="converted.json", dst_path=tempfile.mkdtemp())
print(json.dumps({"params": r.data.params, "dict": json.load(open(p))}))
`);
    expect(read.params).toEqual({
      map: '{"a":1,"b":[2,3]}',
      error: 'Error: disk full',
      sparse: '[1,null,3]',
    });
    expect(read.dict).toEqual({ when: { k: 'v' }, sparse: [1, null, 3] });
  });
});
