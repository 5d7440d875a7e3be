import { globals, reportGlobalsTo } from './internal/global.js';
import { redactError, redactText } from './redact.js';

/** Severity of a diagnostic message. */
export type DiagLevel = 'error' | 'warn' | 'info' | 'debug';

/** Receives mlflow-kit's diagnostics. Any object with these four methods, `console` included. */
export interface DiagLogger {
  error(message: string, ...args: unknown[]): void;
  warn(message: string, ...args: unknown[]): void;
  info(message: string, ...args: unknown[]): void;
  debug(message: string, ...args: unknown[]): void;
}

const LEVELS: Record<DiagLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };

interface DiagState {
  logger: DiagLogger | undefined;
  level: DiagLevel;
  reported: Set<string>;
}

function state(): DiagState {
  return globals.part<DiagState>('core.diag', () => ({
    logger: undefined,
    level: 'warn',
    reported: new Set(),
  }));
}

function emit(level: DiagLevel, message: string, args: unknown[]): void {
  const current = state();
  if (!current.logger || LEVELS[level] > LEVELS[current.level]) return;
  try {
    // Diagnostics leave the process like params do: credentials in them are redacted, errors included.
    current.logger[level](
      `[mlflow-kit] ${redactText(message)}`,
      ...args.map((arg) =>
        typeof arg === 'string' ? redactText(arg) : arg instanceof Error ? redactError(arg) : arg,
      ),
    );
  } catch {
    // A broken logger must never break the host program.
  }
}

/**
 * mlflow-kit's diagnostic channel. Silent until {@link setDiagLogger} is called or a run is started with
 * `debug: true`.
 *
 * @example
 * ```ts
 * import { setDiagLogger } from '@mlflow-kit/core';
 * setDiagLogger(console, 'info');
 * ```
 */
export const diag = {
  /** Something failed and data may be affected. */
  error: (message: string, ...args: unknown[]): void => emit('error', message, args),
  /** Something unexpected that mlflow-kit worked around. */
  warn: (message: string, ...args: unknown[]): void => emit('warn', message, args),
  /** Progress a user may want to see (run links, flush summaries). */
  info: (message: string, ...args: unknown[]): void => emit('info', message, args),
  /** Details for debugging mlflow-kit itself. */
  debug: (message: string, ...args: unknown[]): void => emit('debug', message, args),
  /**
   * Reports `message` at `level` only the first time `id` is seen in this process, so a failure that
   * repeats on every batch is reported once.
   */
  once(id: string, level: DiagLevel, message: string, ...args: unknown[]): void {
    const { reported } = state();
    if (reported.has(id)) return;
    reported.add(id);
    emit(level, message, args);
  },
};

reportGlobalsTo(diag);

/**
 * Sets the logger that receives mlflow-kit's diagnostics, and the most verbose level passed to it.
 * Pass `undefined` to silence diagnostics again.
 *
 * @param logger - where messages go, for example `console`.
 * @param level - the most verbose level to pass on. @defaultValue `'warn'`
 */
export function setDiagLogger(logger: DiagLogger | undefined, level: DiagLevel = 'warn'): void {
  const current = state();
  current.logger = logger;
  current.level = level;
}

/** Whether a diag logger is set. Used to skip building expensive messages. */
export function hasDiagLogger(): boolean {
  return state().logger !== undefined;
}
