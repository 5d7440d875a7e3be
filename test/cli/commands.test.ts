import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT, TSX_ARGS } from '@mlflow-kit/test-support/tsx';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_SOURCE } from '../helpers/cli-source.js';
import { python, trackingUri, uniqueName } from '../helpers/python.js';
import { spawnCli } from './fixtures.js';

/** Runs the CLI against the suite's server. */
function cli(args: string[]): ReturnType<typeof spawnCli>['done'] {
  return spawnCli(args, { MLFLOW_TRACKING_URI: trackingUri() }).done;
}

/** Terminal columns a line takes (every character here is one column wide). */
function columns(line: string): number {
  return [...line].length;
}

const BRAILLE = /[\u2800-\u28ff]/;

const COMMAND_PATHS = [
  ['runs', 'list'],
  ['runs', 'show'],
  ['experiments', 'list'],
  ['artifacts', 'list'],
  ['artifacts', 'download'],
  ['models', 'list'],
  ['models', 'show'],
  ['models', 'set-alias'],
  ['doctor'],
  ['sync'],
  ['serve'],
];

function hasTmux(): boolean {
  try {
    execFileSync('tmux', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('the mlflow-kit command against the real server', () => {
  const experiment = uniqueName('cli-commands');
  const model = uniqueName('cli-model');
  let runId: string;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mlflow-kit-cli-'));
    // The official Python client logs the run, registers the model and sets the alias the CLI then shows.
    const seeded = await python<{ runId: string }>(`
import json, math, os, tempfile
import mlflow
from mlflow import MlflowClient
mlflow.set_experiment(${JSON.stringify(experiment)})
with mlflow.start_run(run_name="python-run") as run:
    mlflow.log_params({"lr": "0.01", "units": "32"})
    mlflow.set_tag("team", "vision")
    for i in range(300):
        mlflow.log_metrics({"loss": 2 * math.exp(-i / 60) + 0.05 * math.sin(i / 3), "val_acc": 1 - math.exp(-i / 90)}, step=i)
    d = tempfile.mkdtemp()
    open(os.path.join(d, "notes.txt"), "w").write("hello from python")
    os.makedirs(os.path.join(d, "model"))
    open(os.path.join(d, "model", "weights.bin"), "wb").write(bytes(range(256)) * 8)
    mlflow.log_artifacts(d)
c = MlflowClient()
c.create_registered_model(${JSON.stringify(model)})
v1 = c.create_model_version(${JSON.stringify(model)}, f"runs:/{run.info.run_id}/model", run_id=run.info.run_id)
v2 = c.create_model_version(${JSON.stringify(model)}, f"runs:/{run.info.run_id}/model", run_id=run.info.run_id)
c.set_registered_model_alias(${JSON.stringify(model)}, "champion", v1.version)
print(json.dumps({"runId": run.info.run_id}))
`);
    runId = seeded.runId;
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('prints its version with --version and exits 0', async () => {
    const manifest = JSON.parse(await readFile(join(REPO_ROOT, 'packages/cli/package.json'), 'utf8')) as {
      version: string;
    };
    const result = await cli(['--version']);
    expect(result).toMatchObject({ code: 0, stdout: `${manifest.version}\n` });
  });

  it('answers --help and `help <command>` on every command with its usage and the exit codes', async () => {
    const results = await Promise.all(
      COMMAND_PATHS.map(async (path) => ({ path, flag: await cli([...path, '--help']) })),
    );
    for (const { path, flag } of results) {
      expect(flag.code, path.join(' ')).toBe(0);
      expect(flag.stdout).toMatch(new RegExp(`^Usage: mlflow-kit ${path.join(' ')}`));
      expect(flag.stdout).toContain('-h, --help');
      expect(flag.stdout).toContain('Exit codes: 0 success · 1 failure');
    }
    const word = await cli(['help', 'runs', 'show']);
    expect(word).toMatchObject({ code: 0, stdout: results[1]?.flag.stdout });
    const main = await cli(['--help']);
    expect(main.code).toBe(0);
    for (const path of COMMAND_PATHS) expect(main.stdout).toContain(path.join(' '));
  });

  it('exits 2 with a pointer to the help on usage errors', async () => {
    const cases: [string[], RegExp][] = [
      [[], /Usage: mlflow-kit <command>/],
      [['rnus', 'list'], /unknown command "rnus"\. Did you mean "runs"\?/],
      [['runs', 'shw'], /Did you mean "show"\?[\s\S]*mlflow-kit runs --help/],
      [['runs'], /Usage: mlflow-kit runs <command>/],
      [['runs', 'list', '--bogus'], /Unknown option '--bogus'[\s\S]*`mlflow-kit runs list --help`/],
      [['runs', 'show'], /missing <run-id>: the usage is `mlflow-kit runs show <run-id>`/],
      [['runs', 'list', '--max', 'ten'], /--max must be a whole number/],
      [['models', 'set-alias', model, 'champion', 'latest'], /version must be a version number/],
      [['experiments', 'list', '--view', 'gone'], /--view must be active, deleted or all/],
    ];
    const results = await Promise.all(cases.map(([args]) => cli(args)));
    results.forEach((result, index) => {
      const [args, message] = cases[index] ?? [[], /./];
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr).toMatch(message);
    });
  });

  it('exits 1 naming the fix for a missing experiment, run, artifact, metric, model and version', async () => {
    const cases: [string[], RegExp][] = [
      [
        ['runs', 'list', '--experiment', 'nope-no-such'],
        /No experiment named "nope-no-such".*`mlflow-kit experiments list`/,
      ],
      [['runs', 'show', 'deadbeef'], /No run deadbeef .*`mlflow-kit runs list`/],
      [['runs', 'show', runId, '--metric', 'nope'], /has no metric "nope"; its metrics are: loss, val_acc/],
      [['artifacts', 'list', 'deadbeef'], /No run deadbeef/],
      [
        ['artifacts', 'download', runId, 'missing.txt'],
        /has no artifact "missing.txt".*mlflow-kit artifacts list/,
      ],
      [
        ['models', 'show', 'no-such-model'],
        /No registered model named "no-such-model".*`mlflow-kit models list`/,
      ],
      [['models', 'set-alias', model, 'x', '99'], /has no version "99".*`mlflow-kit models show/],
      [['runs', 'list', '--filter', 'bogus = 1'], /400 INVALID_PARAMETER_VALUE/],
    ];
    const results = await Promise.all(cases.map(([args]) => cli(args)));
    results.forEach((result, index) => {
      const [args, message] = cases[index] ?? [[], /./];
      expect(result.code, args.join(' ')).toBe(1);
      expect(result.stderr).toMatch(message);
      expect(result.stdout).toBe('');
    });
  });

  it('lists runs as a table and as JSON, with --filter, --order-by and --max', async () => {
    const table = await cli(['runs', 'list', '--experiment', experiment]);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^EXPERIMENT\s+RUN ID\s+NAME\s+STATUS/);
    expect(table.stdout).toContain(runId);
    expect(table.stdout).toMatch(/python-run\s+FINISHED/);

    const listed = await cli([
      'runs',
      'list',
      '-e',
      experiment,
      '--filter',
      "params.lr = '0.01' and metrics.val_acc > 0.9",
      '--order-by',
      'metrics.loss ASC',
      '--max',
      '5',
      '--json',
    ]);
    expect(listed.code).toBe(0);
    expect(JSON.parse(listed.stdout)).toEqual([
      expect.objectContaining({
        runId,
        runName: 'python-run',
        experimentName: experiment,
        status: 'FINISHED',
        metrics: 2,
        params: 2,
        startTime: expect.any(Number),
      }),
    ]);
    const none = await cli(['runs', 'list', '-e', experiment, '--filter', 'metrics.loss > 100', '--json']);
    expect(none).toMatchObject({ code: 0, stdout: '[]\n' });
  });

  it('shows a run: params, tags, artifacts and a braille chart per metric filling the given width', async () => {
    for (const width of [80, 200]) {
      const shown = await cli(['runs', 'show', runId, '--width', String(width)]);
      expect(shown.code).toBe(0);
      const lines = shown.stdout.trimEnd().split('\n');
      expect(shown.stdout).toMatch(/Params \(2\)\n {2}lr\s+0\.01\n {2}units\s+32/);
      expect(shown.stdout).toMatch(/ {2}team\s+vision/);
      expect(shown.stdout).toMatch(
        /Artifacts \(2 files\)\n {2}model\/weights\.bin {2}2\.0 KiB\n {2}notes\.txt {2}17 B/,
      );
      expect(shown.stdout).toMatch(/loss · last -?0\.\d+ at step 299 · min .* · max 2 · 300 points/);
      expect(shown.stdout).toMatch(/val_acc · last 0\.96\d* at step 299/);
      for (const line of lines) expect(columns(line), line).toBeLessThanOrEqual(width);
      const plotRows = lines.filter((line) => BRAILLE.test(line));
      expect(plotRows).toHaveLength(16);
      for (const row of plotRows) expect(columns(row)).toBe(width);
      // The loss falls: its first plot row has dots at the left only, its last row at the right.
      const lossRows = plotRows.slice(0, 8);
      const dotted = (row: string): number[] =>
        [...row].flatMap((char, index) => (/[\u2801-\u28ff]/.test(char) ? [index] : []));
      expect(Math.max(...dotted(lossRows[0] ?? ''))).toBeLessThan(width / 4);
      expect(Math.max(...dotted(lossRows[7] ?? ''))).toBeGreaterThan(width * 0.9);
    }

    const one = await cli(['runs', 'show', runId, '--metric', 'val_acc', '--height', '4', '--width', '60']);
    expect(one.stdout).not.toContain('loss ·');
    expect(one.stdout.split('\n').filter((line) => BRAILLE.test(line))).toHaveLength(4);
  });

  it('prints runs show as JSON: summaries always, histories for the metrics named', async () => {
    const summary = await cli(['runs', 'show', runId, '--json']);
    expect(summary.code).toBe(0);
    const parsed = JSON.parse(summary.stdout);
    expect(parsed).toMatchObject({
      experimentName: experiment,
      run: { info: { runId, runName: 'python-run' }, data: { params: { lr: '0.01', units: '32' } } },
      artifacts: [
        { path: 'model/weights.bin', isDir: false, fileSize: 2048 },
        { path: 'notes.txt', isDir: false, fileSize: 17 },
      ],
      metrics: [
        expect.objectContaining({ key: 'loss', points: 300, firstStep: 0, lastStep: 299, max: 2 }),
        expect.objectContaining({ key: 'val_acc', points: 300, min: 0 }),
      ],
    });
    expect(parsed.histories).toBeUndefined();
    const withHistory = JSON.parse((await cli(['runs', 'show', runId, '--metric', 'loss', '--json'])).stdout);
    expect(Object.keys(withHistory.histories)).toEqual(['loss']);
    expect(withHistory.histories.loss).toHaveLength(300);
    expect(withHistory.histories.loss[0]).toMatchObject({ key: 'loss', value: 2, step: 0 });
  });

  it('lists experiments as a table and as JSON', async () => {
    const table = await cli(['experiments', 'list']);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^ID\s+NAME\s+STAGE/);
    expect(table.stdout).toContain(experiment);
    const listed = JSON.parse(
      (await cli(['experiments', 'list', '--filter', `name = '${experiment}'`, '--json'])).stdout,
    );
    expect(listed).toEqual([
      expect.objectContaining({
        name: experiment,
        lifecycleStage: 'active',
        experimentId: expect.any(String),
      }),
    ]);
  });

  it('lists and downloads artifacts: one file, a directory, everything', async () => {
    const level = await cli(['artifacts', 'list', runId]);
    expect(level).toMatchObject({ code: 0, stdout: 'model/\nnotes.txt  17\n' });
    const recursive = JSON.parse((await cli(['artifacts', 'list', runId, '-r', '--json'])).stdout);
    expect(recursive).toEqual([
      { path: 'model/weights.bin', isDir: false, fileSize: 2048 },
      { path: 'notes.txt', isDir: false, fileSize: 17 },
    ]);

    const file = await cli(['artifacts', 'download', runId, 'notes.txt', '--dst', join(dir, 'one')]);
    expect(file.code).toBe(0);
    expect(file.stdout).toBe(`${join(dir, 'one', 'notes.txt')}\n`);
    expect(await readFile(join(dir, 'one', 'notes.txt'), 'utf8')).toBe('hello from python');

    const all = await cli(['artifacts', 'download', runId, '--dst', join(dir, 'all'), '--json']);
    expect(JSON.parse(all.stdout)).toMatchObject({ localPath: join(dir, 'all'), bytes: 2048 + 17 });
    const weights = await readFile(join(dir, 'all', 'model', 'weights.bin'));
    expect([...weights.subarray(0, 4)]).toEqual([0, 1, 2, 3]);
    expect(weights.length).toBe(2048);
  });

  it('shows the alias the Python client set, and sets one the Python client then resolves', async () => {
    const listed = JSON.parse(
      (await cli(['models', 'list', '--filter', `name = '${model}'`, '--json'])).stdout,
    );
    expect(listed).toEqual([expect.objectContaining({ name: model, aliases: { champion: '1' } })]);
    const table = await cli(['models', 'list', '--filter', `name = '${model}'`]);
    expect(table.stdout).toMatch(new RegExp(`${model}\\s+v2\\s+@champion→v1`));

    const shown = await cli(['models', 'show', model]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/aliases: @champion→v1/);
    expect(shown.stdout).toMatch(new RegExp(`\\n2\\s+\\S*\\s*None\\s+READY.*${runId}`));
    expect(shown.stdout).toMatch(new RegExp(`\\n1\\s+@champion\\s+None\\s+READY.*${runId}`));

    const set = await cli(['models', 'set-alias', model, 'champion', '2']);
    expect(set).toMatchObject({ code: 0 });
    expect(set.stdout).toBe(`models:/${model}@champion → version 2 (runs:/${runId}/model)\n`);
    const resolved = await python<{ version: string }>(`
import json
from mlflow import MlflowClient
v = MlflowClient().get_model_version_by_alias(${JSON.stringify(model)}, "champion")
print(json.dumps({"version": v.version}))
`);
    expect(resolved.version).toBe('2');
    const details = JSON.parse((await cli(['models', 'show', model, '--json'])).stdout);
    expect(details.model.aliases).toEqual({ champion: '2' });
    expect(details.versions.map((version: { version: string }) => version.version)).toEqual(['2', '1']);
  });

  it('prints the doctor report as JSON', async () => {
    const doctor = await cli(['doctor', '--json']);
    expect(doctor.code).toBe(0);
    expect(JSON.parse(doctor.stdout)).toMatchObject({ ok: true, storeKind: 'rest', serverVersion: '3.17.2' });
  });

  it.skipIf(!hasTmux())(
    'sizes runs show charts to a real terminal of 80 and of 200 columns (skipped without tmux)',
    async () => {
      for (const width of [80, 200]) {
        const session = `mlflow-kit-cli-${process.pid}-${width}`;
        const done = join(dir, `tmux-${width}.done`);
        const command = [
          'env',
          `MLFLOW_TRACKING_URI=${trackingUri()}`,
          process.execPath,
          ...TSX_ARGS,
          CLI_SOURCE,
          'runs',
          'show',
          runId,
          '--metric',
          'loss',
        ]
          .map((part) => `'${part}'`)
          .join(' ');
        execFileSync('tmux', [
          'new-session',
          '-d',
          '-s',
          session,
          '-x',
          String(width),
          '-y',
          '60',
          `${command}; touch '${done}'; sleep 60`,
        ]);
        try {
          const deadline = Date.now() + 30_000;
          while (
            !(await readFile(done).then(
              () => true,
              () => false,
            ))
          ) {
            if (Date.now() > deadline) throw new Error('runs show did not finish in tmux within 30 s');
            await new Promise((resolve) => setTimeout(resolve, 200));
          }
          const screen = execFileSync('tmux', ['capture-pane', '-p', '-t', session, '-S', '-60'], {
            encoding: 'utf8',
          });
          const rows = screen.split('\n').filter((line) => BRAILLE.test(line));
          expect(rows, screen).toHaveLength(8);
          for (const row of rows) expect(columns(row.trimEnd())).toBeLessThanOrEqual(width);
          // The plot fills the terminal: the last row's dots reach the last column.
          expect(columns(rows[7]?.trimEnd() ?? '')).toBeGreaterThan(width - 3);
          expect(screen).toMatch(/└─+\n/);
        } finally {
          execFileSync('tmux', ['kill-session', '-t', session]);
        }
      }
    },
  );
});
