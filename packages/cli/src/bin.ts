#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { closeStores, MlflowApiError, MlflowKitError, redactText } from '@mlflow-kit/core';
import {
  type CommandIo,
  commandHelp,
  listHelp,
  parseCommand,
  suggestion,
  UsageError,
} from './internal/command-line.js';
import { COMMANDS } from './internal/commands.js';

/** Everything the command prints passes through core's redaction: run names, params, URIs, errors. */
const io: CommandIo = {
  out: (text) => process.stdout.write(redactText(text)),
  err: (text) => process.stderr.write(redactText(text)),
  columns: process.stdout.isTTY && process.stdout.columns ? process.stdout.columns : 80,
  stderrIsTty: process.stderr.isTTY === true,
};

/** The version in this package's package.json (`../package.json` from both `src/bin.ts` and `dist/bin.js`). */
function packageVersion(): string {
  const manifest: { version: string } = JSON.parse(
    readFileSync(new URL('../package.json', import.meta.url), 'utf8'),
  );
  return manifest.version;
}

const GROUPS = [...new Set(COMMANDS.map((command) => command.path[0] ?? ''))];

const MAIN_HELP = listHelp(
  'Usage: mlflow-kit <command> [options]\n       mlflow-kit --version\n       mlflow-kit help <command>',
  COMMANDS,
  [
    '',
    'Every command takes --help. Read commands take --json.',
    'The tracking URI is --tracking-uri, else MLFLOW_TRACKING_URI, else ./mlruns. Credentials come from',
    'MLFLOW_TRACKING_USERNAME/MLFLOW_TRACKING_PASSWORD or MLFLOW_TRACKING_TOKEN.',
  ],
);

function groupHelp(group: string): string {
  return listHelp(
    `Usage: mlflow-kit ${group} <command> [options]`,
    COMMANDS.filter((command) => command.path[0] === group),
  );
}

/** The command `words` start with, and the words after it; a usage error naming the fix otherwise. */
function findCommand(words: string[]): { command: (typeof COMMANDS)[number]; rest: string[] } | string {
  const [first = '', second] = words;
  if (!GROUPS.includes(first)) {
    throw new UsageError(`unknown command ${JSON.stringify(first)}.${suggestion(first, GROUPS)}`);
  }
  const single = COMMANDS.find((command) => command.path.length === 1 && command.path[0] === first);
  if (single) return { command: single, rest: words.slice(1) };
  if (second === undefined || second === '--help' || second === '-h') return first;
  const subcommands = COMMANDS.filter((command) => command.path[0] === first).map(
    (command) => command.path[1] ?? '',
  );
  const command = COMMANDS.find((candidate) => candidate.path[0] === first && candidate.path[1] === second);
  if (!command) {
    throw new UsageError(
      `unknown command ${JSON.stringify(`${first} ${second}`)}: ${first} has ${subcommands.join(', ')}.${suggestion(second, subcommands)}`,
      `mlflow-kit ${first} --help`,
    );
  }
  return { command, rest: words.slice(2) };
}

async function main(argv: string[]): Promise<number> {
  const [first] = argv;
  if (first === '--version' || first === '-V') {
    io.out(`${packageVersion()}\n`);
    return 0;
  }
  if (first === undefined) {
    io.err(`${MAIN_HELP}\n`);
    return 2;
  }
  if (first === '--help' || first === '-h') {
    io.out(`${MAIN_HELP}\n`);
    return 0;
  }
  if (first === 'help') {
    if (argv.length === 1) {
      io.out(`${MAIN_HELP}\n`);
      return 0;
    }
    const found = findCommand(argv.slice(1));
    io.out(`${typeof found === 'string' ? groupHelp(found) : commandHelp(found.command)}\n`);
    return 0;
  }
  if (first.startsWith('-'))
    throw new UsageError(`unknown option ${JSON.stringify(first)} before the command.`);
  const found = findCommand(argv);
  if (typeof found === 'string') {
    // `mlflow-kit runs` alone is a usage error; `mlflow-kit runs --help` asks for the group's help.
    const asked = argv[1] === '--help' || argv[1] === '-h';
    (asked ? io.out : io.err)(`${groupHelp(found)}\n`);
    return asked ? 0 : 2;
  }
  const parsed = parseCommand(found.command, found.rest);
  if (!parsed) {
    io.out(`${commandHelp(found.command)}\n`);
    return 0;
  }
  return found.command.run(parsed.values, parsed.positionals, io);
}

function describe(error: unknown): string {
  if (MlflowApiError.isInstance(error) && error.status === undefined) {
    return `${error.message}\nThe server did not answer: check the tracking URI and the server with \`mlflow-kit doctor\`.`;
  }
  if (MlflowKitError.isInstance(error)) return error.message;
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}

main(process.argv.slice(2))
  .then(
    (code) => code,
    (error: unknown) => {
      if (error instanceof UsageError) {
        io.err(`mlflow-kit: ${error.message}\nRun \`${error.helpCommand}\` for usage.\n`);
        return 2;
      }
      io.err(`mlflow-kit: ${describe(error)}\n`);
      return 1;
    },
  )
  .then(async (code) => {
    await closeStores().catch(() => undefined);
    process.exitCode = code;
  });
