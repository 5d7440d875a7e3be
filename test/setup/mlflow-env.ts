import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** The MLflow version the suite pins (`.mlflow-version` at the repository root). */
export const MLFLOW_VERSION = readFileSync(join(repoRoot, '.mlflow-version'), 'utf8').trim();

/** The tensorboard the suite pins, whose `EventAccumulator` reads back the event files we write. */
export const TENSORBOARD_VERSION = '2.21.0';

/** The pinned psycopg2-binary, the PostgreSQL driver of the team-scale server (test/setup/postgres.ts). */
export const PSYCOPG2_VERSION = '2.9.13';

/**
 * What the suite installs: the pinned mlflow with the `auth` extra (Flask-WTF) for basic-auth servers, the
 * pinned tensorboard (its protobuf range, >=6.31.1,<8, contains the one mlflow resolves to), and
 * psycopg2-binary for the PostgreSQL-backed server.
 */
export const VENV_REQUIREMENTS = [
  `mlflow[auth]==${MLFLOW_VERSION}`,
  `tensorboard==${TENSORBOARD_VERSION}`,
  `psycopg2-binary==${PSYCOPG2_VERSION}`,
];

/** Short hash of the requirements, part of the venv's directory name so a changed list gets a fresh venv. */
export const VENV_KEY = `${MLFLOW_VERSION}-${createHash('sha256').update(VENV_REQUIREMENTS.join('\n')).digest('hex').slice(0, 8)}`;

/** Directory of the cached virtual environment holding the pinned mlflow and tensorboard. */
export function venvDir(): string {
  const cache = process.env.MLFLOW_KIT_CACHE ?? join(homedir(), '.cache', 'mlflow-kit');
  return process.env.MLFLOW_KIT_VENV ?? join(cache, `venv-${VENV_KEY}`);
}

/** Path of the venv's python. */
export function venvPython(): string {
  return join(venvDir(), 'bin', 'python');
}

const VERSION_PROBE =
  'import flask_wtf, mlflow, tensorboard, psycopg2; print(mlflow.__version__, tensorboard.__version__, psycopg2.__version__.split()[0])';
const EXPECTED_VERSIONS = `${MLFLOW_VERSION} ${TENSORBOARD_VERSION} ${PSYCOPG2_VERSION}`;

function installedVersion(): string | undefined {
  try {
    return execFileSync(venvPython(), ['-c', VERSION_PROBE], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return undefined;
  }
}

/** Admin password of basic-auth test servers (MLflow 3.17 refuses its old default `password1234`). */
export const TEST_ADMIN_PASSWORD = 'mlflow-kit-Admin-Test-Pw-7f3c';

/** Creates the venv with the pinned mlflow once; later calls find it ready. */
export function ensureVenv(): void {
  if (installedVersion() === EXPECTED_VERSIONS) return;
  const dir = venvDir();
  mkdirSync(dirname(dir), { recursive: true });
  const python = process.env.MLFLOW_KIT_PYTHON ?? 'python3';
  process.stderr.write(
    `[mlflow-kit tests] installing ${VENV_REQUIREMENTS.join(' ')} into ${dir} (once)...\n`,
  );
  if (!existsSync(join(dir, 'bin', 'python')))
    execFileSync(python, ['-m', 'venv', dir], { stdio: 'inherit' });
  execFileSync(
    join(dir, 'bin', 'pip'),
    ['install', '-q', '--disable-pip-version-check', ...VENV_REQUIREMENTS],
    {
      stdio: 'inherit',
    },
  );
  if (installedVersion() !== EXPECTED_VERSIONS)
    throw new Error(`${VENV_REQUIREMENTS.join(' ')} did not install into ${dir}`);
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolvePort(address.port);
        else reject(new Error('no port'));
      });
    });
  });
}

/** A running `mlflow server` started by the tests. */
export interface MlflowServer {
  uri: string;
  port: number;
  dir: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

/** Options of {@link startMlflowServer}. */
export interface StartServerOptions {
  /** `basic-auth` starts the server with MLflow's basic authentication app. */
  appName?: 'basic-auth';
  /** A backend store URI other than a fresh SQLite database, such as a FileStore directory. */
  backendStoreUri?: string;
  /** Extra environment variables for the server process. */
  env?: Record<string, string>;
  /** Extra command-line arguments. */
  args?: string[];
}

/**
 * Starts `mlflow server` on 127.0.0.1 with a SQLite backend in a temporary directory and proxied
 * artifacts, and waits until it answers `/health`.
 */
export async function startMlflowServer(options: StartServerOptions = {}): Promise<MlflowServer> {
  ensureVenv();
  const dir = mkdtempSync(join(tmpdir(), 'mlflow-kit-server-'));
  const port = await freePort();
  const args = [
    '-m',
    'mlflow',
    'server',
    '--host',
    '127.0.0.1',
    '--port',
    String(port),
    '--backend-store-uri',
    options.backendStoreUri ?? `sqlite:///${join(dir, 'mlflow.db')}`,
    '--artifacts-destination',
    join(dir, 'mlartifacts'),
    '--workers',
    '1',
    ...(options.appName ? ['--app-name', options.appName] : []),
    ...(options.args ?? []),
  ];
  const env: Record<string, string> = { ...(process.env as Record<string, string>), ...options.env };
  if (options.appName === 'basic-auth') {
    const ini = join(dir, 'basic_auth.ini');
    writeFileSync(
      ini,
      [
        '[mlflow]',
        'default_permission = READ',
        `database_uri = sqlite:///${join(dir, 'basic_auth.db')}`,
        'admin_username = admin',
        `admin_password = ${TEST_ADMIN_PASSWORD}`,
        'authorization_function = mlflow.server.auth:authenticate_request_basic_auth',
        '',
      ].join('\n'),
    );
    env.MLFLOW_AUTH_CONFIG_PATH = ini;
    env.MLFLOW_AUTH_ADMIN_PASSWORD ??= TEST_ADMIN_PASSWORD;
    env.MLFLOW_FLASK_SERVER_SECRET_KEY = 'mlflow-kit-test-secret';
  }
  delete env.MLFLOW_TRACKING_URI;
  // Telemetry would try to reach the internet, which tests must not do.
  env.MLFLOW_DISABLE_TELEMETRY = 'true';
  // The job runner (huey consumers, several processes per server) serves features the tests do not use.
  env.MLFLOW_SERVER_ENABLE_JOB_EXECUTION ??= 'false';
  const child = spawn(venvPython(), args, {
    cwd: dir,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-20000);
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-20000);
  });
  const uri = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 180_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`mlflow server exited with ${child.exitCode}:\n${output}`);
    try {
      const response = await fetch(`${uri}/health`);
      if (response.ok) break;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) {
      killTree(child);
      throw new Error(`mlflow server did not answer /health within 180 s:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return {
    uri,
    port,
    dir,
    process: child,
    async stop() {
      await stopChild(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function killTree(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): void {
  if (child.pid === undefined || child.exitCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

/** Stops a process group started with `detached: true`, escalating to SIGKILL after 10 s. */
export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  killTree(child, 'SIGTERM');
  const timer = setTimeout(() => killTree(child, 'SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}
