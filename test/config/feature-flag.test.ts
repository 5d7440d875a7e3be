import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { REPO_ROOT, TSX_ARGS } from '@mlflow-kit/test-support/tsx';
import { describe, expect, it } from 'vitest';
import { python, trackingUri, uniqueName } from '../helpers/python.js';

const SCRIPT = resolve(REPO_ROOT, 'examples/feature-flag/src/train.ts');
const HUB_TOKEN = 'hf_FEATURE_FLAG_SECRET_42';

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
  result: { tracking: boolean; runId: string; epochs: number; finalLoss: number };
}

/** Runs the example in `cwd` with only the given MLflow settings in its environment. */
function runExample(
  cwd: string,
  env: Record<string, string>,
  args: string[] = [],
  preload: string[] = [],
): Promise<Outcome> {
  const base = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !/^(MLFLOW_|TRAIN_)/.test(name)),
  );
  return new Promise((done, fail) => {
    execFile(
      process.execPath,
      [...preload, ...TSX_ARGS, SCRIPT, ...args],
      { cwd, env: { ...base, ...env } as NodeJS.ProcessEnv, timeout: 120_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        const last = stdout.trim().split('\n').at(-1) ?? '';
        try {
          done({ code, stdout, stderr, result: JSON.parse(last) as Outcome['result'] });
        } catch {
          fail(new Error(`the example printed no result (exit ${code}):\n${stdout}\n${stderr}`));
        }
      },
    );
  });
}

/**
 * A preload module that fails any TCP connection or fetch, and says so on stderr. Unix-socket connections
 * (tsx talks to its own helper over one) are local IPC and pass.
 */
async function noNetworkPreload(dir: string): Promise<string[]> {
  const file = join(dir, 'no-network.mjs');
  await writeFile(
    file,
    `import net from 'node:net';
const refuse = (what) => { process.stderr.write('NETWORK ATTEMPT: ' + what + '\\n'); throw new Error('network is off in this test'); };
const connect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function (...args) {
  const first = Array.isArray(args[0]) ? args[0][0] : args[0];
  const ipc = typeof first === 'string' ? Number.isNaN(Number(first)) : first && typeof first === 'object' && 'path' in first;
  if (!ipc) refuse('tcp ' + JSON.stringify(first));
  return connect.apply(this, args);
};
globalThis.fetch = async () => refuse('fetch');
`,
  );
  return ['--import', file];
}

