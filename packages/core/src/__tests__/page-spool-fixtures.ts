// What the page spool's unit tests share: a server address per test, its items, a batch of points and a
// transport failure.

import { openPageSpool, type PageSpoolItem, readItems } from '../browser/page-spool-store.js';
import { MlflowApiError } from '../errors.js';
import type { LogBatch } from '../types.js';

let uriCount = 0;

/** A server address no other test uses, so that its items are its own. */
export const freshUri = (): string => `http://127.0.0.1:${5000 + ++uriCount}`;

/** The page spool's items for the server `uri`, oldest first. */
export async function itemsOf(uri: string): Promise<PageSpoolItem[]> {
  const items = await readItems(await openPageSpool(), 0, 10_000);
  return items.filter((item) => item.uri === uri);
}

/** The `loss` points of steps `from` (inclusive) to `to` (exclusive), each valued at its step. */
export const points = (from: number, to: number): LogBatch => ({
  metrics: Array.from({ length: to - from }, (_, index) => ({
    key: 'loss',
    value: from + index,
    timestamp: 1_700_000_000_000,
    step: from + index,
  })),
});

/** The error of a server that does not answer now (503). */
export const unavailable = (endpoint = '[POST] /api/2.0/mlflow/runs/log-batch'): MlflowApiError =>
  new MlflowApiError({
    endpoint,
    status: 503,
    errorCode: 'TEMPORARILY_UNAVAILABLE',
    serverMessage: 'down',
    retryable: true,
  });
