import { AsyncLocalStorage } from 'node:async_hooks';

// Work started inside `inBackground` (the run queue's sends, the spool's replay) is marked so that the REST
// transport sends it over connections that do not keep the process alive. A program that has finished its own
// work then reaches `beforeExit`, where the exit hooks wait the bounded time and spool the rest, instead of
// lingering until a stalled server answers or the request times out.
const background = new AsyncLocalStorage<true>();

/** Runs `work` (and everything it starts) as background work: see {@link isBackground}. */
export function inBackground<T>(work: () => T): T {
  return background.run(true, work);
}

/** Whether the caller runs inside {@link inBackground}: its requests and retry waits must not keep the process alive. */
export function isBackground(): boolean {
  return background.getStore() === true;
}