describe('examples/feature-flag', () => {
  it('has a network guard that does catch a TCP connection (so that its silence below means something)', async () => {
    const cwd = await mkdtemp(join(tmpdir(), 'feature-flag-guard-'));
    const preload = await noNetworkPreload(cwd);
    const stderr = await new Promise<string>((done) => {
      execFile(
        process.execPath,
        [...preload, '-e', "try { require('node:net').connect(9, '127.0.0.1') } catch {}"],
        (_error, _stdout, err) => done(err),
      );
    });
    expect(stderr).toContain('NETWORK ATTEMPT: tcp {"port":9,"host":"127.0.0.1"');
  });

  it('with the flag off trains without a run: no ./mlruns, no network, nothing on the server', async () => {
    const cwd = await mkdtemp(join(tmpdir(), 'feature-flag-off-'));
    const experimentName = uniqueName('feature-flag-off');
    const outcome = await runExample(
      cwd,
      {
        MLFLOW_TRACKING_URI: trackingUri(),
        MLFLOW_EXPERIMENT_NAME: experimentName,
        TRAIN_HUB_TOKEN: HUB_TOKEN,
      },
      ['--epochs', '2'],
      await noNetworkPreload(cwd),
    );
    expect(outcome.code).toBe(0);
    expect(outcome.result).toMatchObject({ tracking: false, runId: '', epochs: 2 });
    expect(outcome.stderr).not.toContain('NETWORK ATTEMPT');
    expect(existsSync(join(cwd, 'mlruns'))).toBe(false);
    expect(await readdir(cwd)).toEqual(['no-network.mjs']);
    const experiment = await python<string | null>(`
import json, mlflow
e = mlflow.get_experiment_by_name("${experimentName}")
print(json.dumps(e and e.experiment_id))
`);
    expect(experiment).toBeNull();
  });

  it('with MLFLOW_KIT_ENABLED=1 logs config, autologged training and the redacted secret to the server', async () => {
    const cwd = await mkdtemp(join(tmpdir(), 'feature-flag-on-'));
    const experimentName = uniqueName('feature-flag-on');
    const outcome = await runExample(
      cwd,
      {
        MLFLOW_KIT_ENABLED: '1',
        MLFLOW_TRACKING_URI: trackingUri(),
        MLFLOW_EXPERIMENT_NAME: experimentName,
        TRAIN_HUB_TOKEN: HUB_TOKEN,
        TRAIN_DATA__ROWS: '128',
      },
      ['--epochs', '2', 'model.activation=tanh'],
    );
    expect(outcome.code).toBe(0);
    expect(outcome.result.tracking).toBe(true);
    expect(existsSync(join(cwd, 'mlruns'))).toBe(false);

    const read = await python<{
      status: string;
      experiment: string;
      params: Record<string, string>;
      tags: Record<string, string>;
      metrics: string[];
      files: Record<string, string>;
    }>(`
import json, os, tempfile, mlflow
from mlflow import MlflowClient
r = MlflowClient().get_run("${outcome.result.runId}")
root = mlflow.artifacts.download_artifacts(run_id=r.info.run_id, dst_path=tempfile.mkdtemp())
files = {}
for folder, _, names in os.walk(root):
    for name in names:
        if name.endswith((".json", ".yaml", ".txt")):
            full = os.path.join(folder, name)
            files[os.path.relpath(full, root).replace(os.sep, "/")] = open(full, encoding="utf-8").read()
print(json.dumps({"status": r.info.status, "experiment": mlflow.get_experiment(r.info.experiment_id).name,
  "params": r.data.params, "tags": r.data.tags, "metrics": sorted(r.data.metrics), "files": files}))
`);
    expect(read.status).toBe('FINISHED');
    expect(read.experiment).toBe(experimentName);
    expect(read.params).toMatchObject({
      epochs: '2',
      batchSize: '32',
      learningRate: '0.05',
      'model.hidden': '[16,8]',
      'model.activation': 'tanh',
      'data.rows': '128',
      'data.seed': '7',
      hubToken: '***',
    });
    expect(read.metrics).toEqual(expect.arrayContaining(['final_loss', 'loss', 'val_loss']));
    expect(read.files['config.json']).toBeDefined();
    expect(read.files['config.yaml']).toContain('hubToken: "***"');
    expect(JSON.stringify(read)).not.toContain(HUB_TOKEN);
  });

  it('with MLFLOW_KIT_ENABLED=1 and no tracking URI writes the run to ./mlruns', async () => {
    const cwd = await mkdtemp(join(tmpdir(), 'feature-flag-local-'));
    const outcome = await runExample(cwd, { MLFLOW_KIT_ENABLED: '1', TRAIN_HUB_TOKEN: HUB_TOKEN }, [
      '--epochs',
      '1',
    ]);
    expect(outcome.code).toBe(0);
    const { runId } = outcome.result;
    const experiments = (await readdir(join(cwd, 'mlruns'))).filter((entry) =>
      existsSync(join(cwd, 'mlruns', entry, runId)),
    );
    expect(experiments).toHaveLength(1);
    const runDir = join(cwd, 'mlruns', experiments[0]!, runId);
    expect(await readFile(join(runDir, 'params', 'hubToken'), 'utf8')).toBe('***');
    expect(await readFile(join(runDir, 'artifacts', 'config.json'), 'utf8')).not.toContain(HUB_TOKEN);
  });
});
