import { contextState } from '../context.js';
import { diag } from '../diag.js';
import type { Run } from '../run.js';
import { globals } from './global.js';
import { onNoOpenRuns } from './open-runs.js';
import { exitTimeoutMs } from './spool-settings.js';

type EndStatus = 'FINISHED' | 'FAILED' | 'KILLED';
type Closable = Run & {
  endWithin(status: EndStatus, flushTimeoutMs?: number): Promise<void>;
  spoolAtExit?(status: EndStatus): void;
};
const SIGNALS = ['SIGINT', 'SIGTERM'] as const;

function exitBudgetMs(): number {
  try {
    return exitTimeoutMs();
  } catch (error) {
    // Checked when a run starts; a value changed since must not break the exit.
    diag.error(error instanceof Error ? error.message : String(error));
    return 5000;
  }
}

// Shared by every copy of the package: whichever copy saw the crash, each records FAILED.
function crashState(): { crashed: boolean } {
  return globals.part('core.crash', () => ({ crashed: false }));
}

/** Writes what the open runs have not delivered, and their status, to the spool: synchronous, for exits. */
function spoolOpenRuns(status: EndStatus): void {
  for (const run of [...contextState().open] as Closable[]) {
    try {
      run.spoolAtExit?.(status);
    } catch (error) {
      diag.error(
        `Could not spool run ${run.runId}: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }
}

// Ends every open run within the exit budget; what is not done by then goes to the spool.
async function endAll(status: EndStatus): Promise<void> {
  const runs = [...contextState().open] as Closable[];
  const budget = exitBudgetMs();
  // Most of the budget goes to sending queued data; the rest to recording the status.
  const ending = Promise.allSettled(runs.map((run) => run.endWithin(status, budget * 0.8)));
  let timer: ReturnType<typeof setTimeout> | undefined;
  // A ref'd timer: the queues' requests do not keep the process alive (background work), so this wait does,
  // for at most the budget.
  const timeout = new Promise((resolve) => {
    timer = setTimeout(resolve, budget);
  });
  await Promise.race([ending, timeout]);
  clearTimeout(timer);
  spoolOpenRuns(status);
}

function onSignal(signal: NodeJS.Signals): void {
  diag.info(
    `${signal}: ending open runs KILLED (waiting at most ${exitBudgetMs() / 1000} s for the server).`,
  );
  removeSignalHandlers();
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

function installExitHooks(): void {
  const state = contextState();
  if (state.exitHookInstalled) return;
  state.exitHookInstalled = true;
  let ending = false;
  process.on('beforeExit', () => {
    // `beforeExit` fires again once this async work is done; by then nothing is open.
    if (state.open.size === 0 || ending) return;
    ending = true;
    void endAll('FINISHED').then(() => {
      ending = false;
      // Only our own unanswered requests can keep the loop alive now: the program never lingers past the bound.
      if (state.open.size > 0) process.exit(process.exitCode ?? 0);
    });
  });
  // The monitor observes uncaught exceptions and unhandled rejections without changing how the process
  // reacts to them; the exit that follows records FAILED.
  process.on('uncaughtExceptionMonitor', () => {
    crashState().crashed = true;
  });
  // process.exit(), a crash, or the end of a program whose runs could not end in time: only synchronous
  // work runs here, so what is left goes to the spool.
  process.on('exit', (code) => {
    if (state.open.size === 0) return;
    spoolOpenRuns(crashState().crashed || code !== 0 ? 'FAILED' : 'FINISHED');
  });
}

/**
 * Tracks a recording run until it ends: runs still open when the program runs out of work end FINISHED (as
 * MLflow's `atexit` handler does), SIGINT/SIGTERM end them KILLED, an uncaught exception or unhandled
 * rejection FAILED, and `process.exit(n)` FINISHED for 0 and FAILED otherwise — each after a bounded wait
 * for queued data, the rest going to the spool. The signal handlers exist only while a run is open.
 */
export function trackOpenRun(run: Closable): void {
  const state = contextState();
  state.open.add(run);
  installExitHooks();
  onNoOpenRuns(removeSignalHandlers);
  const handler = signalHandler();
  for (const signal of SIGNALS) if (!process.listeners(signal).includes(handler)) process.on(signal, handler);
}
