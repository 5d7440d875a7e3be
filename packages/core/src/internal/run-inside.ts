import { diag } from '../diag.js';
import type { Run } from '../run.js';

/**
 * Runs `fn` with `run`, then ends the run FINISHED, or FAILED when `fn` throws (the error is rethrown): the
 * body of `withRun` in Node and in a page.
 */
export async function runInside<T>(run: Run, fn: (run: Run) => Promise<T> | T): Promise<T> {
  let result: T;
  try {
    result = await fn(run);
  } catch (error) {
    // The user's error is the one to see; an end() refused too (a run deleted on the server) is reported.
    await run.end({ status: 'FAILED' }).catch((endError: unknown) => {
      diag.error(
        `Could not end run ${run.runId} FAILED: ${endError instanceof Error ? endError.message : String(endError)}`,
      );
    });
    throw error;
  }
  await run.end({ status: 'FINISHED' });
  return result;
}
