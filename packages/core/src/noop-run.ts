import type { Run } from './run.js';

const resolved = Promise.resolve();
const nothing = (): void => {};
const nothingAsync = (): Promise<void> => resolved;

/**
 * The run every API returns while tracking is off: a frozen object whose calls do nothing and return at
 * once. It opens no connection, starts no timer and writes no file.
 */
export const NOOP_RUN: Run = Object.freeze({
  runId: '',
  experimentId: '',
  runName: '',
  artifactUri: '',
  isRecording: false,
  url: undefined,
  parentRunId: undefined,
  logParam: nothing,
  logParams: nothing,
  logMetric: nothing,
  logMetrics: nothing,
  setTag: nothing,
  setTags: nothing,
  logArtifact: nothingAsync,
  logArtifacts: nothingAsync,
  logBytes: nothingAsync,
  logText: nothingAsync,
  logDict: nothingAsync,
  logTable: nothingAsync,
  logImage: nothingAsync,
  logInputs: nothingAsync,
  flush: nothingAsync,
  end: nothingAsync,
});
