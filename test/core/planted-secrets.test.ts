import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { logConfig, secret } from '@mlflow-kit/config';
import { closeStores, type StartRunOptions, setDiagLogger, startRun } from '@mlflow-kit/core';
import { trainingData } from '@mlflow-kit/test-support/test-models';
import { REPO_ROOT, TSX_ARGS } from '@mlflow-kit/test-support/tsx';
import { mlflowCallback } from '@mlflow-kit/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { spawnCli } from '../cli/fixtures.js';
import { python, uniqueName } from '../helpers/python.js';
import { freePort, type MlflowServer, startMlflowServer } from '../setup/mlflow-env.js';
import { ALL, modelWithPlantedSecret, NAMED, SECRETS, SHAPED } from './fixtures/planted-secrets.js';

let mlflow: MlflowServer;
let authServer: MlflowServer;
let echoServer: Server;
let echoUri: string;
let localDir: string;
// Where runs that cannot reach their server record (the spool), grepped like ./mlruns.
let spoolDir: string;
const diagLines: string[] = [];
const errors: unknown[] = [];
const cliOutput: string[] = [];
/** stdout and stderr of a user's program (fixtures/planted-child.ts). */
const programOutput: string[] = [];
const runIds: string[] = [];

beforeAll(async () => {
  [mlflow, authServer] = await Promise.all([
    startMlflowServer({ env: { MLFLOW_DISABLE_TELEMETRY: 'true' } }),
    startMlflowServer({
      appName: 'basic-auth',
      env: { MLFLOW_DISABLE_TELEMETRY: 'true', MLFLOW_AUTH_ADMIN_PASSWORD: 'mlflow-kit-Admin-Pass-2026' },
    }),
  ]);
  // A wrong server: answers everything with an error page that echoes the request, credentials included.
  echoServer = createServer((request, response) => {
    response.writeHead(500, { 'content-type': 'text/plain' });
    response.end(
      `proxy error for ${request.url} auth=${request.headers.authorization ?? ''} ${request.headers['x-token'] ?? ''}`,
    );
  });
  await new Promise<void>((resolve) => echoServer.listen(0, '127.0.0.1', resolve));
  echoUri = `http://127.0.0.1:${(echoServer.address() as AddressInfo).port}`;
  localDir = await mkdtemp(join(tmpdir(), 'planted-mlruns-'));
  spoolDir = await mkdtemp(join(tmpdir(), 'planted-spool-'));
  const record = (message: string, ...args: unknown[]) =>
    diagLines.push([message, ...args.map((arg) => inspect(arg, { depth: 20 }))].join(' '));
  setDiagLogger({ error: record, warn: record, info: record, debug: record }, 'debug');
}, 240_000);

afterAll(async () => {
  setDiagLogger(undefined);
  await closeStores();
  await new Promise((resolve) => echoServer?.close(resolve));
  await Promise.all([mlflow?.stop(), authServer?.stop()]);
});

/** Logs every form through core, config and the tfjs callback into one run at `trackingUri`. */
async function logEverything(trackingUri: string): Promise<void> {
  const run = await startRun({
    enabled: true,
    trackingUri,
    experimentName: uniqueName('planted'),
    runName: `run ${SECRETS.github}`,
    description: `see ${SECRETS.jwt}`,
    tags: { owner_token: SECRETS.namedKey, link: SHAPED.db_url },
  });
  runIds.push(run.runId);
  run.logParams({ ...SHAPED, ...NAMED });
  run.setTags({ ...SHAPED, api_key: SECRETS.namedKey });
  await run.logDict({ ...SHAPED, ...NAMED }, 'dict.json');
  await run.logDict({ ...SHAPED, ...NAMED }, 'dict.yaml');
  await run.logText(Object.values(SHAPED).join('\n'), 'notes.txt');
  const Config = z.object({
    shaped: z.record(z.string(), z.string()),
    named: z.any(),
    marked: secret(z.string()),
    meta: z.string().meta({ secret: true }),
  });
  await logConfig(Config, { shaped: SHAPED, named: NAMED, marked: SECRETS.marked, meta: SECRETS.marked });

  const model = await modelWithPlantedSecret();
  const { xs, ys } = trainingData(16);
  await model.fit(xs, ys, { epochs: 1, callbacks: [mlflowCallback({ run, logModel: false })] });
  xs.dispose();
  ys.dispose();
  // A param change error must not quote either value.
  try {
    run.logParam('db_url', `postgres://admin:${SECRETS.urlPassword}@other:5432/app`);
  } catch (error) {
    errors.push(error);
  }
  // Nor may a string where a number belongs.
  try {
    run.logMetric('loss', SECRETS.github as never);
  } catch (error) {
    errors.push(error);
  }
  try {
    run.logMetric('loss', 1, { step: SECRETS.namedKey as never });
  } catch (error) {
    errors.push(error);
  }
  await run.end();
}

