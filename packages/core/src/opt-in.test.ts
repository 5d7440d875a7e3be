import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { TSX_ARGS } from '@mlflow-kit/test-support/tsx';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const probe = resolve(import.meta.dirname, '../test-fixtures/opt-in-probe.ts');
let server: Server;
let port = 0;
let connectionsSeen = 0;

beforeAll(async () => {
  // A listener at the tracking URI counts every connection the probe opens.
  server = createServer((socket) => {
    connectionsSeen++;
    socket.destroy();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as { port: number }).port;
});

afterAll(() => new Promise<void>((r) => server.close(() => r())));

function runProbe(mode: 'on' | 'off' | 'rest', trackingUri: string, cwd: string) {
  return new Promise<{
    recording: boolean;
    undiciLoaded: boolean;
    contextCreated: boolean;
    timersAdded: number;
    connections: number;
  }>((done, fail) => {
    execFile(
      process.execPath,
      [...TSX_ARGS, probe, mode],
      {
        cwd,
        env: {
          ...process.env,
          MLFLOW_TRACKING_URI: trackingUri,
          MLFLOW_KIT_ENABLED: '',
          MLFLOW_HTTP_REQUEST_MAX_RETRIES: '0',
        },
        timeout: 60_000,
      },
      (error, stdout, stderr) =>
        error
          ? fail(new Error(`${error.message}\n${stderr}`))
          : done(JSON.parse(stdout.trim().split('\n').pop()!)),
    );
  });
}

// Each test runs a TypeScript child process, which takes seconds on a loaded machine.
describe('tracking off', { timeout: 60_000 }, () => {
  it('loads no undici, starts no timer, opens no connection and writes no file', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'mlflow-kit-off-'));
    connectionsSeen = 0;
    const report = await runProbe('off', `http://127.0.0.1:${port}`, cwd);
    expect(report).toEqual({
      recording: false,
      undiciLoaded: false,
      contextCreated: false,
      timersAdded: 0,
      connections: 0,
    });
    expect(connectionsSeen).toBe(0);
    expect(readdirSync(cwd)).toEqual([]);
  });

  it('is a real probe: with tracking on the same script writes files and starts a timer', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'mlflow-kit-on-'));
    const report = await runProbe('on', join(cwd, 'mlruns'), cwd);
    expect(report.recording).toBe(true);
    expect(report.contextCreated).toBe(true);
    expect(report.timersAdded).toBeGreaterThan(0);
    expect(readdirSync(cwd)).toEqual(['mlruns']);
  });

  it('is a real probe: making a REST store does load undici', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'mlflow-kit-rest-'));
    const report = await runProbe('rest', `http://127.0.0.1:${port}`, cwd);
    expect(report.undiciLoaded).toBe(true);
  });
});
