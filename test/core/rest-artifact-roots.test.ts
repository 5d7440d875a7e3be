import { closeStores, type TrackingStore } from '@mlflow-kit/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { python, uniqueName } from '../helpers/python.js';
import { storeFor } from '../helpers/stores.js';
import { type MlflowServer, startMlflowServer } from '../setup/mlflow-env.js';

// The server refuses http(s) artifact locations unless told that host-addressed schemes are fine, so
// this file runs its own server.
let server: MlflowServer;
let store: TrackingStore;

beforeAll(async () => {
  server = await startMlflowServer({
    env: { MLFLOW_ALLOWED_HOST_ADDRESSED_ARTIFACT_SCHEMES: 'http,https', MLFLOW_DISABLE_TELEMETRY: 'true' },
  });
  store = await storeFor({ trackingUri: server.uri, maxRetries: 2, backoffFactor: 0.05 });
});

afterAll(async () => {
  await closeStores();
  await server?.stop();
});

describe('RestStore with an http(s) artifact root', () => {
  it('writes, lists and reads artifacts under an http://.../api/2.0/mlflow-artifacts/artifacts/... root', async () => {
    const experimentId = await store.createExperiment(uniqueName('http-root'), {
      artifactLocation: `${server.uri}/api/2.0/mlflow-artifacts/artifacts/${uniqueName('custom-root')}`,
    });
    const run = await store.createRun({ experimentId, startTime: Date.now(), userId: 'tester', tags: {} });
    expect(run.info.artifactUri).toMatch(
      /^http:\/\/.*\/api\/2\.0\/mlflow-artifacts\/artifacts\/custom-root-/,
    );
    await store.uploadArtifact(run.info.artifactUri, 'dir/x.txt', {
      bytes: new TextEncoder().encode('over http'),
    });
    expect(await store.listArtifacts(run.info.artifactUri)).toEqual([
      { path: 'dir', isDir: true, fileSize: undefined },
    ]);
    expect(await store.listArtifacts(run.info.artifactUri, 'dir')).toEqual([
      { path: 'dir/x.txt', isDir: false, fileSize: 9 },
    ]);
    expect(new TextDecoder().decode(await store.downloadArtifact(run.info.artifactUri, 'dir/x.txt'))).toBe(
      'over http',
    );
    const seen = await python<{ text: string }>(
      `
import json, tempfile
from mlflow.artifacts import download_artifacts
p = download_artifacts(run_id="${run.info.runId}", artifact_path="dir/x.txt", dst_path=tempfile.mkdtemp())
print(json.dumps({"text": open(p).read()}))
`,
      { MLFLOW_TRACKING_URI: server.uri, MLFLOW_DISABLE_TELEMETRY: 'true' },
    );
    expect(seen.text).toBe('over http');
  });
});
