import { diag, setDiagLogger } from '@mlflow-kit/core';
import * as tf from '@tensorflow/tfjs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { autolog } from './autolog.js';
import { mlflowCallback } from './callback.js';

afterEach(() => {
  setDiagLogger(undefined);
  vi.restoreAllMocks();
});

describe('debug: true in the tfjs entry points', () => {
  it.each([
    ['mlflowCallback', () => mlflowCallback({ enabled: false, debug: true })],
    ['autolog', () => autolog({ tf, enabled: false, debug: true })()],
  ])('%s sends debug-level diagnostics to the console', (_name, call) => {
    const debug = vi.spyOn(globalThis.console, 'debug').mockImplementation(() => {});
    call();
    diag.debug('tfjs details');
    expect(debug).toHaveBeenCalledWith('[mlflow-kit] tfjs details');
  });
});
