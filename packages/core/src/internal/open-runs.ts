import { contextState } from '../context.js';
import type { Run } from '../run.js';
import { globals } from './global.js';

/** What runs when the last open run ends (Node's lifecycle removes its signal handlers then). */
function idleListeners(): Set<() => void> {
  return globals.part('core.open-runs-idle', () => new Set<() => void>());
}

/** Calls `listener` each time the last open run ends. */
export function onNoOpenRuns(listener: () => void): void {
  idleListeners().add(listener);
}

/** Stops tracking a run that has ended. */
export function untrackRun(run: Run): void {
  const state = contextState();
  state.open.delete(run as never);
  if (state.open.size === 0) for (const listener of idleListeners()) listener();
}
