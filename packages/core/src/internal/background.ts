// Work started inside `inBackground` (the run queue's sends, the spool's replay) is marked so that the REST
// transport sends it over connections that do not keep the process alive. A program that has finished its own
// work then reaches `beforeExit`, where the exit hooks wait the bounded time and spool the rest, instead of
// lingering until a stalled server answers or the request times out. Only Node has a process to keep alive:
// its transport installs the marker (an AsyncLocalStorage, see `http.ts`); elsewhere work is never marked,
// so that this module, shared with the browser entry, imports nothing from Node.

/** How background work is marked: {@link BackgroundMarker.run} marks `work` and all it starts. */
export interface BackgroundMarker {
  run<T>(work: () => T): T;
  active(): boolean;
}

let marker: BackgroundMarker | undefined;

/** Installs the marker (once, by the Node transport). */
export function setBackgroundMarker(next: BackgroundMarker): void {
  marker ??= next;
}

/** Runs `work` (and everything it starts) as background work: see {@link isBackground}. */
export function inBackground<T>(work: () => T): T {
  return marker ? marker.run(work) : work();
}

/** Whether the caller runs inside {@link inBackground}: its requests and retry waits must not keep the process alive. */
export function isBackground(): boolean {
  return marker?.active() ?? false;
}
