import { hostname } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { resolveSettings } from '@mlflow-kit/core';
import { createRecordingRun, encodePng } from '@mlflow-kit/core/internal';
import { EventFileWriter } from './event-file-writer.js';
import { SUBRUN_NAMES, type WriterPlatform } from './writer-platform.js';

/** The writers in Node: event files on disk, paths resolved against the working directory, `beforeExit`. */
export const nodePlatform: WriterPlatform = {
  join,
  splitLogdir(logdir) {
    const absolute = resolve(logdir);
    const name = basename(absolute);
    if (SUBRUN_NAMES.has(name) && dirname(absolute) !== absolute) {
      return { root: dirname(absolute), prefix: `${name}/` };
    }
    return { root: absolute, prefix: '' };
  },
  baseName: (path) => basename(path),
  hostname,
  openEvents: (logdir, options) => new EventFileWriter(logdir, options),
  encodePng,
  startRun: (options) => createRecordingRun(options, resolveSettings(options), process.env, false),
  onIdle(hook) {
    process.on('beforeExit', hook);
  },
};
