import { createClient, startRun } from '@mlflow-kit/core';
import { createScoringServer, loadModel, logModel, type ScoringServer } from '@mlflow-kit/tfjs';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { python, trackingUri, uniqueName } from '../helpers/python.js';
import { spawnCli } from './fixtures.js';

/** Rows of the 4-feature model, deterministic. */
const ROWS = [
  [5.1, 3.5, 1.4, 0.2],
  [6.7, 3.1, 4.4, 1.4],
  [6.3, 3.3, 6.0, 2.5],
];
const COLUMNS = ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'];

function classifier(): tf.Sequential {
  const model = tf.sequential({
    layers: [
      tf.layers.dense({ units: 8, inputShape: [4], activation: 'relu' }),
      tf.layers.dense({ units: 3, activation: 'softmax' }),
    ],
  });
  model.compile({ optimizer: 'adam', loss: 'categoricalCrossentropy' });
  return model;
}

/** A model with two named inputs, for the `{name: tensor}` forms. */
function twoInputs(): tf.LayersModel {
  const a = tf.input({ shape: [2], name: 'a' });
  const b = tf.input({ shape: [3], name: 'b' });
  const joined = tf.layers.concatenate().apply([a, b]) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 2, name: 'out' }).apply(joined) as tf.SymbolicTensor;
  return tf.model({ inputs: [a, b], outputs: out });
}

function expectClose(actual: unknown, expected: number[][]): void {
  expect(Array.isArray(actual)).toBe(true);
  const rows = actual as number[][];
  expect(rows.length).toBe(expected.length);
  rows.forEach((row, index) => {
    expect(row.length).toBe(expected[index]?.length);
    row.forEach((value, column) => {
      expect(value).toBeCloseTo(expected[index]?.[column] ?? Number.NaN, 5);
    });
  });
}

interface Served {
  url: string;
  child: ReturnType<typeof spawnCli>['child'];
  done: ReturnType<typeof spawnCli>['done'];
}

/** Starts `mlflow-kit serve` on a free port and waits until it listens. */
async function serve(args: string[]): Promise<Served> {
  const started = spawnCli(['serve', '--port', '0', ...args], { MLFLOW_TRACKING_URI: trackingUri() });
  const url = await new Promise<string>((resolve, reject) => {
    let seen = '';
    started.onStderr((text) => {
      seen += text;
      const match = seen.match(/at (http:\/\/127\.0\.0\.1:\d+)/);
      if (match?.[1]) resolve(match[1]);
    });
    void started.done.then((result) =>
      reject(new Error(`serve exited (${result.code}) before listening:\n${result.stderr}`)),
    );
  });
  return { url, child: started.child, done: started.done };
}

async function invoke(
  url: string,
  body: string,
  contentType = 'application/json',
): Promise<{ status: number; type: string; text: string; json?: Record<string, unknown> }> {
  const response = await fetch(`${url}/invocations`, {
    method: 'POST',
    headers: { 'content-type': contentType },
    body,
  });
  const text = await response.text();
  const type = response.headers.get('content-type') ?? '';
  return {
    status: response.status,
    type,
    text,
    ...(type.startsWith('application/json') ? { json: JSON.parse(text) } : {}),
  };
}

