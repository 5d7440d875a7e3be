import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setDiagLogger } from '@mlflow-kit/core';
import { afterEach, expect, it, vi } from 'vitest';
import { SummaryWriter } from './summary-writer.js';

const dir = mkdtempSync(join(tmpdir(), 'mlflow-kit-tb-debug-'));

afterEach(() => {
  setDiagLogger(undefined);
  vi.restoreAllMocks();
  rmSync(dir, { recursive: true, force: true });
});

it('a SummaryWriter with debug: true says on the console why nothing goes to MLflow', async () => {
  const debug = vi.spyOn(globalThis.console, 'debug').mockImplementation(() => {});
  const logDir = join(dir, 'run-a');
  const writer = new SummaryWriter({ logDir, enabled: false, debug: true });
  writer.addScalar('loss', 0.5, 1);
  await writer.close();
  expect(debug).toHaveBeenCalledWith(
    `[mlflow-kit] @mlflow-kit/tensorboard: tracking is off and no run is active; ${logDir} gets TensorBoard files only.`,
  );
});
