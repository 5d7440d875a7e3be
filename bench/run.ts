// `pnpm bench`: starts the pinned MLflow server (or uses MLFLOW_BENCH_TRACKING_URI), runs every benchmark
// against a baseline measured in the same run, prints a table and writes bench/results/latest.{json,md}.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
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
// The ingest benchmark starts its own SQLite and PostgreSQL servers; the others share this one.
const needsServer = only.length === 0 || only.some((name) => name !== 'ingest');
const server: MlflowServer | undefined =
  process.env.MLFLOW_BENCH_TRACKING_URI || !needsServer ? undefined : await startMlflowServer();
const trackingUri = process.env.MLFLOW_BENCH_TRACKING_URI ?? server?.uri ?? '';
const results: Record<string, Record<string, number>> = {};
try {
  const benches: [string, Bench | undefined][] = [
    ['core', benchCoreOverhead],
    ['tfjs', await optional('tfjs-overhead.ts', 'benchTfjsOverhead')],
    ['sync', await optional('sync-throughput.ts', 'benchSyncThroughput')],
    ['tensorboard', await optional('tensorboard-overhead.ts', 'benchTensorboard')],
    ['ingest', await optional('ingest-throughput.ts', 'benchIngest')],
    ['serve', await optional('serve-throughput.ts', 'benchServeThroughput')],
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
const date = new Date().toISOString();
const out = join(here, 'results');
mkdirSync(out, { recursive: true });

// `pnpm bench <name>` replaces only the sections it ran: the others stay as their last run left them, each
// with its own date and machine.
interface Section {
  date: string;
  machine: string;
  figures: Record<string, number>;
}
const latestJson = join(out, 'latest.json');
const sections: Record<string, Section> = {};
if (existsSync(latestJson)) {
  const previous = JSON.parse(readFileSync(latestJson, 'utf8')) as {
    date?: string;
    machine?: string;
    results?: Record<string, Record<string, number>>;
    sections?: Record<string, Section>;
  };
  for (const [name, figures] of Object.entries(previous.results ?? {}))
    sections[name] = previous.sections?.[name] ?? {
      date: previous.date ?? '',
      machine: previous.machine ?? '',
      figures,
    };
}
// A partial ingest run (BENCH_INGEST_PARTS) adds its rows to that section's others.
const partial = (name: string): boolean => name === 'ingest' && process.env.BENCH_INGEST_PARTS !== undefined;
for (const [name, figures] of Object.entries(results))
  sections[name] = {
    date,
    machine,
    figures: partial(name) ? { ...sections[name]?.figures, ...figures } : figures,
  };

const lines = [`# mlflow-kit benchmarks`, '', `Last run ${date} on ${machine}`, ''];
for (const [name, section] of Object.entries(sections)) {
  lines.push(
    `## ${name}`,
    '',
    `${section.date} on ${section.machine}`,
    '',
    '| measure | value |',
    '|---|---|',
  );
  for (const [measure, value] of Object.entries(section.figures)) {
    lines.push(`| ${measure} | ${Math.abs(value) >= 100 ? value.toFixed(0) : value.toFixed(4)} |`);
  }
  lines.push('');
}
const merged = Object.fromEntries(Object.entries(sections).map(([name, s]) => [name, s.figures]));
writeFileSync(latestJson, `${JSON.stringify({ date, machine, results: merged, sections }, null, 2)}\n`);
writeFileSync(join(out, 'latest.md'), `${lines.join('\n')}\n`);
console.log(lines.join('\n'));
