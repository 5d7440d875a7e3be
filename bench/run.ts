// `pnpm bench`: starts the pinned MLflow server (or uses MLFLOW_BENCH_TRACKING_URI), runs every benchmark
// against a baseline measured in the same run, prints a table and writes bench/results/latest.{json,md}.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { MLFLOW_VERSION, type MlflowServer, startMlflowServer } from '../test/setup/mlflow-env.js';
import { benchCoreOverhead } from './core-overhead.js';

const here = dirname(fileURLToPath(import.meta.url));
type Bench = (opts: { trackingUri: string }) => Promise<Record<string, number>>;

async function optional(file: string, name: string): Promise<Bench | undefined> {
  const path = join(here, file);
  if (!existsSync(path)) return undefined;
  const module = (await import(pathToFileURL(path).href)) as Record<string, Bench>;
  return module[name];
}

const only = process.argv.slice(2);
const server: MlflowServer | undefined = process.env.MLFLOW_BENCH_TRACKING_URI
  ? undefined
  : await startMlflowServer();
const trackingUri = process.env.MLFLOW_BENCH_TRACKING_URI ?? server!.uri;
const results: Record<string, Record<string, number>> = {};
try {
  const benches: [string, Bench | undefined][] = [
    ['core', benchCoreOverhead],
    ['tfjs', await optional('tfjs-overhead.ts', 'benchTfjsOverhead')],
    ['sync', await optional('sync-throughput.ts', 'benchSyncThroughput')],
    ['tensorboard', await optional('tensorboard-overhead.ts', 'benchTensorboard')],
  ];
  for (const [name, bench] of benches) {
    if (!bench || (only.length > 0 && !only.includes(name))) continue;
    process.stderr.write(`running ${name}...\n`);
    results[name] = await bench({ trackingUri });
  }
} finally {
  await server?.stop();
}

const machine = `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}, MLflow ${MLFLOW_VERSION}`;
const lines = [`# mlflow-kit benchmarks`, '', `${new Date().toISOString()} on ${machine}`, ''];
for (const [name, figures] of Object.entries(results)) {
  lines.push(`## ${name}`, '', '| measure | value |', '|---|---|');
  for (const [measure, value] of Object.entries(figures)) {
    lines.push(`| ${measure} | ${Math.abs(value) >= 100 ? value.toFixed(0) : value.toFixed(4)} |`);
  }
  lines.push('');
}
const out = join(here, 'results');
mkdirSync(out, { recursive: true });
writeFileSync(
  join(out, 'latest.json'),
  `${JSON.stringify({ date: new Date().toISOString(), machine, results }, null, 2)}\n`,
);
writeFileSync(join(out, 'latest.md'), `${lines.join('\n')}\n`);
console.log(lines.join('\n'));
