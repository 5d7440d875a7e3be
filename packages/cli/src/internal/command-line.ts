import { parseArgs } from 'node:util';

/** One option of a command, as `util.parseArgs` takes it plus what `--help` prints. */
export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
  /** The value's name in the help, such as `<uri>`. */
  value?: string;
  description: string;
}

/** Parsed options: strings, booleans and repeated strings. */
export type OptionValues = Record<string, string | boolean | string[] | undefined>;

/** Where a command writes. */
export interface CommandIo {
  out(text: string): void;
  err(text: string): void;
  /** Width of the terminal standard output goes to (80 when it is not a terminal). */
  columns: number;
  stderrIsTty: boolean;
}

/** One command (`runs show`), its help and what it does. */
export interface CommandSpec {
  /** The words that name it, such as `['runs', 'show']`. */
  path: string[];
  /** Positional arguments in the usage line, such as `<run-id> [path]`. */
  args?: string;
  /** Fewest and most positional arguments. */
  positionals: [min: number, max: number];
  summary: string;
  description?: string;
  options: Record<string, OptionSpec>;
  examples?: string[];
  run(values: OptionValues, positionals: string[], io: CommandIo): Promise<number>;
}

/** A mistake in how the command was called: exit code 2, and a pointer to the command's help. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly helpCommand = 'mlflow-kit --help',
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

/** The exit codes every command uses. */
export const EXIT_CODES = `Exit codes: 0 success · 1 failure (server error, missing run/experiment/model, failed check) · 2 usage error.`;

const HELP_OPTION: OptionSpec = { type: 'boolean', short: 'h', description: 'Show this help' };

function optionLabel(name: string, spec: OptionSpec): string {
  const flag = `${spec.short ? `-${spec.short}, ` : ''}--${name}`;
  return spec.type === 'string' ? `${flag} ${spec.value ?? '<value>'}` : flag;
}

/** The help text of one command. */
export function commandHelp(command: CommandSpec): string {
  const name = `mlflow-kit ${command.path.join(' ')}`;
  const options = { ...command.options, help: HELP_OPTION };
  const labels = Object.entries(options).map(([key, spec]) => [optionLabel(key, spec), spec] as const);
  const width = Math.max(...labels.map(([label]) => label.length));
  const lines = [
    `Usage: ${name}${command.args ? ` ${command.args}` : ''} [options]`,
    '',
    command.summary,
    ...(command.description ? ['', command.description] : []),
    '',
    'Options:',
    ...labels.map(
      ([label, spec]) =>
        `  ${label.padEnd(width)}  ${spec.description}${spec.multiple ? ' (repeatable)' : ''}`,
    ),
  ];
  if (command.examples?.length)
    lines.push('', 'Examples:', ...command.examples.map((example) => `  ${example}`));
  lines.push('', EXIT_CODES);
  return lines.join('\n');
}

/** The help of a group (`mlflow-kit runs`) or of the whole tool: its commands with their summaries. */
export function listHelp(title: string, commands: CommandSpec[], footer: string[] = []): string {
  const labels = commands.map((command) => [
    `${command.path.join(' ')}${command.args ? ` ${command.args}` : ''}`,
    command.summary,
  ]);
  const width = Math.max(...labels.map(([label]) => (label ?? '').length));
  return [
    title,
    '',
    'Commands:',
    ...labels.map(([label, summary]) => `  ${(label ?? '').padEnd(width)}  ${summary}`),
    ...footer,
    '',
    EXIT_CODES,
  ].join('\n');
}

/** Parses a command's arguments with `util.parseArgs`; `undefined` means `--help` was asked for. */
export function parseCommand(
  command: CommandSpec,
  args: string[],
): { values: OptionValues; positionals: string[] } | undefined {
  const helpCommand = `mlflow-kit ${command.path.join(' ')} --help`;
  const options = Object.fromEntries(
    Object.entries({ ...command.options, help: HELP_OPTION }).map(([key, spec]) => [
      key,
      {
        type: spec.type,
        ...(spec.short ? { short: spec.short } : {}),
        ...(spec.multiple ? { multiple: true } : {}),
      },
    ]),
  );
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (error) {
    const message =
      error instanceof Error ? error.message.replace(/\. To specify a positional.*$/s, '.') : String(error);
    throw new UsageError(message, helpCommand);
  }
  const values = parsed.values as OptionValues;
  if (values.help) return undefined;
  const [min, max] = command.positionals;
  const name = `mlflow-kit ${command.path.join(' ')}`;
  if (parsed.positionals.length < min) {
    throw new UsageError(
      `missing ${command.args ?? 'arguments'}: the usage is \`${name} ${command.args ?? ''}\``,
      helpCommand,
    );
  }
  if (parsed.positionals.length > max) {
    throw new UsageError(
      `${name} takes ${max === 0 ? 'no arguments' : `at most ${max} (${command.args})`}, got: ${parsed.positionals.join(' ')}`,
      helpCommand,
    );
  }
  return { values, positionals: parsed.positionals };
}

/** A whole number of at least 1 from option `name`, or a {@link UsageError}. */
export function positiveInteger(
  name: string,
  value: string | boolean | string[] | undefined,
  helpCommand: string,
): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (typeof value !== 'string' || !Number.isInteger(number) || number < 1) {
    throw new UsageError(
      `--${name} must be a whole number of at least 1, not ${JSON.stringify(value)}`,
      helpCommand,
    );
  }
  return number;
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0] ?? 0;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j] ?? 0;
      row[j] = Math.min((row[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length] ?? 0;
}

/** ` Did you mean "x"?` for the closest of `choices`, or nothing when none is close. */
export function suggestion(word: string, choices: string[]): string {
  const best = choices
    .map((choice) => ({ choice, score: distance(word, choice) }))
    .sort((a, b) => a.score - b.score)[0];
  return best && best.score <= Math.max(2, Math.floor(word.length / 3))
    ? ` Did you mean "${best.choice}"?`
    : '';
}
