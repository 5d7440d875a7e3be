import type { ModelVersion, RegisteredModel, TrackingOptions } from '@mlflow-kit/core';
import { orNotFound, withClient } from './internal/client-session.js';
import { collectPages } from './internal/collect-pages.js';
import { formatTable, formatTime } from './internal/format-table.js';

/** Options of {@link listModels}. */
export interface ListModelsOptions extends Omit<TrackingOptions, 'enabled'> {
  /** MLflow filter string, such as `name LIKE 'iris%'`. @defaultValue none */
  filter?: string;
  /** At most this many models. @defaultValue 100 */
  maxResults?: number;
}

/**
 * Lists the registered models of the tracking server (the registry needs a server, not a local store).
 *
 * @example
 * ```ts
 * import { listModels } from '@mlflow-kit/cli';
 * for (const model of await listModels()) console.log(model.name, model.aliases);
 * ```
 */
export async function listModels(options: ListModelsOptions = {}): Promise<RegisteredModel[]> {
  const { filter, maxResults = 100, ...tracking } = options;
  return withClient(tracking, async (client) => {
    return collectPages(maxResults, (page) =>
      client.searchRegisteredModels({ ...page, ...(filter !== undefined ? { filter } : {}) }),
    );
  });
}

function aliasesOf(model: RegisteredModel): string {
  return Object.entries(model.aliases)
    .map(([alias, version]) => `@${alias}→v${version}`)
    .join(' ');
}

/** Formats registered models as the table `mlflow-kit models list` prints. */
export function formatModelsTable(models: RegisteredModel[]): string {
  if (models.length === 0) return 'No registered models.';
  return formatTable(
    ['NAME', 'LATEST', 'ALIASES', 'UPDATED (UTC)', 'DESCRIPTION'],
    models.map((model) => [
      model.name,
      model.latestVersions.map((version) => `v${version.version}`).join(' '),
      aliasesOf(model),
      formatTime(model.lastUpdatedTimestamp),
      (model.description ?? '').replace(/\s+/g, ' ').slice(0, 60),
    ]),
  );
}

/** A registered model with all its versions, as `mlflow-kit models show` reads it. */
export interface ModelDetails {
  model: RegisteredModel;
  /** Every version, newest first. */
  versions: ModelVersion[];
}

/**
 * Reads a registered model and all its versions. A missing model is an `MlflowKitError` that says how to
 * list the models.
 *
 * @example
 * ```ts
 * import { getModelDetails } from '@mlflow-kit/cli';
 * const { versions } = await getModelDetails('iris-classifier');
 * ```
 */
export async function getModelDetails(
  name: string,
  options: Omit<TrackingOptions, 'enabled'> = {},
): Promise<ModelDetails> {
  return withClient(options, async (client) => {
    const model = await orNotFound(
      client.getRegisteredModel(name),
      `No registered model named ${JSON.stringify(name)} at ${client.settings.trackingUri}: see the models with \`mlflow-kit models list\`.`,
    );
    const versions: ModelVersion[] = [];
    let pageToken: string | undefined;
    do {
      const page = await client.searchModelVersions({
        filter: `name='${name.replace(/'/g, "\\'")}'`,
        ...(pageToken ? { pageToken } : {}),
      });
      versions.push(...page.items);
      pageToken = page.nextPageToken;
    } while (pageToken);
    versions.sort((a, b) => Number(b.version) - Number(a.version));
    // The search leaves out the versions' aliases: the model's alias map has them.
    for (const version of versions) {
      version.aliases = Object.entries(model.aliases)
        .filter(([, target]) => target === version.version)
        .map(([alias]) => alias);
    }
    return { model, versions };
  });
}

/** Formats {@link ModelDetails} as `mlflow-kit models show` prints them. */
export function formatModelDetails(details: ModelDetails): string {
  const { model, versions } = details;
  const lines = [
    `Model ${model.name}`,
    ...(model.description ? [`  ${model.description}`] : []),
    `  aliases: ${aliasesOf(model) || '(none)'}`,
    ...Object.entries(model.tags).map(([key, value]) => `  tag ${key}=${value}`),
    '',
    versions.length === 0
      ? 'No versions.'
      : formatTable(
          ['VERSION', 'ALIASES', 'STAGE', 'STATUS', 'CREATED (UTC)', 'RUN ID', 'SOURCE'],
          versions.map((version) => [
            version.version,
            version.aliases.map((alias) => `@${alias}`).join(' '),
            version.currentStage ?? '',
            version.status,
            formatTime(version.creationTimestamp),
            version.runId ?? '',
            version.source,
          ]),
        ),
  ];
  return lines.join('\n');
}

/**
 * Points `alias` (such as `champion`) of a registered model at `version`, so `models:/<name>@<alias>`
 * loads that version. A missing model or version is an `MlflowKitError` that says how to list them.
 *
 * @example
 * ```ts
 * import { setModelAlias } from '@mlflow-kit/cli';
 * await setModelAlias('iris-classifier', 'champion', '3');
 * ```
 */
export async function setModelAlias(
  name: string,
  alias: string,
  version: string,
  options: Omit<TrackingOptions, 'enabled'> = {},
): Promise<ModelVersion> {
  return withClient(options, async (client) => {
    await orNotFound(
      client.getModelVersion(name, version),
      `Model ${JSON.stringify(name)} has no version ${JSON.stringify(version)}: see its versions with \`mlflow-kit models show ${name}\`.`,
    );
    await client.setRegisteredModelAlias(name, alias, version);
    return client.getModelVersionByAlias(name, alias);
  });
}
