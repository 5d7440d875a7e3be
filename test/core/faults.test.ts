import { closeStores, startRun } from '@mlflow-kit/core';
import { createFaultProxy, type Fault, type FaultProxy } from '@mlflow-kit/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { python, trackingUri, uniqueName } from '../helpers/python.js';

type Mode = 'pass' | '503' | '429' | 'reset' | 'slow' | 'lose-response';

// What each mode does to log-batch requests; everything else passes through to the real server.
const FAULTS: Record<Exclude<Mode, 'pass'>, Fault> = {
  '503': { kind: 'status', status: 503 },
  '429': {
    kind: 'status',
    status: 429,
    retryAfterSeconds: 0,
    body: { error_code: 'REQUEST_LIMIT_EXCEEDED', message: 'slow down' },
  },
  reset: { kind: 'reset-before' },
  slow: { kind: 'delay', ms: 300 },
  // The server has written the batch, but the client never hears so: it must resend without duplicating.
  'lose-response': { kind: 'reset-after' },
};

let proxy: FaultProxy;

beforeAll(async () => {
  proxy = await createFaultProxy({ target: trackingUri() });
});

afterAll(async () => {
  await closeStores();
  await proxy.stop();
});

describe('transport faults in front of the real server', () => {
  it('loses no metric point and duplicates none through 503s, 429s, resets, stalls and lost responses', async () => {
    const run = await startRun({
      enabled: true,
      trackingUri: proxy.uri,
      experimentName: uniqueName('faults'),
      maxRetries: 2,
      backoffFactor: 0.01,
      backoffJitter: 0,
      flushIntervalMs: 20,
    });
    const modes: Mode[] = ['503', 'pass', '429', 'reset', 'pass', 'slow', 'lose-response', '503', 'pass'];
    let step = 0;
    for (const current of modes) {
      const fault =
        current === 'pass' ? undefined : proxy.inject(FAULTS[current], { path: '/runs/log-batch' });
      for (let i = 0; i < 600; i++, step++)
        run.logMetric('loss', step / 10, { step, timestamp: 1_700_000_000_000 + step });
      await run.flush();
      if (fault) expect(fault.hits, current).toBeGreaterThan(0);
      fault?.remove();
    }
    await run.end();

    const history = await python<[number, number][]>(`
import json
from mlflow import MlflowClient
print(json.dumps([[m.step, m.value] for m in MlflowClient().get_metric_history("${run.runId}", "loss")]))
`);
    expect(history).toHaveLength(step);
    expect(history).toEqual(Array.from({ length: step }, (_, s) => [s, s / 10]));
    const status = await python<string>(
      `import json, mlflow; print(json.dumps(mlflow.get_run("${run.runId}").info.status))`,
    );
    expect(status).toBe('FINISHED');
  });
});