async function caught(call: () => Promise<unknown>): Promise<void> {
  try {
    await call();
  } catch (error) {
    errors.push(error);
    return;
  }
  throw new Error('expected an error');
}

/**
 * A server that answers 5xx or not at all does not stop a run: `startRun` returns a run that records into the
 * spool (offline start). Logs every form into it, so that the spool is grepped too.
 */
async function spooled(options: StartRunOptions): Promise<void> {
  const run = await startRun({ ...options, spoolDir, startTimeoutSeconds: 2, exitTimeoutSeconds: 1 });
  expect(run.isRecording).toBe(true);
  run.logParams({ ...SHAPED, ...NAMED });
  run.setTags({ ...SHAPED, api_key: SECRETS.namedKey });
  await run.logDict({ ...SHAPED, ...NAMED }, 'dict.json');
  await run.end();
}

/** Every file under `dir`, as text (binary SQLite pages included, as latin1). */
function filesOf(dir: string): { path: string; text: string }[] {
  const out: { path: string; text: string }[] = [];
  for (const name of readdirSync(dir, { recursive: true }) as string[]) {
    const path = join(dir, name);
    if (statSync(path).isFile()) out.push({ path, text: readFileSync(path).toString('latin1') });
  }
  return out;
}

function leaksIn(text: string): string[] {
  return ALL.filter((planted) => text.includes(planted));
}

