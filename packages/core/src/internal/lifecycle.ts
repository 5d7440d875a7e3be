import { contextState } from '../context.js';
import { diag } from '../diag.js';
import type { Run } from '../run.js';
import { resolveExitTimeoutMs } from '../settings.js';
import { globals } from './global.js';

type Closable = Run & {
  endWithin(status: 'FINISHED' | 'FAILED' | 'KILLED', flushTimeoutMs: number): Promise<void>;
};
const SIGNALS = ['SIGINT', 'SIGTERM'] as const;

/**
 * How long a signal or the end of the program waits for open runs to flush, in milliseconds. A bad
 * MLFLOW_KIT_EXIT_TIMEOUT was already refused by `startRun`; here, at exit, it falls back to 10 s.
 */
function exitTimeoutMs(): number {
  try {
    return resolveExitTimeoutMs();
  } catch {
    return 10_000;
  }
}

function endAll(status: 'FINISHED' | 'KILLED'): Promise<unknown> {
  const state = contextState();
  const runs = [...state.open] as Closable[];
  state.open.clear();
  removeSignalHandlers();
  const budget = exitTimeoutMs();
  // Most of the budget goes to sending queued data; the rest to recording the status, which matters most.
  const ending = Promise.allSettled(runs.map((run) => run.endWithin(status, budget * 0.8)));
  const timeout = new Promise((resolve) => setTimeout(resolve, budget).unref());
  return Promise.race([ending, timeout]);
}

function onSignal(signal: NodeJS.Signals): void {
  diag.info(
    `${signal}: ending open runs KILLED after sending their queued data (at most ${exitTimeoutMs() / 1000} s).`,
  );
  void endAll('KILLED').then(() => {
    // Re-raise so the program dies of the signal as it would have without us, unless it handles the
    // signal itself (then it decides when to exit).
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  });
}

function signalHandler(): (signal: NodeJS.Signals) => void {
  // Shared, so that every copy of the package adds and removes the same listener.
  return globals.part('core.signal-handler', () => onSignal);
}

function removeSignalHandlers(): void {
  for (const signal of SIGNALS) process.removeListener(signal, signalHandler());
}

/**
 * Tracks a recording run until it ends: runs still open when the program runs out of work end FINISHED
 * (as MLflow's `atexit` handler does), and SIGINT/SIGTERM end them KILLED, after a bounded wait for their
 * queued data. The signal handlers exist only while a run is open.
 */
export function trackOpenRun(run: Closable): void {
  const state = contextState();
  state.open.add(run);
  if (!state.exitHookInstalled) {
    state.exitHookInstalled = true;
    process.on('beforeExit', () => {
      // `beforeExit` fires again once this async work is done; by then nothing is open.
      if (state.open.size > 0) void endAll('FINISHED');
    });
  }
  const handler = signalHandler();
  for (const signal of SIGNALS) if (!process.listeners(signal).includes(handler)) process.on(signal, handler);
}

/** Stops tracking a run that has ended. */
export function untrackRun(run: Run): void {
  const state = contextState();
  state.open.delete(run as Closable);
  if (state.open.size === 0) removeSignalHandlers();
}
