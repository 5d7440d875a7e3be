import type { AsyncLocalStorage } from 'node:async_hooks';
import { globals } from './internal/global.js';
import type { Run } from './run.js';

const PART = 'core.context';

/** Process-wide state shared by every compatible copy of the package (a part of the global registry). */
export interface ContextState {
  /** Created on the first recording run, so that tracking off never enables async hooks. */
  storage: AsyncLocalStorage<Run> | undefined;
  /** Runs started with `startRun`, innermost last, as MLflow's fluent run stack. */
  stack: Run[];
  /** Recording runs not yet ended, flushed and ended at process exit. */
  open: Set<
    Run & { endWithin(status: 'FINISHED' | 'FAILED' | 'KILLED', flushTimeoutMs: number): Promise<void> }
  >;
  exitHookInstalled: boolean;
}

/** The shared context state. */
export function contextState(): ContextState {
  return globals.part<ContextState>(PART, () => ({
    storage: undefined,
    stack: [],
    open: new Set(),
    exitHookInstalled: false,
  }));
}

/**
 * The run active here: the one of the enclosing `withRun` callback, else the innermost run started with
 * `startRun` and not yet ended, else `undefined`. Runs of tracking-off calls are never active.
 *
 * @example
 * ```ts
 * getActiveRun()?.logMetric('loss', 0.1);
 * ```
 */
export function getActiveRun(): Run | undefined {
  // Reads the slot without creating it, so that asking costs nothing while tracking is off.
  const state = globals.get<ContextState>(PART);
  if (!state) return undefined;
  return state.storage?.getStore() ?? state.stack[state.stack.length - 1];
}
