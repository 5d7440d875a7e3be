import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, type MlflowServer, startMlflowServer } from './mlflow-env.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** A PostgreSQL cluster started by the tests in a temporary directory, listening on 127.0.0.1 only. */
export interface PostgresCluster {
  /** SQLAlchemy URI of its `mlflow` database with the psycopg2 driver, for `mlflow server --backend-store-uri`. */
  uri: string;
  port: number;
  /** Stops the cluster and deletes its directory. */
  stop(): Promise<void>;
}

/** The server binaries of the newest installed PostgreSQL, installing Debian's `postgresql` when missing. */
export function postgresBinDir(): string {
  const find = (): string | undefined => {
    const base = '/usr/lib/postgresql';
    if (!existsSync(base)) return undefined;
    const majors = readdirSync(base)
      .filter((name) => existsSync(join(base, name, 'bin', 'initdb')))
      .sort((a, b) => Number(b) - Number(a));
    return majors[0] === undefined ? undefined : join(base, majors[0], 'bin');
  };
  const found = find();
  if (found) return found;
  execFileSync('bash', [join(repoRoot, 'scripts/setup-postgres.sh')], { stdio: 'inherit' });
  const installed = find();
  if (!installed)
    throw new Error('scripts/setup-postgres.sh ran but no /usr/lib/postgresql/*/bin/initdb exists');
  return installed;
}

/**
 * Runs a PostgreSQL program as the `postgres` user when we are root (the server refuses to run as root),
 * as ourselves otherwise.
 */
function runAs(program: string, args: string[]): string {
  const asRoot = process.getuid?.() === 0;
  const [file, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', program, ...args]] : [program, args];
  return execFileSync(file, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/**
 * Creates a PostgreSQL cluster with `initdb` in a temporary directory, starts it on 127.0.0.1 and a free
 * port (trust authentication, no Unix socket outside its directory) and creates an empty `mlflow` database.
 */
export async function startPostgres(): Promise<PostgresCluster> {
  const bin = postgresBinDir();
  const dir = mkdtempSync(join(tmpdir(), 'mlflow-kit-postgres-'));
  if (process.getuid?.() === 0) execFileSync('chown', ['postgres:', dir]);
  chmodSync(dir, 0o700);
  const data = join(dir, 'data');
  const port = await freePort();
  runAs(join(bin, 'initdb'), ['-D', data, '-U', 'mlflow', '--auth=trust', '-E', 'UTF8', '--no-sync']);
  const options = `-h 127.0.0.1 -p ${port} -k ${dir} -c fsync=off -c max_connections=200`;
  runAs(join(bin, 'pg_ctl'), ['-D', data, '-l', join(dir, 'server.log'), '-o', options, '-w', 'start']);
  const stop = async (): Promise<void> => {
    try {
      runAs(join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  try {
    runAs(join(bin, 'createdb'), ['-h', '127.0.0.1', '-p', String(port), '-U', 'mlflow', 'mlflow']);
  } catch (error) {
    await stop();
    throw error;
  }
  return { uri: `postgresql+psycopg2://mlflow@127.0.0.1:${port}/mlflow`, port, stop };
}

/** An `mlflow server` whose backend store is a PostgreSQL cluster of its own; stop() stops both. */
export async function startPostgresMlflowServer(): Promise<MlflowServer> {
  const cluster = await startPostgres();
  let server: MlflowServer;
  try {
    server = await startMlflowServer({ backendStoreUri: cluster.uri });
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  return {
    ...server,
    async stop() {
      try {
        await server.stop();
      } finally {
        await cluster.stop();
      }
    },
  };
}