describe('no planted secret leaves the process', () => {
  it('logs every form to the server and to ./mlruns, and provokes every error', async () => {
    await logEverything(mlflow.uri);
    await logEverything(localDir);
    const credentials = { username: 'admin', password: SECRETS.serverPassword };
    // 401 from a basic-auth server.
    await caught(() =>
      startRun({
        enabled: true,
        trackingUri: authServer.uri,
        maxRetries: 0,
        ...credentials,
        experimentName: 'x',
      }),
    );
    // A wrong server that echoes what it got.
    await spooled({
      enabled: true,
      trackingUri: echoUri,
      maxRetries: 0,
      token: SECRETS.token,
      headers: { 'x-token': SECRETS.token },
      experimentName: 'x',
    });
    // Unreachable.
    const closed = await freePort();
    await spooled({
      enabled: true,
      trackingUri: `http://admin:${SECRETS.urlPassword}@127.0.0.1:${closed}`,
      maxRetries: 0,
      requestTimeoutSeconds: 2,
      experimentName: 'x',
    });
    // Invalid URIs, a password holding / and @ included.
    await caught(() =>
      startRun({ enabled: true, trackingUri: `http://admin:${SECRETS.urlPassword}@127.0.0.1:99999` }),
    );
    await caught(() =>
      startRun({ enabled: true, trackingUri: `http://admin:${SECRETS.slashPassword}@127.0.0.1:5000` }),
    );
    await caught(() => startRun({ enabled: true, trackingUri: `https://admin:${SECRETS.atPassword}@[::1` }));

    for (const args of [['doctor'], ['runs', 'list']]) {
      for (const env of [
        {
          MLFLOW_TRACKING_URI: `http://admin:${SECRETS.serverPassword}@${authServer.uri.slice('http://'.length)}`,
        },
        { MLFLOW_TRACKING_URI: echoUri, MLFLOW_TRACKING_TOKEN: SECRETS.token },
        { MLFLOW_TRACKING_URI: mlflow.uri, MLFLOW_KIT_DEBUG: '1' },
        { MLFLOW_TRACKING_URI: localDir },
        { MLFLOW_TRACKING_URI: `http://admin:${SECRETS.slashPassword}@127.0.0.1:5000` },
      ]) {
        const { done } = spawnCli(args, {
          MLFLOW_KIT_ENABLED: '1',
          MLFLOW_HTTP_REQUEST_MAX_RETRIES: '0',
          ...env,
        });
        const { stdout, stderr } = await done;
        cliOutput.push(stdout, stderr);
      }
    }
    // A user's program with diagnostics on: autolog with a secret in the compile config and in a custom
    // callback's logs, every form through core and config, a spooled run (its exit line), an invalid URI.
    const closedForChild = await freePort();
    const program = await new Promise<{ stdout: string; stderr: string }>((resolve, reject) => {
      execFile(
        process.execPath,
        [...TSX_ARGS, join(REPO_ROOT, 'test/core/fixtures/planted-child.ts')],
        {
          cwd: localDir,
          env: {
            ...process.env,
            MLFLOW_KIT_ENABLED: '1',
            MLFLOW_KIT_DEBUG: '1',
            MLFLOW_KIT_SPOOL_DIR: spoolDir,
            MLFLOW_TRACKING_TOKEN: SECRETS.token,
            PLANTED_URI: mlflow.uri,
            PLANTED_UNREACHABLE_URI: `http://admin:${SECRETS.urlPassword}@127.0.0.1:${closedForChild}`,
            PLANTED_EXPERIMENT: uniqueName('planted-program'),
          },
          timeout: 300_000,
          maxBuffer: 64 * 1024 * 1024,
        },
        (error, stdout, stderr) =>
          error ? reject(new Error(`${error.message}\n${stdout}\n${stderr}`)) : resolve({ stdout, stderr }),
      );
    });
    programOutput.push(program.stdout, program.stderr);
    expect(program.stderr).toContain('holds a credential-shaped part');
    expect(program.stderr).toContain('Upload them with: mlflow-kit sync');
    expect(program.stderr).toContain('MlflowConfigError');
    expect(errors.length).toBeGreaterThanOrEqual(5);
    expect(runIds).toHaveLength(2);
  }, 600_000);

  it('leaves no secret in any error, its cause chain, or the diagnostics', () => {
    for (const error of errors) expect(leaksIn(inspect(error, { depth: 50, showHidden: true }))).toEqual([]);
    expect(diagLines.length).toBeGreaterThan(0);
    expect(leaksIn(diagLines.join('\n'))).toEqual([]);
  });

  it('leaves no secret in the CLI output', () => {
    expect(cliOutput.join('').length).toBeGreaterThan(0);
    expect(leaksIn(cliOutput.join('\n'))).toEqual([]);
  });

  it("leaves no secret in a program's stdout and stderr: debug diagnostics, autolog, the spool's exit line, a printed error", () => {
    expect(programOutput.join('')).toContain('[mlflow-kit]');
    expect(leaksIn(programOutput.join('\n'))).toEqual([]);
  });

  it("leaves no secret in the server's params, tags or artifacts, read by the Python client", async () => {
    const read = await python<unknown>(
      `
import json, os, tempfile, mlflow
from mlflow import MlflowClient
c = MlflowClient()
r = c.get_run("${runIds[0]}")
root = mlflow.artifacts.download_artifacts(run_id="${runIds[0]}", dst_path=tempfile.mkdtemp())
files = {}
for folder, _, names in os.walk(root):
    for name in names:
        full = os.path.join(folder, name)
        files[os.path.relpath(full, root)] = open(full, encoding="utf-8", errors="replace").read()
print(json.dumps({"params": r.data.params, "tags": r.data.tags, "name": r.info.run_name, "files": files}))
`,
      { MLFLOW_TRACKING_URI: mlflow.uri },
    );
    const text = JSON.stringify(read);
    expect(text).toContain('dict.json');
    expect(text).toContain('***');
    expect(leaksIn(text)).toEqual([]);
  });

  it("leaves no secret in the server's SQLite file and artifact store, nor in ./mlruns", () => {
    const files = [...filesOf(mlflow.dir), ...filesOf(localDir), ...filesOf(spoolDir)];
    expect(files.some((file) => file.path.endsWith('mlflow.db'))).toBe(true);
    expect(files.some((file) => file.path.endsWith('params/db_url'))).toBe(true);
    // The two runs whose server could not take them were spooled, and are grepped too.
    expect(filesOf(spoolDir).filter((file) => file.path.endsWith('params/db_url'))).toHaveLength(3);
    const leaks = files.flatMap((file) => leaksIn(file.text).map((planted) => `${file.path}: ${planted}`));
    expect(leaks).toEqual([]);
  });
});
