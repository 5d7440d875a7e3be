import { join } from 'node:path';
import type { LogBatch, Metric, Page } from '../types.js';
import { metricLinesByKey, parseMetricLines } from './local-format.js';
import { appendLines, createFileExclusive, readTextIfExists, writeFileAtomic } from './local-fs.js';
import {
  checkLocalKey,
  type LocalLayout,
  localApiError,
  readKeyFiles,
  updateMetaFile,
} from './local-layout.js';
import { metricHistoryPage } from './search.js';

function checkBatch(operation: string, batch: LogBatch): void {
  const seenParams = new Set<string>();
  for (const param of batch.params ?? []) {
    checkLocalKey(operation, 'param', param.key);
    if (seenParams.has(param.key)) {
      throw localApiError(
        operation,
        'INVALID_PARAMETER_VALUE',
        `Duplicate parameter keys have been submitted: ['${param.key}'].`,
      );
    }
    seenParams.add(param.key);
  }
  for (const tag of batch.tags ?? []) checkLocalKey(operation, 'tag', tag.key);
  for (const metric of batch.metrics ?? []) {
    checkLocalKey(operation, 'metric', metric.key);
    if (typeof metric.value !== 'number') {
      throw localApiError(
        operation,
        'INVALID_PARAMETER_VALUE',
        `Got invalid value ${String(metric.value)} for metric '${metric.key}': it must be a number.`,
      );
    }
    if (!Number.isSafeInteger(metric.timestamp)) {
      throw localApiError(
        operation,
        'INVALID_PARAMETER_VALUE',
        `Got invalid timestamp ${metric.timestamp} for metric '${metric.key}': it must be an integer.`,
      );
    }
    if (!Number.isSafeInteger(metric.step)) {
      throw localApiError(
        operation,
        'INVALID_PARAMETER_VALUE',
        `Got invalid step ${metric.step} for metric '${metric.key}': it must be an integer.`,
      );
    }
  }
}

/**
 * `LocalStore.logBatch`: checks the whole batch first, then writes params (write-once), tags
 * (overwritten) and metric points (appended, one line each, one `write()` per key).
 */
export async function logBatch(layout: LocalLayout, runId: string, batch: LogBatch): Promise<void> {
  const operation = 'logBatch';
  checkBatch(operation, batch);
  const dir = await layout.activeRunDirectory(runId, operation);

  for (const param of batch.params ?? []) {
    const target = join(dir, 'params', ...param.key.split('/'));
    await layout.mkdirCached(join(target, '..'));
    if (!(await createFileExclusive(target, param.value, dir))) {
      const existing = await readTextIfExists(target);
      if (existing !== undefined && existing !== param.value) {
        throw localApiError(
          operation,
          'INVALID_PARAMETER_VALUE',
          // Values are left out: a param may hold a secret, and messages never carry one.
          `Changing param values is not allowed. Param with key='${param.key}' was already logged with a different value for run ID='${runId}'.`,
        );
      }
    }
  }

  let runName: string | undefined;
  for (const tag of batch.tags ?? []) {
    const target = join(dir, 'tags', ...tag.key.split('/'));
    await layout.mkdirCached(join(target, '..'));
    await writeFileAtomic(target, tag.value, dir);
    if (tag.key === 'mlflow.runName') runName = tag.value;
  }
  if (runName !== undefined) {
    const name = runName;
    await updateMetaFile(dir, (meta) => {
      meta.run_name = name;
    });
  }

  for (const [key, lines] of metricLinesByKey(batch.metrics)) {
    const target = join(dir, 'metrics', ...key.split('/'));
    await layout.mkdirCached(join(target, '..'));
    const checkTail = !layout.checkedMetricFiles.has(target);
    await appendLines(target, lines, checkTail);
    layout.checkedMetricFiles.add(target);
  }
}

/** `LocalStore.readMetricPoints`: every point of a metric file in written order. */
export async function readMetricPoints(layout: LocalLayout, runId: string, key: string): Promise<Metric[]> {
  checkLocalKey('getMetricHistory', 'metric', key);
  const dir = await layout.findRunDirectory(runId, 'getMetricHistory');
  const text = await readTextIfExists(join(dir, 'metrics', ...key.split('/')));
  return parseMetricLines(key, text ?? '');
}

/** `LocalStore.getMetricHistory`. */
export async function getMetricHistory(
  layout: LocalLayout,
  runId: string,
  key: string,
  options: { maxResults?: number; pageToken?: string },
): Promise<Page<Metric>> {
  return metricHistoryPage(await readMetricPoints(layout, runId, key), options, 'local getMetricHistory');
}

/** `LocalStore.listMetricKeys`. */
export async function listMetricKeys(layout: LocalLayout, runId: string): Promise<string[]> {
  const dir = await layout.findRunDirectory(runId, 'listMetricKeys');
  return (await readKeyFiles(join(dir, 'metrics'))).sort();
}
