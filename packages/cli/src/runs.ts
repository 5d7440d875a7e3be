import {
  type Experiment,
  type FileInfo,
  type Metric,
  type MlflowClient,
  MlflowKitError,
  type RunRecord,
  type TrackingOptions,
} from '@mlflow-kit/core';
import { findExperiment, orNotFound, withClient } from './internal/client-session.js';
import { collectPages, listArtifactFiles } from './internal/collect-pages.js';
import { formatTable, formatTime } from './internal/format-table.js';
import { formatMetricChart, formatNumber } from './metric-chart.js';

/** Options of {@link listRuns}. */
export interface ListRunsOptions extends Omit<TrackingOptions, 'enabled'> {
  /** Only runs of this experiment, by name or id; a missing one is an error. @defaultValue every active experiment */
  experimentName?: string;
  /** MLflow filter string, such as `metrics.loss < 0.5 and params.lr = '0.01'`. @defaultValue none */
  filter?: string;
  /** MLflow order-by clauses, such as `metrics.loss ASC`. @defaultValue `['start_time DESC']` */
  orderBy?: string[];
  /** At most this many runs. @defaultValue 100 */
  maxResults?: number;
}

/** One run as `mlflow-kit runs list` shows it. */
export interface ListedRun {
  experimentId: string;
  experimentName: string;
  runId: string;
  runName: string;
  status: RunRecord['info']['status'];
  startTime: number;
  endTime?: number | undefined;
  /** Number of metric keys. */
  metrics: number;
  /** Number of params. */
  params: number;
}

/**
 * Lists the runs of the configured store (the tracking URI resolved as a run would, local or server),
 * newest first unless `orderBy` says otherwise. A named experiment that does not exist is an
 * `MlflowKitError` that says how to list the experiments.
 *
 * @example
 * ```ts
 * import { listRuns } from '@mlflow-kit/cli';
 * for (const run of await listRuns({ trackingUri: './mlruns', filter: 'metrics.loss < 0.5' })) console.log(run.runName);
 * ```
 */
export async function listRuns(options: ListRunsOptions = {}): Promise<ListedRun[]> {
  const { experimentName, filter, orderBy, maxResults = 100, ...tracking } = options;
  return withClient(tracking, async (client) => {
    const experiments: Experiment[] =
      experimentName !== undefined
        ? [await findExperiment(client, experimentName)]
        : await allExperiments(client);
    if (experiments.length === 0) return [];
    const names = new Map(experiments.map((experiment) => [experiment.experimentId, experiment.name]));
    const runs = await collectPages(maxResults, (page) =>
      client.searchRuns({
        ...page,
        experimentIds: [...names.keys()],
        orderBy: orderBy && orderBy.length > 0 ? orderBy : ['start_time DESC'],
        ...(filter !== undefined ? { filter } : {}),
      }),
    );
    return runs.map((run) => ({
      experimentId: run.info.experimentId,
      experimentName: names.get(run.info.experimentId) ?? run.info.experimentId,
      runId: run.info.runId,
      runName: run.info.runName,
      status: run.info.status,
      startTime: run.info.startTime,
      endTime: run.info.endTime,
      metrics: Object.keys(run.data.metrics).length,
      params: Object.keys(run.data.params).length,
    }));
  });
}

function allExperiments(client: MlflowClient): Promise<Experiment[]> {
  return collectPages(Number.POSITIVE_INFINITY, (page) => client.searchExperiments(page));
}

function duration(startTime: number, endTime: number | undefined): string {
  return endTime === undefined ? '' : `${((endTime - startTime) / 1000).toFixed(1)} s`;
}

/** Formats runs as the table `mlflow-kit runs list` prints. */
export function formatRunsTable(runs: ListedRun[]): string {
  if (runs.length === 0) return 'No runs match.';
  return formatTable(
    ['EXPERIMENT', 'RUN ID', 'NAME', 'STATUS', 'STARTED (UTC)', 'DURATION', 'METRICS', 'PARAMS'],
    runs.map((run) => [
      run.experimentName,
      run.runId,
      run.runName,
      run.status,
      formatTime(run.startTime),
      duration(run.startTime, run.endTime),
      String(run.metrics),
      String(run.params),
    ]),
  );
}

/** Summary of one metric's history in {@link RunDetails}. */
export interface MetricSummary {
  key: string;
  /** The latest value, as MLflow reports it. */
  last: number;
  /** Number of points logged. */
  points: number;
  /** Lowest and highest finite value; `undefined` when no value is finite. */
  min?: number | undefined;
  max?: number | undefined;
  /** First and last step. */
  firstStep: number;
  lastStep: number;
}

/** What `mlflow-kit runs show` reads about a run. */
export interface RunDetails {
  run: RunRecord;
  experimentName: string;
  /** Every artifact file (directories expanded), with its size. */
  artifacts: FileInfo[];
  metrics: MetricSummary[];
  /** The full histories of the metrics asked for with `metrics` (all when none is named). */
  histories: Record<string, Metric[]>;
}

/** Options of {@link getRunDetails}. */
export interface RunDetailsOptions extends Omit<TrackingOptions, 'enabled'> {
  /** Only these metrics get their history read (and charted). @defaultValue every metric of the run */
  metrics?: string[];
}

function summarize(key: string, history: Metric[], last: number): MetricSummary {
  const finite = history.map((point) => point.value).filter((value) => Number.isFinite(value));
  const steps = history.map((point) => point.step);
  return {
    key,
    last,
    points: history.length,
    min: finite.length > 0 ? Math.min(...finite) : undefined,
    max: finite.length > 0 ? Math.max(...finite) : undefined,
    firstStep: steps.length > 0 ? Math.min(...steps) : 0,
    lastStep: steps.length > 0 ? Math.max(...steps) : 0,
  };
}

