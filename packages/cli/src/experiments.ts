import type { Experiment, TrackingOptions, ViewType } from '@mlflow-kit/core';
import { withClient } from './internal/client-session.js';
import { collectPages } from './internal/collect-pages.js';
import { formatTable, formatTime } from './internal/format-table.js';

/** Options of {@link listExperiments}. */
export interface ListExperimentsOptions extends Omit<TrackingOptions, 'enabled'> {
  /** MLflow filter string, such as `name LIKE 'iris%'`. @defaultValue none */
  filter?: string;
  /** Active, deleted or all experiments. @defaultValue `'ACTIVE_ONLY'` */
  viewType?: ViewType;
  /** At most this many experiments. @defaultValue 1000 */
  maxResults?: number;
}

/**
 * Lists the experiments of the configured store (server or local), following pages up to `maxResults`.
 *
 * @example
 * ```ts
 * import { listExperiments } from '@mlflow-kit/cli';
 * for (const experiment of await listExperiments()) console.log(experiment.experimentId, experiment.name);
 * ```
 */
export async function listExperiments(options: ListExperimentsOptions = {}): Promise<Experiment[]> {
  const { filter, viewType, maxResults = 1000, ...tracking } = options;
  return withClient(tracking, async (client) => {
    return collectPages(maxResults, (page) =>
      client.searchExperiments({
        ...page,
        ...(filter !== undefined ? { filter } : {}),
        ...(viewType !== undefined ? { viewType } : {}),
      }),
    );
  });
}

/** Formats experiments as the table `mlflow-kit experiments list` prints. */
export function formatExperimentsTable(experiments: Experiment[]): string {
  if (experiments.length === 0) return 'No experiments match.';
  return formatTable(
    ['ID', 'NAME', 'STAGE', 'CREATED (UTC)', 'ARTIFACT LOCATION'],
    experiments.map((experiment) => [
      experiment.experimentId,
      experiment.name,
      experiment.lifecycleStage,
      formatTime(experiment.creationTime),
      experiment.artifactLocation,
    ]),
  );
}