describe('mlflow-kit serve: a logged tfjs model behind MLflow scoring protocol, against the real server', () => {
  const name = uniqueName('serve-model');
  let expected: number[][];
  let served: Served;

  beforeAll(async () => {
    const model = classifier();
    expected = (model.predict(tf.tensor2d(ROWS)) as tf.Tensor).arraySync() as number[][];
    const run = await startRun({
      trackingUri: trackingUri(),
      enabled: true,
      experimentName: uniqueName('serve'),
    });
    const info = await logModel(run, model, 'model', { registeredModelName: name, tf });
    await run.end();
    await createClient({ trackingUri: trackingUri() }).setRegisteredModelAlias(
      name,
      'champion',
      info?.registeredModelVersion ?? '1',
    );
    served = await serve(['--model-uri', `models:/${name}@champion`, '--max-request-bytes', '20000']);
  });

  afterAll(async () => {
    if (served && served.child.exitCode === null) {
      served.child.kill('SIGTERM');
      await served.done;
    }
  });

  it('answers {"inputs": [[...]]} with the predictions of model.predict', async () => {
    const answer = await invoke(served.url, JSON.stringify({ inputs: ROWS }));
    expect(answer.status).toBe(200);
    expectClose(answer.json?.predictions, expected);
  });

  it('answers {"inputs": {"<input name>": [[...]]}} the same', async () => {
    const answer = await invoke(served.url, JSON.stringify({ inputs: { features: ROWS } }));
    expect(answer.status).toBe(200);
    expectClose(answer.json?.predictions, expected);
  });

  it('answers {"instances": [...]} with the predictions of model.predict', async () => {
    const answer = await invoke(served.url, JSON.stringify({ instances: ROWS }));
    expect(answer.status).toBe(200);
    expectClose(answer.json?.predictions, expected);
  });

  it('answers {"dataframe_split": {"columns", "data"}} with the predictions of model.predict', async () => {
    const answer = await invoke(
      served.url,
      JSON.stringify({ dataframe_split: { columns: COLUMNS, data: ROWS, index: [0, 1, 2] } }),
    );
    expect(answer.status).toBe(200);
    expectClose(answer.json?.predictions, expected);
  });

  it('answers {"dataframe_records": [{...}]} with the predictions of model.predict', async () => {
    const records = ROWS.map((row) =>
      Object.fromEntries(COLUMNS.map((column, index) => [column, row[index]])),
    );
    const answer = await invoke(served.url, JSON.stringify({ dataframe_records: records }));
    expect(answer.status).toBe(200);
    expectClose(answer.json?.predictions, expected);
  });

  it('accepts "params" beside the data, as MLflow does for a model without a params schema', async () => {
    const answer = await invoke(served.url, JSON.stringify({ inputs: ROWS, params: { temperature: 0.5 } }));
    expect(answer.status).toBe(200);
    expectClose(answer.json?.predictions, expected);
  });

  it('answers a text/csv table with the predictions of model.predict', async () => {
    const csv = `${COLUMNS.join(',')}\n${ROWS.map((row) => row.join(',')).join('\n')}\n`;
    const answer = await invoke(served.url, csv, 'text/csv; charset=utf-8');
    expect(answer.status).toBe(200);
    expectClose(answer.json?.predictions, expected);
  });

  it('answers the probes: GET /ping and /health 200, /version the package version', async () => {
    for (const path of ['/ping', '/health']) {
      const response = await fetch(`${served.url}${path}`);
      expect(response.status).toBe(200);
      expect(await response.text()).toBe('\n');
    }
    const version = await fetch(`${served.url}/version`);
    expect(version.status).toBe(200);
    expect(await version.text()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('answers 32 concurrent requests each with its own rows', async () => {
    const answers = await Promise.all(
      Array.from({ length: 32 }, (_, index) =>
        invoke(served.url, JSON.stringify({ inputs: [ROWS[index % 3]] })),
      ),
    );
    answers.forEach((answer, index) => {
      expect(answer.status).toBe(200);
      expectClose(answer.json?.predictions, [expected[index % 3] as number[]]);
    });
  });

  describe('bad payloads get MLflow JSON errors with a 4xx status, and the server goes on', () => {
    it('malformed JSON: 400 BAD_REQUEST', async () => {
      const answer = await invoke(served.url, '{"inputs": [[1, 2, 3, 4]');
      expect(answer.status).toBe(400);
      expect(answer.json?.error_code).toBe('BAD_REQUEST');
      expect(answer.json?.message).toMatch(/valid JSON/);
    });

    it('a bare list: 400 BAD_REQUEST naming the four formats', async () => {
      const answer = await invoke(served.url, JSON.stringify(ROWS));
      expect(answer.status).toBe(400);
      expect(answer.json?.error_code).toBe('BAD_REQUEST');
      expect(answer.json?.message).toMatch(/exactly one of the input fields.*Received a list/);
    });

    it('two formats at once, or none: 400 BAD_REQUEST', async () => {
      for (const body of [{ inputs: ROWS, instances: ROWS }, { rows: ROWS }]) {
        const answer = await invoke(served.url, JSON.stringify(body));
        expect(answer.status).toBe(400);
        expect(answer.json?.error_code).toBe('BAD_REQUEST');
        expect(answer.json?.message).toMatch(/exactly one of the input fields/);
      }
    });

    it('wrong shape (3 features for 4): 400 naming the expected row shape', async () => {
      const answer = await invoke(served.url, JSON.stringify({ inputs: [[1, 2, 3]] }));
      expect(answer.status).toBe(400);
      expect(answer.json?.error_code).toBe('BAD_REQUEST');
      expect(answer.json?.message).toMatch(/expects rows of shape \[4\].*\[3\]/);
    });

    it('ragged rows: 400 naming the row', async () => {
      const answer = await invoke(
        served.url,
        JSON.stringify({
          instances: [
            [1, 2, 3, 4],
            [1, 2],
          ],
        }),
      );
      expect(answer.status).toBe(400);
      expect(answer.json?.message).toMatch(/instances\[1\]/);
    });

    it('wrong dtype (a string where a float belongs): 400 naming the cell', async () => {
      const answer = await invoke(
        served.url,
        JSON.stringify({ dataframe_split: { columns: COLUMNS, data: [[1, 'two', 3, 4]] } }),
      );
      expect(answer.status).toBe(400);
      expect(answer.json?.error_code).toBe('BAD_REQUEST');
      expect(answer.json?.message).toMatch(/float32.*dataframe_split\.data\[0\]\[1\].*string "two"/);
    });

    it('too large (over --max-request-bytes): 413', async () => {
      const body = JSON.stringify({ inputs: Array.from({ length: 2000 }, () => ROWS[0]) });
      const answer = await invoke(served.url, body);
      expect(answer.status).toBe(413);
      expect(answer.json?.message).toMatch(/more than the limit of 20000 bytes/);
      // Streamed without a Content-Length: cut off once past the limit.
      const bytes = new TextEncoder().encode(body);
      const streamed = await fetch(`${served.url}/invocations`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: new ReadableStream({
          start(controller) {
            for (let start = 0; start < bytes.length; start += 4096)
              controller.enqueue(bytes.slice(start, start + 4096));
            controller.close();
          },
        }),
        duplex: 'half',
      } as RequestInit);
      expect(streamed.status).toBe(413);
    });

    it('wrong content type: 415 with a text body, as MLflow', async () => {
      const answer = await invoke(served.url, JSON.stringify({ inputs: ROWS }), 'text/plain');
      expect(answer.status).toBe(415);
      expect(answer.type).toMatch(/^text\/plain/);
      expect(answer.text).toMatch(/only supports the following content types/);
      const latin = await invoke(
        served.url,
        JSON.stringify({ inputs: ROWS }),
        'application/json; charset=latin-1',
      );
      expect(latin.status).toBe(415);
      expect(latin.text).toMatch(/only supports UTF-8/);
    });

    it('an unknown path: 404; GET /invocations: 405', async () => {
      const missing = await fetch(`${served.url}/predict`, { method: 'POST' });
      expect(missing.status).toBe(404);
      expect(((await missing.json()) as { error_code: string }).error_code).toBe('ENDPOINT_NOT_FOUND');
      const get = await fetch(`${served.url}/invocations`);
      expect(get.status).toBe(405);
    });

    it('is still up and right after every bad payload', async () => {
      const answer = await invoke(served.url, JSON.stringify({ inputs: ROWS }));
      expect(answer.status).toBe(200);
      expectClose(answer.json?.predictions, expected);
      expect(served.child.exitCode).toBeNull();
    });
  });

  it('on SIGTERM answers the requests waiting for their batch, then exits 0', async () => {
    const slow = await serve(['--model-uri', `models:/${name}@champion`, '--max-batch-wait', '1500']);
    const pending = Array.from({ length: 5 }, () => invoke(slow.url, JSON.stringify({ inputs: ROWS })));
    await new Promise((resolve) => setTimeout(resolve, 500));
    slow.child.kill('SIGTERM');
    const answers = await Promise.all(pending);
    for (const answer of answers) {
      expect(answer.status).toBe(200);
      expectClose(answer.json?.predictions, expected);
    }
    const exit = await slow.done;
    expect(exit.code).toBe(0);
    expect(exit.stderr).toMatch(/Stopped: every request in progress was answered/);
  });

  it('the Python client sees the model the server loaded: the alias points at the logged version', async () => {
    const seen = await python<{ version: string; source: string }>(`
import json
from mlflow import MlflowClient
v = MlflowClient().get_model_version_by_alias(${JSON.stringify(name)}, "champion")
print(json.dumps({"version": v.version, "source": v.source}))
`);
    expect(seen.version).toBe('1');
    const loaded = await loadModel<tf.LayersModel>(`models:/${name}/${seen.version}`, {
      tf,
      trackingUri: trackingUri(),
    });
    expect(((loaded.predict(tf.tensor2d(ROWS)) as tf.Tensor).arraySync() as number[][]).length).toBe(3);
  });
});

describe('createScoringServer in process: micro-batching and models with several inputs', () => {
  let server: ScoringServer | undefined;

  afterAll(async () => {
    await server?.close();
  });

  it('gathers concurrent requests into fewer predict calls, each request getting its own rows', async () => {
    const model = classifier();
    const expected = (model.predict(tf.tensor2d(ROWS)) as tf.Tensor).arraySync() as number[][];
    server = await createScoringServer({ model, tf, port: 0, maxBatchSize: 64, maxBatchWaitMs: 20 });
    const answers = await Promise.all(
      Array.from({ length: 24 }, (_, index) =>
        invoke(server?.url ?? '', JSON.stringify({ inputs: [ROWS[index % 3]] })),
      ),
    );
    answers.forEach((answer, index) => {
      expect(answer.status).toBe(200);
      expectClose(answer.json?.predictions, [expected[index % 3] as number[]]);
    });
    const stats = server.stats();
    expect(stats.requests).toBe(24);
    expect(stats.predictCalls).toBeLessThan(24);
    await server.close();
    server = undefined;
  });

  it('a model with two inputs takes {"inputs": {"a": ..., "b": ...}} and {"instances": [{"a", "b"}]}', async () => {
    const model = twoInputs();
    const a = [
      [1, 2],
      [3, 4],
    ];
    const b = [
      [0.5, 0.25, 1],
      [2, 1, 0],
    ];
    const expected = (model.predict([tf.tensor2d(a), tf.tensor2d(b)]) as tf.Tensor).arraySync() as number[][];
    server = await createScoringServer({ model, tf, port: 0 });
    const columnar = await invoke(server.url, JSON.stringify({ inputs: { a, b } }));
    expect(columnar.status).toBe(200);
    expectClose(columnar.json?.predictions, expected);
    const rows = await invoke(
      server.url,
      JSON.stringify({
        instances: [
          { a: a[0], b: b[0] },
          { a: a[1], b: b[1] },
        ],
      }),
    );
    expect(rows.status).toBe(200);
    expectClose(rows.json?.predictions, expected);
    const missing = await invoke(server.url, JSON.stringify({ inputs: { a } }));
    expect(missing.status).toBe(400);
    expect(missing.json?.message).toMatch(/'a', 'b'/);
  });
});