/**
 * Reads a run with everything `mlflow-kit runs show` prints: params, tags, the artifact files, a summary
 * of each metric and the histories of the chosen metrics. A missing run, or a metric the run does not
 * have, is an `MlflowKitError` that says what exists.
 *
 * @example
 * ```ts
 * import { getRunDetails, formatRunDetails } from '@mlflow-kit/cli';
 * console.log(formatRunDetails(await getRunDetails(runId, { metrics: ['loss'] }), { width: 100 }));
 * ```
 */
export async function getRunDetails(runId: string, options: RunDetailsOptions = {}): Promise<RunDetails> {
  const { metrics: chosen, ...tracking } = options;
  return withClient(tracking, async (client) => {
    const run = await orNotFound(
      client.getRun(runId),
      `No run ${runId} at ${client.settings.trackingUri}: find run ids with \`mlflow-kit runs list\` (or pass --tracking-uri).`,
    );
    const keys = Object.keys(run.data.metrics).sort();
    for (const key of chosen ?? []) {
      if (!keys.includes(key)) {
        throw new MlflowKitError(
          `Run ${runId} has no metric ${JSON.stringify(key)}; its metrics are: ${keys.join(', ') || 'none'}. Pass one of them to --metric.`,
        );
      }
    }
    const experimentName = await client
      .getExperiment(run.info.experimentId)
      .then((experiment) => experiment.name)
      .catch(() => run.info.experimentId);
    const histories: Record<string, Metric[]> = {};
    const summaries: MetricSummary[] = [];
    for (const key of keys) {
      const history = await client.getMetricHistory(runId, key);
      summaries.push(summarize(key, history, run.data.metrics[key] ?? Number.NaN));
      if (!chosen || chosen.length === 0 || chosen.includes(key)) histories[key] = history;
    }
    const artifacts = await listArtifactFiles(client, runId, undefined);
    return { run, experimentName, artifacts, metrics: summaries, histories };
  });
}

/** Options of {@link formatRunDetails}. */
export interface FormatRunDetailsOptions {
  /** Width of the output in columns; charts fill it. @defaultValue 80 */
  width?: number;
  /** Rows of each chart. @defaultValue 8 */
  chartHeight?: number;
}

function fit(text: string, width: number): string {
  return text.length <= width ? text : `${text.slice(0, Math.max(1, width - 1))}…`;
}

function keyValues(entries: [string, string][], width: number): string[] {
  if (entries.length === 0) return ['  (none)'];
  const keyWidth = Math.min(40, Math.max(...entries.map(([key]) => key.length)));
  return entries.map(([key, value]) =>
    fit(`  ${key.padEnd(keyWidth)}  ${value.replace(/\s+/g, ' ')}`, width),
  );
}

function formatBytes(size: number | undefined): string {
  if (size === undefined) return '';
  if (size < 1024) return `${size} B`;
  if (size < 1024 * 1024) return `${(size / 1024).toFixed(1)} KiB`;
  return `${(size / 1024 / 1024).toFixed(1)} MiB`;
}

/** Formats {@link RunDetails} as `mlflow-kit runs show` prints them, with a braille chart per metric. */
export function formatRunDetails(details: RunDetails, options: FormatRunDetailsOptions = {}): string {
  const width = Math.max(40, options.width ?? 80);
  const { info, data } = details.run;
  const metricWidth = Math.min(40, Math.max(0, ...details.metrics.map((metric) => metric.key.length)));
  const lines = [
    fit(`Run ${info.runId}  ${info.runName}`, width),
    fit(
      `  experiment ${details.experimentName} (${info.experimentId}) · ${info.status} · started ${formatTime(info.startTime)} UTC${info.endTime !== undefined ? ` · took ${duration(info.startTime, info.endTime)}` : ''}`,
      width,
    ),
    fit(`  artifacts at ${info.artifactUri}`, width),
    '',
    `Params (${Object.keys(data.params).length})`,
    ...keyValues(
      Object.entries(data.params).sort(([a], [b]) => a.localeCompare(b)),
      width,
    ),
    '',
    `Tags (${Object.keys(data.tags).length})`,
    ...keyValues(
      Object.entries(data.tags).sort(([a], [b]) => a.localeCompare(b)),
      width,
    ),
    '',
    `Artifacts (${details.artifacts.length} files)`,
    ...(details.artifacts.length === 0
      ? ['  (none)']
      : details.artifacts
          .slice(0, 50)
          .map((file) => fit(`  ${file.path}  ${formatBytes(file.fileSize)}`, width))),
    ...(details.artifacts.length > 50
      ? [`  … and ${details.artifacts.length - 50} more: mlflow-kit artifacts list ${info.runId}`]
      : []),
    '',
    `Metrics (${details.metrics.length})`,
    ...(details.metrics.length === 0
      ? ['  (none)']
      : details.metrics.map((metric) =>
          fit(
            `  ${metric.key.padEnd(metricWidth)}  last ${formatNumber(metric.last)} · ${metric.points} points, steps ${metric.firstStep}–${metric.lastStep}`,
            width,
          ),
        )),
  ];
  for (const [key, history] of Object.entries(details.histories)) {
    lines.push('', formatMetricChart(history, { width, height: options.chartHeight ?? 8, title: key }));
  }
  return lines.join('\n');
}
