import { setDiagLogger } from '@mlflow-kit/core';
import { afterEach, expect, it, vi } from 'vitest';
import { logConfig } from './log-config.js';

afterEach(() => {
  setDiagLogger(undefined);
  vi.restoreAllMocks();
});

it('logConfig with debug: true says on the console why nothing was logged', async () => {
  const debug = vi.spyOn(globalThis.console, 'debug').mockImplementation(() => {});
  await logConfig({ lr: 0.1 }, { debug: true });
  expect(debug).toHaveBeenCalledWith(
    '[mlflow-kit] logConfig: tracking is off, the config was validated and not logged.',
  );
});
