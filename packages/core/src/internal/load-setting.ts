import { MlflowConfigError } from '../errors.js';

/** What {@link loadSetting} needs to read one setting. */
export interface LoadSettingOptions<T> {
  /** The value given as an option, which wins when set. */
  option: T | undefined;
  /** The option's name, for messages (`requestTimeoutSeconds`). */
  optionName: string;
  /** The environment variable read when the option is not set (`MLFLOW_HTTP_REQUEST_TIMEOUT`). */
  variable: string;
  /** The environment to read. */
  env: Record<string, string | undefined>;
  /** Turns the variable's text into a value, or `undefined` when the text is not valid. */
  parse: (text: string) => T | undefined;
  /** Whether a value (from the option, or parsed) is acceptable. @defaultValue every value */
  check?: (value: T) => boolean;
  /** What a valid value looks like, for messages: `a whole number of at least 0`. */
  expected: string;
}

/**
 * Reads one setting: the option when given, else the environment variable (blank counts as unset), else
 * `undefined` for the caller's default. A value that is not valid throws {@link MlflowConfigError} naming
 * both the option and the variable, and what to put there, never the value itself (it may be a secret).
 */
export function loadSetting<T>(options: LoadSettingOptions<T>): T | undefined {
  const { option, optionName, variable, env, parse, check, expected } = options;
  if (option !== undefined) {
    if (check === undefined || check(option)) return option;
    throw new MlflowConfigError(
      `Option \`${optionName}\` is not valid: pass ${expected} (or leave it out and set ${variable}).`,
      { setting: optionName },
    );
  }
  const text = env[variable];
  if (text === undefined || text.trim() === '') return undefined;
  const parsed = parse(text.trim());
  if (parsed !== undefined && (check === undefined || check(parsed))) return parsed;
  throw new MlflowConfigError(
    `The environment variable ${variable} is not valid: set it to ${expected}, or unset it (or pass \`${optionName}\`, which wins).`,
    { setting: variable },
  );
}

/** Parses a number from a setting's text, or `undefined` when it is not one. */
export function parseNumber(text: string): number | undefined {
  const parsed = Number(text);
  return Number.isFinite(parsed) ? parsed : undefined;
}
