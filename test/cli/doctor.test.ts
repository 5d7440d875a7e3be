import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DoctorReport, runDoctor } from '@mlflow-kit/cli';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trackingUri } from '../helpers/python.js';
import { freePort, type MlflowServer, startMlflowServer, TEST_ADMIN_PASSWORD } from '../setup/mlflow-env.js';
import { spawnCli, writeLocalRuns } from './fixtures.js';

function statusOf(report: DoctorReport, name: string): string | undefined {
  return report.checks.find((check) => check.name === name)?.status;
}

describe('mlflow-kit doctor', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mlflow-kit-doctor-'));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reports a healthy server: reachable, no credentials needed, its version, artifact proxy on', async () => {
    const report = await runDoctor({ trackingUri: trackingUri(), env: { MLFLOW_KIT_ENABLED: '1' } });
    expect(report).toMatchObject({ ok: true, enabled: true, storeKind: 'rest', serverVersion: '3.17.2' });
    expect(statusOf(report, 'tracking on')).toBe('ok');
    expect(statusOf(report, 'server reachable')).toBe('ok');
    expect(statusOf(report, 'auth accepted')).toBe('ok');
    expect(statusOf(report, 'server version')).toBe('ok');
    expect(statusOf(report, 'artifact proxy')).toBe('ok');
  });

  it('says why tracking is off and where the URI came from', async () => {
    const report = await runDoctor({ env: { MLFLOW_TRACKING_URI: trackingUri() } });
    expect(report.enabled).toBe(false);
    expect(report.checks.find((check) => check.name === 'tracking on')?.detail).toMatch(
      /MLFLOW_KIT_ENABLED=1/,
    );
    expect(report.checks.find((check) => check.name === 'tracking URI')?.detail).toMatch(
      /from MLFLOW_TRACKING_URI/,
    );
  });

  it('fails on a closed port with a message that says how to fix it, and the command exits 1', async () => {
    const port = await freePort();
    const report = await runDoctor({ trackingUri: `http://127.0.0.1:${port}`, timeoutMs: 3000 });
    expect(report.ok).toBe(false);
    const reachable = report.checks.find((check) => check.name === 'server reachable');
    expect(reachable?.status).toBe('fail');
    expect(reachable?.detail).toMatch(/ECONNREFUSED/);
    expect(reachable?.detail).toMatch(/mlflow server/);
    expect(statusOf(report, 'auth accepted')).toBe('skip');

    const cli = await spawnCli(['doctor', '--tracking-uri', `http://127.0.0.1:${port}`]).done;
    expect(cli.code).toBe(1);
    expect(cli.stdout).toMatch(/✗ server reachable/);
  });

  it.each([
    ['host:port without a scheme', '127.0.0.1:5000', 'looks like host:port without a scheme'],
    ['a leading space', ' http://127.0.0.1:5000', 'spaces or line breaks at its start or end'],
  ])(
    'refuses a tracking URI with %s, naming MLFLOW_TRACKING_URI, and makes no local directory',
    async (_what, uri, reason) => {
      const cli = await spawnCli(['doctor'], { MLFLOW_KIT_ENABLED: '1', MLFLOW_TRACKING_URI: uri }).done;
      expect(cli.code).toBe(1);
      expect(cli.stderr).toContain(reason);
      expect(cli.stderr).toContain('set MLFLOW_TRACKING_URI to');
      expect(`${cli.stdout}${cli.stderr}`).not.toContain('All checks passed');
      const { existsSync } = await import('node:fs');
      expect(existsSync(uri.trim())).toBe(false);
    },
  );

  it('checks a local store: its runs, and how to view them with the official tools', async () => {
    const root = join(dir, 'mlruns');
    await writeLocalRuns(root, 'doctor', 2, 10);
    const report = await runDoctor({ trackingUri: root, env: { MLFLOW_KIT_ENABLED: 'true' } });
    expect(report).toMatchObject({ ok: true, storeKind: 'local' });
    expect(report.checks.find((check) => check.name === 'local store')?.detail).toMatch(
      /2 experiments, 2 runs/,
    );
    expect(report.checks.find((check) => check.name === 'viewing local runs')?.detail).toContain(
      `MLFLOW_ALLOW_FILE_STORE=true mlflow server --backend-store-uri ${root}`,
    );
  });

  describe('against a server with basic auth', () => {
    let server: MlflowServer;

    beforeAll(async () => {
      server = await startMlflowServer({ appName: 'basic-auth' });
    });

    afterAll(async () => {
      await server?.stop();
    });

    it('accepts the right credentials and names the variables to fix when they are wrong or missing', async () => {
      const good = await runDoctor({
        trackingUri: server.uri,
        username: 'admin',
        password: TEST_ADMIN_PASSWORD,
        timeoutMs: 60_000,
      });
      expect(good.checks).toContainEqual(expect.objectContaining({ name: 'auth accepted', status: 'ok' }));
      expect(good.ok).toBe(true);

      const wrong = await runDoctor({
        trackingUri: server.uri,
        username: 'admin',
        password: 'nope',
        timeoutMs: 60_000,
      });
      const rejected = wrong.checks.find((check) => check.name === 'auth accepted');
      expect(rejected).toMatchObject({ status: 'fail' });
      expect(rejected?.detail).toMatch(/MLFLOW_TRACKING_PASSWORD/);
      expect(JSON.stringify(wrong)).not.toContain('nope');

      const missing = await runDoctor({ trackingUri: server.uri, env: {}, timeoutMs: 60_000 });
      expect(missing.checks.find((check) => check.name === 'auth accepted')?.detail).toMatch(
        /wants credentials/,
      );
    });
  });
});
