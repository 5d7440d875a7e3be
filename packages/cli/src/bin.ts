#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { MlflowKitError, redactText } from '@mlflow-kit/core';
import { formatDoctorReport, runDoctor } from './doctor.js';
import { formatRunsTable, listRuns } from './runs.js';
import { formatSyncSummary, syncLocalRuns } from './sync.js';

/** Everything the command prints passes through core's redaction: run names, params, URIs, errors. */
function writeOut(text: string): void {
  process.stdout.write(redactText(text));
}

function writeErr(text: string): void {
  process.stderr.write(redactText(text));
}

const USAGE = `Usage: mlflow-kit <command> [options]
       mlflow-kit --version

Commands:
  sync [dir] --to <tracking-uri>   Upload every run of a local store (default ./mlruns) to a tracking server.
                                   Idempotent and resumable: run it again to upload only what is new.
      --to <uri>                   The server, http(s)://host:port (default: MLFLOW_TRACKING_URI)
      --concurrency <n>            Runs uploaded at once (default 4)
      --json                       Print the summary as JSON
      --quiet                      No progress bar
  doctor                           Check the configuration: tracking URI, tracking on, server reachable,
                                   credentials, server version, artifact proxy.
      --tracking-uri <uri>         Check this URI instead of MLFLOW_TRACKING_URI
      --json                       Print the report as JSON
  runs list                        List the runs of the configured store, newest first.
      --experiment <name>          Only this experiment
      --tracking-uri <uri>         Use this URI instead of MLFLOW_TRACKING_URI
      --max-results <n>            At most n runs (default 1000)
      --json                       Print JSON

Credentials come from MLFLOW_TRACKING_USERNAME/MLFLOW_TRACKING_PASSWORD or MLFLOW_TRACKING_TOKEN.`;

/** The version in this package's package.json (`../package.json` from both `src/bin.ts` and `dist/bin.js`). */
function packageVersion(): string {
  const manifest: { version: string } = JSON.parse(
    readFileSync(new URL('../package.json', import.meta.url), 'utf8'),
  );
  return manifest.version;
}

function fail(message: string): never {
  writeErr(`mlflow-kit: ${message}\n`);
  process.exit(2);
}

function positiveInteger(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1)
    fail(`${name} must be a whole number of at least 1, not ${JSON.stringify(value)}`);
  return number;
}

async function sync(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      to: { type: 'string' },
      concurrency: { type: 'string' },
      json: { type: 'boolean', default: false },
      quiet: { type: 'boolean', default: false },
    },
  });
  if (positionals.length > 1)
    fail(`sync takes one directory, got ${positionals.length}: ${positionals.join(' ')}`);
  const to = values.to ?? process.env.MLFLOW_TRACKING_URI;
  if (!to) fail('sync needs a destination: pass --to http(s)://host:port (or set MLFLOW_TRACKING_URI).');
  const concurrency = positiveInteger('--concurrency', values.concurrency);
  const summary = await syncLocalRuns({
    from: positionals[0] ?? './mlruns',
    to,
    ...(concurrency !== undefined ? { concurrency } : {}),
    ...(values.quiet ? {} : { progressStream: process.stderr }),
  });
  writeOut(values.json ? `${JSON.stringify(summary)}\n` : `${formatSyncSummary(summary)}\n`);
  return summary.failed > 0 ? 1 : 0;
}

async function doctor(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { 'tracking-uri': { type: 'string' }, json: { type: 'boolean', default: false } },
  });
  const report = await runDoctor(
    values['tracking-uri'] !== undefined ? { trackingUri: values['tracking-uri'] } : {},
  );
  writeOut(values.json ? `${JSON.stringify(report)}\n` : `${formatDoctorReport(report)}\n`);
  return report.ok ? 0 : 1;
}

async function runs(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== 'list') fail(`unknown runs command ${JSON.stringify(sub ?? '')}: use \`mlflow-kit runs list\``);
  const { values } = parseArgs({
    args: rest,
    options: {
      experiment: { type: 'string' },
      'tracking-uri': { type: 'string' },
      'max-results': { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  const maxResults = positiveInteger('--max-results', values['max-results']);
  const listed = await listRuns({
    ...(values['tracking-uri'] !== undefined ? { trackingUri: values['tracking-uri'] } : {}),
    ...(values.experiment !== undefined ? { experimentName: values.experiment } : {}),
    ...(maxResults !== undefined ? { maxResults } : {}),
  });
  writeOut(values.json ? `${JSON.stringify(listed)}\n` : `${formatRunsTable(listed)}\n`);
  return 0;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  switch (command) {
    case 'sync':
      return sync(args);
    case 'doctor':
      return doctor(args);
    case 'runs':
      return runs(args);
    case '--version':
      process.stdout.write(`${packageVersion()}\n`);
      return 0;
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      writeOut(`${USAGE}\n`);
      return command === undefined ? 2 : 0;
    default:
      fail(`unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof TypeError && (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS'))
      fail(error.message);
    writeErr(
      `mlflow-kit: ${MlflowKitError.isInstance(error) ? error.message : error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exitCode = 1;
  },
);
