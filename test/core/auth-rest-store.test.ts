import {
  closeStores,
  MlflowApiError,
  setDiagLogger,
  type TrackingOptions,
  type TrackingStore,
} from '@mlflow-kit/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uniqueName } from '../helpers/python.js';
import { storeFor } from '../helpers/stores.js';
import { type MlflowServer, startMlflowServer } from '../setup/mlflow-env.js';

const WRONG_PASSWORD = 'not-the-password-9f3a';
/**
 * MLflow 3.17 refuses to bootstrap the admin with the old default `password1234` (GHSA-gq3w-7jj3-x7gr),
 * so the server gets its admin password from MLFLOW_AUTH_ADMIN_PASSWORD, which wins over the INI file.
 */
const ADMIN_PASSWORD = 'mlflow-kit-Admin-Pass-2026';

let server: MlflowServer;

function makeStore(options: TrackingOptions): Promise<TrackingStore> {
  return storeFor({ trackingUri: server.uri, maxRetries: 1, backoffFactor: 0.05, ...options });
}

function everything(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current && depth < 10; depth++) {
    if (current instanceof Error) parts.push(current.message, current.stack ?? '', String(current));
    parts.push(JSON.stringify(current));
    current = (current as { cause?: unknown }).cause;
  }
  return parts.join('\n');
}

beforeAll(async () => {
  server = await startMlflowServer({
    appName: 'basic-auth',
    env: { MLFLOW_DISABLE_TELEMETRY: 'true', MLFLOW_AUTH_ADMIN_PASSWORD: ADMIN_PASSWORD },
  });
});

afterAll(async () => {
  setDiagLogger(undefined);
  await closeStores();
  await server?.stop();
});

describe('RestStore against an MLflow server with basic auth', () => {
  it('fails with a 401 MlflowApiError that never shows the password, and logs nothing secret', async () => {
    const lines: string[] = [];
    const record = (message: string, ...args: unknown[]) =>
      lines.push([message, ...args.map(String)].join(' '));
    setDiagLogger({ error: record, warn: record, info: record, debug: record }, 'debug');

    const store = await makeStore({ username: 'admin', password: WRONG_PASSWORD });
    let caught: unknown;
    try {
      await store.createExperiment(uniqueName('auth-wrong'));
    } catch (error) {
      caught = error;
    }
    setDiagLogger(undefined);
    expect(MlflowApiError.isInstance(caught)).toBe(true);
    const error = caught as MlflowApiError;
    expect(error).toMatchObject({ status: 401, errorCode: 'UNAUTHENTICATED', retryable: false });
    expect(error.message).toMatch(
      /^\[POST\] \/api\/2\.0\/mlflow\/experiments\/create: 401 UNAUTHENTICATED: /,
    );
    const basic = Buffer.from(`admin:${WRONG_PASSWORD}`).toString('base64');
    expect(everything(error)).not.toContain(WRONG_PASSWORD);
    expect(everything(error)).not.toContain(basic);
    expect(lines.join('\n')).not.toContain(WRONG_PASSWORD);
    expect(lines.join('\n')).not.toContain(basic);
  });

  it('fails with 401 when no credentials are given', async () => {
    await expect((await makeStore({})).getExperimentByName('Default')).rejects.toMatchObject({ status: 401 });
  });

  it('works with the right password: creates, logs and reads back', async () => {
    const store = await makeStore({ username: 'admin', password: ADMIN_PASSWORD });
    const experimentId = await store.createExperiment(uniqueName('auth-ok'));
    const run = await store.createRun({ experimentId, startTime: Date.now(), userId: 'admin', tags: {} });
    await store.logBatch(run.info.runId, {
      params: [{ key: 'p', value: '1' }],
      metrics: [{ key: 'm', value: 0.5, timestamp: Date.now(), step: 0 }],
    });
    await store.uploadArtifact(run.info.artifactUri, 'a.txt', { bytes: new TextEncoder().encode('secured') });
    const fetched = await store.getRun(run.info.runId);
    expect(fetched.data).toMatchObject({ params: { p: '1' }, metrics: { m: 0.5 } });
    expect(new TextDecoder().decode(await store.downloadArtifact(run.info.artifactUri, 'a.txt'))).toBe(
      'secured',
    );
  });
});
