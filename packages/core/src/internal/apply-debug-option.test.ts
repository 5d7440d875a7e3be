import { afterEach, describe, expect, it, vi } from 'vitest';
import { createClient } from '../client.js';
import { diag, setDiagLogger } from '../diag.js';
import { startRun, withRun } from '../start-run.js';
import { applyDebugOption } from './apply-debug-option.js';

function consoleDebug() {
  return vi.spyOn(globalThis.console, 'debug').mockImplementation(() => {});
}

afterEach(() => {
  setDiagLogger(undefined);
  vi.restoreAllMocks();
});

describe('debug: true', () => {
  it('sends debug-level diagnostics to the console', () => {
    const debug = consoleDebug();
    applyDebugOption(true, {});
    diag.debug('details');
    expect(debug).toHaveBeenCalledWith('[mlflow-kit] details');
  });

  it('falls back to MLFLOW_KIT_DEBUG, and an explicit false wins over it', () => {
    const debug = consoleDebug();
    applyDebugOption(false, { MLFLOW_KIT_DEBUG: '1' });
    diag.debug('hidden');
    expect(debug).not.toHaveBeenCalled();
    applyDebugOption(undefined, { MLFLOW_KIT_DEBUG: '1' });
    diag.debug('shown');
    expect(debug).toHaveBeenCalledWith('[mlflow-kit] shown');
  });

  it('ignores a malformed MLFLOW_KIT_DEBUG instead of throwing', () => {
    const debug = consoleDebug();
    expect(() => applyDebugOption(undefined, { MLFLOW_KIT_DEBUG: 'maybe' })).not.toThrow();
    diag.debug('hidden');
    expect(debug).not.toHaveBeenCalled();
  });

  it('is honoured by startRun and withRun with tracking off, which say why nothing is logged', async () => {
    const debug = consoleDebug();
    await startRun({ enabled: false, debug: true });
    expect(debug).toHaveBeenCalledWith(
      '[mlflow-kit] startRun: tracking is off (the enabled option); returning the no-op run.',
    );
    setDiagLogger(undefined);
    await withRun({ enabled: false, debug: true }, () => undefined);
    expect(debug).toHaveBeenLastCalledWith(
      '[mlflow-kit] withRun: tracking is off (the enabled option); returning the no-op run.',
    );
  });

  it('is honoured by createClient', () => {
    const debug = consoleDebug();
    createClient({ trackingUri: 'http://127.0.0.1:1', debug: true });
    diag.debug('client details');
    expect(debug).toHaveBeenCalledWith('[mlflow-kit] client details');
  });
});
