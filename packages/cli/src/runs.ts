import {
  closeStores,
  getStore,
  type RunRecord,
  resolveSettings,
  type TrackingOptions,
} from '@mlflow-kit/core';

/** Options of {@link listRuns}. */
export interface ListRunsOptions extends Omit<TrackingOptions, 'enabled'> {
  /** Only runs of this experiment (by name). @defaultValue every active experiment */
  experimentName?: string;
  /** At most this many runs. @defaultValue 1000 */
  maxResults?: number;
}

/** One run as `mlflow-kit runs list` shows it. */
export interface ListedRun {
  experimentName: string;
  runId: string;
  runName: string;
  status: RunRecord['info']['status'];
  startTime: number;
  endTime?: number | undefined;
  /** Number of metric keys, params and tags. */
  metrics: number;
  params: number;
}

/**
 * Lists the runs of the configured store (the tracking URI resolved as a run would, local or server),
 * newest first.
 *
 * @example
 * ```ts
 * import { listRuns } from '@mlflow-kit/cli';
 * for (const run of await listRuns({ trackingUri: './mlruns' })) console.log(run.runName, run.status);
 * ```
 */
export async function listRuns(options: ListRunsOptions = {}): Promise<ListedRun[]> {
  const { experimentName, maxResults = 1000, ...tracking } = options;
  const store = await getStore(resolveSettings({ ...tracking, enabled: true }));
  try {
    const experiments = experimentName
      ? [await store.getExperimentByName(experimentName)].filter((experiment) => experiment !== undefined)
      : (await store.searchExperiments({ maxResults: 1000 })).items;
    if (experiments.length === 0) return [];
    const names = new Map(experiments.map((experiment) => [experiment.experimentId, experiment.name]));
    const page = await store.searchRuns({
      experimentIds: [...names.keys()],
      maxResults,
      orderBy: ['start_time DESC'],
    });
    return page.items.map((run) => ({
      experimentName: names.get(run.info.experimentId) ?? run.info.experimentId,
      runId: run.info.runId,
      runName: run.info.runName,
      status: run.info.status,
      startTime: run.info.startTime,
      endTime: run.info.endTime,
      metrics: Object.keys(run.data.metrics).length,
      params: Object.keys(run.data.params).length,
    }));
  } finally {
    await closeStores();
  }
}

/** Formats runs as the table `mlflow-kit runs list` prints. */
export function formatRunsTable(runs: ListedRun[]): string {
  if (runs.length === 0) return 'No runs.';
  const rows = runs.map((run) => [
    run.experimentName,
    run.runId,
    run.runName,
    run.status,
    new Date(run.startTime).toISOString().replace('T', ' ').slice(0, 19),
    run.endTime === undefined ? '' : `${((run.endTime - run.startTime) / 1000).toFixed(1)} s`,
    String(run.metrics),
    String(run.params),
  ]);
  const header = ['EXPERIMENT', 'RUN ID', 'NAME', 'STATUS', 'STARTED (UTC)', 'DURATION', 'METRICS', 'PARAMS'];
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const format = (row: string[]): string =>
    row
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join('  ')
      .trimEnd();
  return [format(header), ...rows.map(format)].join('\n');
}
