import { createPageRun } from '@mlflow-kit/core/internal';
import { SUBRUN_NAMES, type WriterPlatform } from './writer-platform.js';

/** The segments of a `/`-separated path, without empty and `.` segments. */
function segments(path: string): string[] {
  return path.split('/').filter((segment) => segment !== '' && segment !== '.');
}

/**
 * The writers in a web page: no disk, so no event files (the log directory only names the run and its key
 * prefixes), no working directory, and no exit to wait for (histograms are uploaded on `flush()`/`close()`).
 */
export const browserPlatform: WriterPlatform = {
  join: (...parts) => segments(parts.join('/')).join('/'),
  splitLogdir(logdir) {
    const parts = segments(logdir);
    const name = parts[parts.length - 1];
    if (name !== undefined && SUBRUN_NAMES.has(name) && parts.length > 1) {
      return { root: parts.slice(0, -1).join('/'), prefix: `${name}/` };
    }
    return { root: parts.join('/'), prefix: '' };
  },
  baseName: (path) => segments(path).pop() ?? path,
  hostname: () => (globalThis as { location?: { hostname?: string } }).location?.hostname || 'browser',
  openEvents: () => undefined,
  encodePng() {
    throw new Error('No event file is open in a web page, so no PNG is encoded for one.');
  },
  startRun: (options) => createPageRun(options, false),
  onIdle() {
    // A page never runs out of work the way a Node process does; flush() and close() upload instead.
  },
};
