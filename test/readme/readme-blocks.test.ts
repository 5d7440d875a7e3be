import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadTfjsNode, tfjsNodeRequired } from '@mlflow-kit/test-support/tfjs-node';
import { REPO_ROOT, TSX_ARGS } from '@mlflow-kit/test-support/tsx';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { CLI_SOURCE } from '../helpers/cli-source.js';
import { trackingUri, uniqueName } from '../helpers/python.js';
import { freePort } from '../setup/mlflow-env.js';
import { withPortLock } from './port-lock.js';
import { parseBlocks, type ReadmeBlock, readmeBlocks, shellCommands } from './readme-blocks.js';
import { withWorkspaceLock } from './workspace-lock.js';

/*
 * Every fenced block of every README, run or checked as a user would use it:
 * - ts/js: a program, run with tsx (the workspace's source condition) in a temporary project directory, with
 *   tracking on against the suite's server; where it logs, its runs are read back (found by the
 *   `mlflow.source.name` tag, the program's path). A `text` block right after it is its expected output.
 *   A `yaml <file>` block right before it is written as that file next to it.
 * - sh: install lines check the packages they name; `pnpm <script>` lines check the script (and run the cheap
 *   ones); `pnpm example:browser` serves its page on a free port and is stopped once the page and its script
 *   load; `mlflow server`/`mlflow ui` start on a free port and are stopped once they answer; other commands run
 *   with `mlflow-kit` from the CLI's source and `mlflow` from the test venv. `127.0.0.1:5000`, the address
 *   READMEs give "your tracking server", is the suite's server (or the free port of a server the block starts).
 * - yaml: parsed; an MLmodel is compared with one that logModel really wrote.
 * A block none of these rules covers fails the test: teach the test, or make the block runnable.
 */

const BLOCKS = readmeBlocks(REPO_ROOT);
/** Every directory the blocks run in, and their spool: removed after the file. */
const SCRATCH = mkdtempSync(join(tmpdir(), 'readme-blocks-'));
const TSX = [...TSX_ARGS];
const CODE_LANGS = new Set(['ts', 'typescript', 'js', 'javascript', 'mjs']);
const SHELL_LANGS = new Set(['sh', 'bash', 'shell']);
const CHAMPION = 'models:/iris-classifier@champion';
const tfjsNode = loadTfjsNode();
const tfjsNodeMissing = tfjsNode.problem !== undefined && !tfjsNodeRequired();

/** Runs blocks' processes at most this many at a time: the machine has 2 cores shared with other tests. */
const PARALLEL = 3;
let running = 0;
const waiting: (() => void)[] = [];
async function limited<T>(task: () => Promise<T>): Promise<T> {
  while (running >= PARALLEL) await new Promise<void>((go) => waiting.push(go));
  running++;
  try {
    return await task();
  } finally {
    running--;
    waiting.shift()?.();
  }
}

/** Settles when the block that promotes `iris-classifier@champion` has run, for the blocks that load it. */
let championReady: (ok: boolean) => void = () => {};
const champion = new Promise<boolean>((resolve) => {
  championReady = resolve;
});
async function needChampion(): Promise<void> {
  const waited = await Promise.race([champion, sleep(300_000, 'not run')]);
  expect(waited, `the block that sets ${CHAMPION} did not run within 5 min (left out by -t?)`).not.toBe(
    'not run',
  );
  expect(waited, `the block that sets ${CHAMPION} failed, so this one cannot run`).toBe(true);
}
/** Settles when the root README's demo block has written examples/tfjs-autolog/mlruns. */
let demoReady: (ok: boolean) => void = () => {};
const demo = new Promise<boolean>((resolve) => {
  demoReady = resolve;
});
/** The stdout of each code block, for the `text` block that follows it. */
const outputs = new Map<string, { promise: Promise<string>; settle: (stdout: string | Error) => void }>();
function outputOf(id: string): { promise: Promise<string>; settle: (stdout: string | Error) => void } {
  let entry = outputs.get(id);
  if (!entry) {
    let settle: (stdout: string | Error) => void = () => {};
    const promise = new Promise<string>((resolve, reject) => {
      settle = (stdout) => (typeof stdout === 'string' ? resolve(stdout) : reject(stdout));
    });
    promise.catch(() => {}); // read by the next block's test only when there is one
    entry = { promise, settle };
    outputs.set(id, entry);
  }
  return entry;
}

interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The environment of every child: no MLflow settings of the caller, tracking on only where a test says. */
function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const base = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !/^(MLFLOW_|TRAIN_)/.test(name)),
  );
  return {
    ...base,
    MLFLOW_KIT_EXIT_TIMEOUT: '60',
    MLFLOW_DISABLE_TELEMETRY: 'true',
    MLFLOW_KIT_SPOOL_DIR: join(SCRATCH, 'spool'),
    TF_CPP_MIN_LOG_LEVEL: '2',
    PATH: `${dirname(inject('python'))}:${process.env.PATH ?? ''}`,
    ...extra,
  };
}

function run(
  command: string,
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv,
  timeout = 150_000,
): Promise<Outcome> {
  return new Promise((done) => {
    execFile(command, args, { cwd, env, timeout, maxBuffer: 32 * 1024 * 1024 }, (error, stdout, stderr) => {
      done({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

function explain(outcome: Outcome): string {
  return `exit ${outcome.code}\n--- stdout\n${outcome.stdout.slice(-4000)}\n--- stderr\n${outcome.stderr.slice(-4000)}`;
}

/** A temporary project directory that resolves the workspace packages, zod and tfjs as a user's would. */
async function projectDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(SCRATCH, `${prefix}-`));
  await symlink(join(REPO_ROOT, 'test/node_modules'), join(dir, 'node_modules'), 'dir');
  await writeFile(join(dir, 'package.json'), '{ "type": "module", "private": true }\n');
  return dir;
}

/** A directory with `mlflow-kit` (the CLI from its source) for PATH. */
async function cliBin(dir: string): Promise<string> {
  const bin = join(dir, '.bin');
  await mkdir(bin, { recursive: true });
  const quoted = [process.execPath, ...TSX, CLI_SOURCE].map((part) => `'${part}'`).join(' ');
  await writeFile(join(bin, 'mlflow-kit'), `#!/bin/sh\nexec ${quoted} "$@"\n`);
  await chmod(join(bin, 'mlflow-kit'), 0o755);
  return bin;
}

// --- the suite's server, read through its REST API ---

interface RestRun {
  info: { run_id: string; status: string; experiment_id: string };
  data: { params?: { key: string; value: string }[]; tags?: { key: string; value: string }[] };
}

async function rest<T>(base: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${base}/api/2.0/mlflow/${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { 'Content-Type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  expect(response.status, `${path}: ${await response.clone().text()}`).toBe(200);
  return (await response.json()) as T;
}

async function experimentIds(base: string): Promise<string[]> {
  const ids: string[] = [];
  let token: string | undefined;
  do {
    const page = await rest<{ experiments?: { experiment_id: string }[]; next_page_token?: string }>(
      base,
      'experiments/search',
      { max_results: 1000, view_type: 'ALL', ...(token ? { page_token: token } : {}) },
    );
    ids.push(...(page.experiments ?? []).map((experiment) => experiment.experiment_id));
    token = page.next_page_token;
  } while (token);
  return ids;
}

/** Runs of every experiment on `base` that match `filter`. */
async function searchRuns(base: string, filter: string): Promise<RestRun[]> {
  const ids = await experimentIds(base);
  const found: RestRun[] = [];
  for (let start = 0; start < ids.length; start += 100) {
    const page = await rest<{ runs?: RestRun[] }>(base, 'runs/search', {
      experiment_ids: ids.slice(start, start + 100),
      filter,
      max_results: 1000,
    });
    found.push(...(page.runs ?? []));
  }
  return found;
}

/** Waits until `url` answers 200, or fails after `ms`. */
async function answers(url: string, server: ChildProcess, ms = 120_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const ok = await fetch(url).then(
      (response) => response.ok,
      () => false,
    );
    if (ok) return;
    if (server.exitCode !== null)
      throw new Error(`the server exited (${server.exitCode}) before it answered ${url}`);
    if (Date.now() > deadline) throw new Error(`${url} did not answer within ${ms / 1000} s`);
    await sleep(500);
  }
}

// --- code blocks ---

const LOGS =
  /\b(startRun|withRun|autolog|mlflowCallback|tensorBoard|summaryFileWriter)\(|new SummaryWriter\(/;

async function runCodeBlock(block: ReadmeBlock, index: number): Promise<string> {
  const dir = await projectDir('code');
  const before = BLOCKS[index - 1];
  if (before?.readme === block.readme && before.info && !CODE_LANGS.has(before.lang)) {
    await writeFile(join(dir, before.info), before.code); // `yaml train.yaml` right before: that file
  }
  const script = join(dir, block.lang.startsWith('j') || block.lang === 'mjs' ? 'block.mjs' : 'block.ts');
  await writeFile(script, block.code);
  const outcome = await limited(() =>
    run(
      process.execPath,
      [...TSX, script],
      dir,
      childEnv({
        MLFLOW_KIT_ENABLED: '1',
        MLFLOW_TRACKING_URI: trackingUri(),
      }),
    ),
  );
  expect(outcome.code, explain(outcome)).toBe(0);
  expect(outcome.stderr, 'nothing went to the spool').not.toMatch(/in the spool/);
  if (LOGS.test(block.code)) {
    const runs = await searchRuns(trackingUri(), `tags.\`mlflow.source.name\` = '${script}'`);
    expect(runs.length, `the block's runs on the server\n${explain(outcome)}`).toBeGreaterThan(0);
    for (const found of runs) expect(found.info.status, found.info.run_id).toBe('FINISHED');
  }
  return outcome.stdout;
}

// --- shell blocks ---

const INSTALL = /^(npm (install|i|add)|pnpm add|yarn add)\b/;
const PNPM_SCRIPT = /^pnpm ([a-z:-]+)$/;
/** `pnpm` commands cheap and safe enough to run inside the suite; the rest are checked to exist. */
const RUNNABLE_SCRIPTS = new Set(['install', 'demo']);
const ROOT_MANIFEST = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
  scripts: Record<string, string>;
};

interface Manifest {
  name: string;
  private?: boolean;
  bin?: string | Record<string, string>;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

function workspaceManifests(): Manifest[] {
  return ['packages', 'examples', 'test', 'bench'].flatMap((root) => {
    const direct = join(REPO_ROOT, root, 'package.json');
    const dirs = existsSync(direct)
      ? [join(REPO_ROOT, root)]
      : readdirSync(join(REPO_ROOT, root), { withFileTypes: true })
          .filter((entry) => entry.isDirectory())
          .map((entry) => join(REPO_ROOT, root, entry.name));
    return dirs
      .filter((dir) => existsSync(join(dir, 'package.json')))
      .map((dir) => JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Manifest);
  });
}

/** Checks every package an install line names (and the alternatives its comment names). */
function checkInstallBlock(block: ReadmeBlock): void {
  const manifests = workspaceManifests();
  const known = new Set(
    manifests.flatMap((manifest) =>
      [manifest.dependencies, manifest.devDependencies, manifest.peerDependencies].flatMap((deps) =>
        Object.keys(deps ?? {}),
      ),
    ),
  );
  for (const line of block.code.split('\n').filter((text) => text.trim())) {
    const global = /\s(-g|--global)\b/.test(line);
    const names = [...line.matchAll(/(?<![\w/-])(@[a-z0-9-]+\/[a-z0-9.-]+|[a-z][a-z0-9.-]*)(?:@[^\s]+)?/g)]
      .map((match) => match[1] ?? '')
      .filter((name) => name.startsWith('@') || known.has(name));
    expect(names.length, `${line}: names no package`).toBeGreaterThan(0);
    for (const name of names) {
      const own = manifests.find((manifest) => manifest.name === name);
      if (name.startsWith('@mlflow-kit/')) {
        expect(own, `${name} is a package of this workspace`).toBeDefined();
        expect(own?.private, `${name} is published (not private)`).not.toBe(true);
        if (global || line.includes(`npx ${name}`)) expect(own?.bin, `${name} has a command`).toBeDefined();
      } else {
        expect(
          known.has(name),
          `${name} is a dependency or peer the workspace knows (so the name is right)`,
        ).toBe(true);
      }
    }
  }
}

/** Rewrites `127.0.0.1:5000` (and a `--port 5000`) to the given address; adds a port to `mlflow ui|server`. */
function retarget(code: string, host: string, port: number, serverPort?: number): string {
  let text = code.replaceAll('127.0.0.1:5000', `${host}:${port}`);
  if (serverPort !== undefined) {
    text = text
      .replace(/(mlflow (?:ui|server)\b[^\n&]*?)--port 5000/g, `$1--port ${serverPort}`)
      .replace(/(mlflow (?:ui|server)\b)(?![^\n&]*--port)([^\n&]*)/g, `$1$2 --port ${serverPort}`);
  }
  return text;
}

/** A local store with one finished run, as a program with tracking on and no URI leaves it. */
async function localRun(dir: string): Promise<{ runId: string; experiment: string }> {
  const experiment = uniqueName('readme-offline');
  const script = join(dir, 'offline.ts');
  await writeFile(
    script,
    `import { withRun } from '@mlflow-kit/core';
await withRun({ experimentName: '${experiment}' }, async (run) => { run.logMetric('loss', 0.5, { step: 0 }); console.log(run.runId); });
`,
  );
  const outcome = await run(process.execPath, [...TSX, script], dir, childEnv({ MLFLOW_KIT_ENABLED: '1' }));
  expect(outcome.code, explain(outcome)).toBe(0);
  return { runId: outcome.stdout.trim().split('\n').at(-1) ?? '', experiment };
}

/** Signals every process of a group; a group already gone is fine. */
function signalGroup(group: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-group, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

/** Starts the block's `mlflow server`/`mlflow ui`, waits until it answers, checks it, stops it. */
async function runServerBlock(block: ReadmeBlock): Promise<void> {
  const fromRepo = /examples\//.test(block.code);
  if (fromRepo) {
    const waited = await Promise.race([demo, sleep(300_000, 'not run')]);
    expect(waited, 'the demo block ran and wrote examples/tfjs-autolog/mlruns (left out by -t?)').toBe(true);
  }
  const dir = fromRepo ? REPO_ROOT : await projectDir('server');
  const local = block.code.includes('./mlruns') ? await localRun(dir) : undefined;
  const port = await freePort();
  const script = `${retarget(block.code, '127.0.0.1', port, port)}\nwait\n`;
  const server = spawn('bash', ['-eu', '-c', script], {
    cwd: dir,
    // One worker instead of four: the same server, started in a third of the time on a busy 2-core machine.
    env: childEnv({ MLFLOW_KIT_ENABLED: '1', MLFLOW_WORKERS: '1' }),
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  server.stderr?.on('data', (chunk: Buffer) => {
    stderr = `${stderr}${chunk}`.slice(-8000);
  });
  const base = `http://127.0.0.1:${port}`;
  try {
    await answers(`${base}/health`, server).catch((error: Error) => {
      throw new Error(`${error.message}\n${stderr}`);
    });
    const experiments = await rest<{ experiments?: { name: string }[] }>(base, 'experiments/search', {
      max_results: 1000,
    });
    if (local) {
      expect(experiments.experiments?.map((experiment) => experiment.name)).toContain(local.experiment);
      const runs = await searchRuns(base, `attributes.run_id = '${local.runId}'`);
      expect(runs.map((found) => found.info.status)).toEqual(['FINISHED']);
    }
    if (fromRepo)
      expect(experiments.experiments?.map((experiment) => experiment.name)).toContain('tfjs-autolog-demo');
  } finally {
    const group = server.pid;
    if (group !== undefined && server.exitCode === null) {
      const exited = new Promise((done) => server.once('exit', done));
      signalGroup(group, 'SIGTERM');
      const force = setTimeout(() => signalGroup(group, 'SIGKILL'), 15_000);
      await exited;
      clearTimeout(force);
      signalGroup(group, 'SIGKILL'); // a server worker that outlived the shell
    }
  }
}

/** `pnpm` scripts that serve a web page until stopped (honouring `PORT`, printing `Open <url>`). */
const SERVING_SCRIPTS = new Set(['example:browser']);

/** Starts the block's page server on a free port (`PORT=0`), loads the page and what it loads, stops it. */
async function runServingBlock(block: ReadmeBlock): Promise<void> {
  await withWorkspaceLock('read', () =>
    limited(async () => {
      const server = spawn('bash', ['-eu', '-c', block.code], {
        cwd: REPO_ROOT,
        env: childEnv({ PORT: '0' }),
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      const printed = new Promise<string>((resolve, reject) => {
        const seen = (chunk: Buffer) => {
          output = `${output}${chunk}`.slice(-8000);
          const url = /Open (http:\/\/127\.0\.0\.1:\d+\/)/.exec(output)?.[1];
          if (url) resolve(url);
        };
        server.stdout?.on('data', seen);
        server.stderr?.on('data', seen);
        server.once('exit', (code) =>
          reject(new Error(`${block.code} exited (${code}) before serving:\n${output}`)),
        );
      });
      try {
        const url = await Promise.race([
          printed,
          sleep(120_000).then(() => {
            throw new Error(`${block.code} printed no address within 120 s:\n${output}`);
          }),
        ]);
        const html = await (await fetch(url)).text();
        const scripts = [...html.matchAll(/<script[^>]*src="\.\/([^"]+)"/g)].map((match) => match[1] ?? '');
        expect(scripts.length, html).toBeGreaterThan(0);
        for (const script of scripts) {
          const response = await fetch(new URL(script, url));
          expect(response.status, script).toBe(200);
          expect(response.headers.get('content-type'), script).toMatch(/javascript/);
          expect((await response.arrayBuffer()).byteLength, script).toBeGreaterThan(10_000);
        }
      } finally {
        if (server.pid !== undefined && server.exitCode === null) {
          const exited = new Promise((done) => server.once('exit', done));
          signalGroup(server.pid, 'SIGTERM');
          const force = setTimeout(() => signalGroup(server.pid!, 'SIGKILL'), 15_000);
          await exited;
          clearTimeout(force);
        }
      }
    }),
  );
}

/** Runs the `pnpm` lines of a block that are cheap to run, and checks that the others are scripts. */
async function runPnpmBlock(block: ReadmeBlock, commands: string[]): Promise<Outcome | undefined> {
  const segments = commands.flatMap((command) => command.split('&&').map((part) => part.trim()));
  for (const segment of segments) {
    const name = PNPM_SCRIPT.exec(segment)?.[1] ?? '';
    if (name !== 'install')
      expect(ROOT_MANIFEST.scripts, `${segment} is a script of package.json`).toHaveProperty(name);
  }
  if (!segments.every((segment) => RUNNABLE_SCRIPTS.has(PNPM_SCRIPT.exec(segment)?.[1] ?? '')))
    return undefined;
  const mode = segments.includes('pnpm install') ? 'write' : 'read'; // `pnpm install` rewrites the bin shims
  const outcome = await withWorkspaceLock(mode, () =>
    limited(() => run('bash', ['-euo', 'pipefail', '-c', block.code], REPO_ROOT, childEnv({}))),
  );
  expect(outcome.code, explain(outcome)).toBe(0);
  return outcome;
}

async function runShellBlock(block: ReadmeBlock): Promise<void> {
  const commands = shellCommands(block.code);
  expect(commands.length, 'the block has a command').toBeGreaterThan(0);
  if (commands.every((command) => INSTALL.test(command))) {
    checkInstallBlock(block);
    return;
  }
  if (commands.length === 1 && SERVING_SCRIPTS.has(PNPM_SCRIPT.exec(commands[0] ?? '')?.[1] ?? '')) {
    await runServingBlock(block);
    return;
  }
  if (commands.every((command) => command.split('&&').every((part) => PNPM_SCRIPT.test(part.trim())))) {
    const outcome = await runPnpmBlock(block, commands);
    if (block.code.includes('pnpm demo')) {
      expect(outcome?.stdout).toMatch(/Accuracy of the logged model, loaded back with loadModel: [01]\.\d+/);
      const runId = outcome?.stdout.match(/MLflow run ([0-9a-f]{32})/)?.[1];
      expect(runId, outcome?.stdout).toBeDefined();
      expect(
        localRunDirs().some((path) => path.endsWith(`/${runId}`)),
        `run ${runId} in examples/tfjs-autolog/mlruns`,
      ).toBe(true);
    }
    return;
  }
  if (commands.some((command) => /^(\S+=\S+ )*mlflow (server|ui)\b/.test(command))) {
    await runServerBlock(block);
    return;
  }
  // Any other commands: run as written, `mlflow-kit` from the CLI's source, against the suite's server.
  if (block.code.includes(CHAMPION)) await needChampion();
  const inRepo = /\bpnpm\b/.test(block.code);
  const dir = inRepo ? REPO_ROOT : await projectDir('shell');
  const local = !inRepo && block.code.includes('./mlruns') ? await localRun(dir) : undefined;
  const server = new URL(trackingUri());
  const script = retarget(block.code, server.hostname, Number(server.port));
  const env = childEnv({
    PATH: `${await cliBin(inRepo ? await projectDir('bin') : dir)}:${childEnv({}).PATH}`,
    // The server is "yours" unless the block says where its runs go.
    ...(block.code.includes('MLFLOW_TRACKING_URI=') ? {} : { MLFLOW_TRACKING_URI: trackingUri() }),
    COLUMNS: '100',
  });
  const bash = (text: string) => limited(() => run('bash', ['-euo', 'pipefail', '-c', text], dir, env));
  // Lines that share nothing (no background job, variable, export or cd) run side by side, each as written.
  const lines = shellCommands(script);
  const independent =
    lines.length > 1 && lines.every((line) => !/&|\$\(|^\w+=\S*$|\b(export|cd|kill|wait)\b/.test(line));
  const command = async (): Promise<Outcome> => {
    if (!independent) return bash(script);
    const outcomes = await Promise.all(lines.map(bash));
    const failed = outcomes.find((outcome) => outcome.code !== 0);
    return {
      code: failed?.code ?? 0,
      stdout: outcomes.map((outcome) => outcome.stdout).join(''),
      stderr: outcomes.map((outcome) => outcome.stderr).join(''),
    };
  };
  const execute = () => (inRepo ? withWorkspaceLock('read', command) : command());
  // The walkthrough serves on 5001 too: blocks with a fixed port take turns.
  const fixedPort = /\b(5001)\b/.exec(script)?.[1];
  const outcome = fixedPort ? await withPortLock(Number(fixedPort), execute) : await execute();
  expect(outcome.code, explain(outcome)).toBe(0);
  if (block.code.includes('/invocations')) {
    const answer = JSON.parse(outcome.stdout.match(/\{"predictions":.*\}/)?.[0] ?? '{}') as {
      predictions?: number[][];
    };
    expect(answer.predictions?.[0], outcome.stdout).toHaveLength(3);
  }
  if (local) {
    const synced = await searchRuns(trackingUri(), `tags.\`mlflow-kit.sync.sourceRunId\` = '${local.runId}'`);
    expect(
      synced.map((found) => found.info.status),
      explain(outcome),
    ).toEqual(['FINISHED']);
  }
  const reports = outcome.stdout.split('\n').filter((line) => line.startsWith('{"tracking":true'));
  for (const line of reports) {
    const { runId } = JSON.parse(line) as { runId: string };
    const onServer = await searchRuns(trackingUri(), `attributes.run_id = '${runId}'`);
    const onDisk = localRunDirs().some((path) => path.endsWith(`/${runId}`));
    expect(onServer.length > 0 || onDisk, `run ${runId} on the server or in an ./mlruns`).toBe(true);
  }
}

/** `examples/<name>/mlruns/<experiment>/<run>` of every example. */
function localRunDirs(): string[] {
  const examples = join(REPO_ROOT, 'examples');
  return readdirSync(examples).flatMap((example) => {
    const mlruns = join(examples, example, 'mlruns');
    if (!existsSync(mlruns)) return [];
    return readdirSync(mlruns, { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .flatMap((experiment) =>
        readdirSync(join(mlruns, experiment.name)).map((run) => join(mlruns, experiment.name, run)),
      );
  });
}

// --- yaml blocks ---

async function checkMlmodelBlock(block: ReadmeBlock): Promise<void> {
  const documented = parseYaml(block.code) as Record<string, unknown> & { flavors: { tfjs: object } };
  await needChampion();
  // The champion's MLmodel, as the server holds it: alias → version → logged model → its artifact root.
  const base = trackingUri();
  const { model_version: version } = await rest<{ model_version: { source: string } }>(
    base,
    'registered-models/alias?name=iris-classifier&alias=champion',
  );
  const modelId = version.source.replace(/^models:\//, '');
  const { model } = await rest<{ model: { info: { artifact_uri: string } } }>(
    base,
    `logged-models/${modelId}`,
  );
  const root = model.info.artifact_uri.replace(/^mlflow-artifacts:\//, '');
  const response = await fetch(`${base}/api/2.0/mlflow-artifacts/artifacts/${root}/MLmodel`);
  expect(response.status, `MLmodel of ${modelId}`).toBe(200);
  const written = parseYaml(await response.text()) as Record<string, unknown> & { flavors: { tfjs: object } };
  const real = {
    top: Object.keys(written).sort(),
    tfjs: Object.keys(written.flavors.tfjs).sort(),
    signature: Object.keys((written.signature as object | undefined) ?? {}).sort(),
  };
  expect(Object.keys(documented).sort(), 'the MLmodel fields logModel writes').toEqual(real.top);
  expect(Object.keys(documented.flavors.tfjs).sort(), 'the tfjs flavor fields').toEqual(real.tfjs);
  expect(Object.keys((documented.signature as object | undefined) ?? {}).sort()).toEqual(real.signature);
}

// --- the plan ---

interface Plan {
  title: string;
  timeout: number;
  skip?: string;
  provides?: 'champion' | 'demo';
  test(): Promise<void>;
}

/** Blocks that load the champion, which the tfjs README's logModel block promotes. */
function needsChampion(block: ReadmeBlock): boolean {
  return block.code.includes(CHAMPION) && !block.code.includes('setRegisteredModelAlias(') && !block.comment;
}

function planFor(block: ReadmeBlock, index: number): Plan {
  const next = BLOCKS[index + 1];
  if (CODE_LANGS.has(block.lang)) {
    const usesTfjsNode = block.code.includes("'@tensorflow/tfjs-node'");
    const provides = block.code.includes("setRegisteredModelAlias('iris-classifier', 'champion'")
      ? 'champion'
      : undefined;
    return {
      title: `runs the ${block.lang} program${LOGS.test(block.code) ? ' and finds its runs on the server' : ''}`,
      timeout: 240_000,
      ...((usesTfjsNode || needsChampion(block)) && tfjsNodeMissing
        ? {
            skip: `tfjs-node, which the block or the one promoting ${CHAMPION} needs, is not available here: ${tfjsNode.problem}`,
          }
        : {}),
      ...(provides ? { provides } : {}),
      async test() {
        if (!provides && block.code.includes(CHAMPION)) await needChampion();
        try {
          outputOf(block.id).settle(await runCodeBlock(block, index));
          if (provides) championReady(true);
        } catch (error) {
          outputOf(block.id).settle(error instanceof Error ? error : new Error(String(error)));
          if (provides) championReady(false);
          throw error;
        }
      },
    };
  }
  if (block.lang === 'text') {
    const previous = BLOCKS[index - 1];
    return {
      title: 'is the output of the program before it',
      timeout: 240_000,
      async test() {
        expect(
          previous && CODE_LANGS.has(previous.lang) && previous.readme === block.readme,
          'a program comes first',
        ).toBe(true);
        const stdout = await outputOf(previous?.id ?? '').promise.catch((error: Error) => {
          throw new Error(`the program before this output failed: ${error.message}`);
        });
        expect(stdout.trim()).toBe(block.code.trim());
      },
    };
  }
  if (SHELL_LANGS.has(block.lang)) {
    const marker = block.comment?.match(
      /^<!-- walkthrough: (test\/\S+\.test\.ts) runs the next block -->$/,
    )?.[1];
    if (marker) {
      return {
        title: `is run by ${marker}`,
        timeout: 10_000,
        async test() {
          expect(readFileSync(join(REPO_ROOT, marker), 'utf8')).toContain("'<!-- walkthrough:'");
        },
      };
    }
    const provides = /^pnpm install && pnpm demo$/m.test(block.code) ? 'demo' : undefined;
    return {
      title: 'runs the commands (or checks what they name)',
      timeout: 480_000,
      ...(provides ? { provides } : {}),
      ...(needsChampion(block) && tfjsNodeMissing
        ? {
            skip: `the block promoting ${CHAMPION} needs tfjs-node, which is not available here: ${tfjsNode.problem}`,
          }
        : {}),
      async test() {
        try {
          await runShellBlock(block);
          if (provides) demoReady(true);
        } catch (error) {
          if (provides) demoReady(false);
          throw error;
        }
      },
    };
  }
  if (block.lang === 'yaml' || block.lang === 'json') {
    const parse = (text: string) => (block.lang === 'json' ? JSON.parse(text) : parseYaml(text));
    if (block.info && next && CODE_LANGS.has(next.lang)) {
      return {
        title: `is the ${block.info} the program after it reads`,
        timeout: 10_000,
        async test() {
          expect(parse(block.code)).toBeTypeOf('object');
          expect(next.code).toContain(`'${block.info}'`);
        },
      };
    }
    if (/^flavors:/m.test(block.code)) {
      return {
        title: 'is the MLmodel file logModel writes',
        timeout: 240_000,
        ...(tfjsNodeMissing
          ? { skip: `the block promoting ${CHAMPION} needs tfjs-node: ${tfjsNode.problem}` }
          : {}),
        test: () => checkMlmodelBlock(block),
      };
    }
  }
  return {
    title: 'is a block this test knows how to run',
    timeout: 10_000,
    async test() {
      throw new Error(
        `${block.id}: a \`${block.lang || 'no language'}\` block this test cannot run or check. Make it a complete program (ts), commands (sh), an output (text after a program) or a named file (yaml <file> before a program), or teach test/readme/readme-blocks.test.ts.`,
      );
    },
  };
}

const PLANS = BLOCKS.map((block, index) => ({ block, plan: planFor(block, index) }));
// Blocks that others wait for go first, so that no waiting block holds every slot.
const ORDERED = [...PLANS.filter(({ plan }) => plan.provides), ...PLANS.filter(({ plan }) => !plan.provides)];

afterAll(() => rm(SCRATCH, { recursive: true, force: true }));

describe('finding README blocks', () => {
  it('reads fences with their language, file name and indentation, and the comment before them', () => {
    const text = [
      '<!-- note -->',
      '```yaml train.yaml',
      'lr: 1',
      '```',
      '1. Item:',
      '',
      '   ~~~ts',
      '   const a = 1;',
      '     const b = 2;',
      '   ~~~',
    ].join('\n');
    expect(parseBlocks('X.md', text)).toEqual([
      {
        readme: 'X.md',
        line: 2,
        lang: 'yaml',
        info: 'train.yaml',
        code: 'lr: 1\n',
        comment: '<!-- note -->',
        id: 'X.md:2',
      },
      { readme: 'X.md', line: 7, lang: 'ts', info: '', code: 'const a = 1;\n  const b = 2;\n', id: 'X.md:7' },
    ]);
  });

  it('refuses an unclosed fence, which would hide the rest of the file', () => {
    expect(() => parseBlocks('X.md', 'text\n```sh\nls\n')).toThrow(
      'X.md:2: a code fence that is never closed',
    );
  });

  it('fails a block it does not know how to run', async () => {
    const block = parseBlocks('X.md', '```python\nprint(1)\n```\n')[0] as ReadmeBlock;
    await expect(planFor(block, -1).test()).rejects.toThrow(
      /X\.md:1: a `python` block this test cannot run or check/,
    );
  });
});

describe('the workspace lock', () => {
  it('lets a writer (pnpm install) in only once the readers (workspace bins) are done', async () => {
    const events: string[] = [];
    let release: () => void = () => {};
    const reader = withWorkspaceLock('read', () => new Promise<void>((done) => (release = done))).then(() =>
      events.push('reader done'),
    );
    await sleep(100);
    const writer = withWorkspaceLock('write', async () => {
      events.push('writer');
    });
    await sleep(1000);
    expect(events).toEqual([]);
    release();
    await Promise.all([reader, writer]);
    expect(events).toEqual(['reader done', 'writer']);
  });
});

describe.concurrent('every code block of every README, run as written', () => {
  it('finds the blocks of every README', () => {
    const readmes = new Set(BLOCKS.map((block) => block.readme));
    expect([...readmes]).toEqual(
      expect.arrayContaining(['README.md', 'packages/core/README.md', 'packages/tfjs/README.md']),
    );
    expect(BLOCKS.length).toBeGreaterThan(20);
  });

  for (const { block, plan } of ORDERED) {
    const name = `${block.id} (${block.lang || 'no language'}) ${plan.title}`;
    if (plan.skip) it.skip(`${name} — skipped: ${plan.skip}`, () => {});
    else it(name, () => plan.test(), plan.timeout);
  }
});
