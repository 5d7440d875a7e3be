import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DiagLogger, MlflowConfigError, setDiagLogger } from '@mlflow-kit/core';
import { afterEach, expect, it } from 'vitest';
import { SummaryWriter } from './summary-writer.js';

const dir = mkdtempSync(join(tmpdir(), 'mlflow-kit-tb-page-'));

afterEach(() => {
  setDiagLogger(undefined);
  rmSync(dir, { recursive: true, force: true });
});

function recordingLogger(lines: string[]): DiagLogger {
  const record = (message: string): void => {
    lines.push(message);
  };
  return { error: record, warn: record, info: record, debug: record };
}

it('refuses tee: true in a web page with an MlflowConfigError naming the setting: the event-file tee is Node-only', () => {
  let thrown: unknown;
  try {
    new SummaryWriter({ tee: true, enabled: false });
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(MlflowConfigError);
  expect((thrown as MlflowConfigError).setting).toBe('tee');
  expect((thrown as Error).message).toContain('the event-file tee is Node-only');
});

it('says once per option that event-file options are ignored, and writes no event file under logDir', async () => {
  const lines: string[] = [];
  setDiagLogger(recordingLogger(lines), 'info');
  const logDir = join(dir, 'page-run');
  for (let i = 0; i < 2; i++) {
    const writer = new SummaryWriter({ logDir, maxQueue: 5, flushSecs: 1, enabled: false });
    writer.addScalar('loss', 0.5, i);
    writer.addText('notes', 'hello', i);
    await writer.close();
  }
  expect(lines.filter((line) => line.includes('`maxQueue`'))).toHaveLength(1);
  expect(lines.filter((line) => line.includes('`flushSecs`'))).toHaveLength(1);
  expect(lines.filter((line) => line.includes('`filenameSuffix`'))).toHaveLength(0);
  expect(lines.filter((line) => line.includes(`logDir ${logDir} names the MLflow run`))).toHaveLength(1);
  expect(existsSync(logDir)).toBe(false);
});

it('throws at construction, naming trackingUri, when tracking is on in a page without a tracking URI', () => {
  expect(() => new SummaryWriter({ enabled: true })).toThrow(
    expect.objectContaining({ name: 'MlflowConfigError', setting: 'trackingUri' }),
  );
});
