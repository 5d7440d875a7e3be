import { randomInt } from 'node:crypto';
import { mkdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { SearchExperimentsOptions } from '../store.js';
import type { Experiment, Page, ViewType } from '../types.js';
import { dumpYaml, parseYaml } from './local-format.js';
import { isErrno, readTextIfExists, withFileLock, writeFileAtomic } from './local-fs.js';
import {
  checkLocalKey,
  EXPERIMENT_ID,
  experimentMeta,
  type LocalLayout,
  listSubdirectories,
  localApiError,
  localNotFound,
  metaNumber,
  metaString,
  RESERVED_ROOT,
  readKeyValues,
  TRASH,
  updateMetaFile,
  writeKeyFile,
} from './local-layout.js';
import {
  type FieldReader,
  type FilterField,
  matchesFilter,
  orderAndPaginate,
  parseFilter,
  parseOrderBy,
  viewMatches,
} from './search.js';

const EXPERIMENTS_LOCK = '.mlflow-kit-experiments.lock';

/** Reads the experiment in `dir`, or `undefined` while its `meta.yaml` is not written yet. */
export async function readExperiment(dir: string): Promise<Experiment | undefined> {
  const text = await readTextIfExists(join(dir, 'meta.yaml'));
  if (text === undefined) return undefined;
  const meta = parseYaml(text);
  const experiment: Experiment = {
    experimentId: metaString(meta.experiment_id),
    name: metaString(meta.name),
    artifactLocation: metaString(meta.artifact_location),
    lifecycleStage: meta.lifecycle_stage === 'deleted' ? 'deleted' : 'active',
    creationTime: metaNumber(meta.creation_time),
    lastUpdateTime: metaNumber(meta.last_update_time),
    tags: await readKeyValues(join(dir, 'tags')),
  };
  return experiment;
}

async function allExperiments(layout: LocalLayout, viewType: ViewType): Promise<Experiment[]> {
  await layout.ensureRoot();
  const { rootDir } = layout;
  const dirs: string[] = [];
  if (viewType !== 'DELETED_ONLY') {
    for (const name of await listSubdirectories(rootDir)) {
      if (!RESERVED_ROOT.has(name) && EXPERIMENT_ID.test(name)) dirs.push(join(rootDir, name));
    }
  }
  if (viewType !== 'ACTIVE_ONLY') {
    for (const name of await listSubdirectories(join(rootDir, TRASH))) {
      if (EXPERIMENT_ID.test(name)) dirs.push(join(rootDir, TRASH, name));
    }
  }
  const experiments = await Promise.all(dirs.map((dir) => readExperiment(dir)));
  return experiments.filter(
    (experiment): experiment is Experiment =>
      experiment !== undefined && viewMatches(viewType, experiment.lifecycleStage),
  );
}

/** `LocalStore.getExperiment`. */
export async function getExperiment(layout: LocalLayout, experimentId: string): Promise<Experiment> {
  await layout.ensureRoot();
  const location = await layout.experimentDirectory(experimentId);
  const experiment = location && (await readExperiment(location.dir));
  if (!experiment) throw localNotFound('getExperiment', `No Experiment with id=${experimentId} exists`);
  return experiment;
}

/** `LocalStore.getExperimentByName`. */
export async function getExperimentByName(
  layout: LocalLayout,
  name: string,
): Promise<Experiment | undefined> {
  const all = await allExperiments(layout, 'ALL');
  return (
    all.find((experiment) => experiment.name === name && experiment.lifecycleStage === 'active') ??
    all.find((experiment) => experiment.name === name)
  );
}

/** `LocalStore.createExperiment`. */
export async function createExperiment(
  layout: LocalLayout,
  name: string,
  options: { artifactLocation?: string; tags?: Record<string, string> },
): Promise<string> {
  if (typeof name !== 'string' || name.trim() === '') {
    throw localApiError(
      'createExperiment',
      'INVALID_PARAMETER_VALUE',
      'Invalid experiment name: the name must be a non-empty string.',
    );
  }
  for (const key of Object.keys(options.tags ?? {})) checkLocalKey('createExperiment', 'tag', key);
  await layout.ensureRoot();
  return withFileLock(join(layout.rootDir, EXPERIMENTS_LOCK), async () => {
    const existing = (await allExperiments(layout, 'ALL')).find((experiment) => experiment.name === name);
    if (existing) {
      throw localApiError(
        'createExperiment',
        'RESOURCE_ALREADY_EXISTS',
        `Experiment '${name}' already exists${existing.lifecycleStage === 'deleted' ? ' in deleted state' : ''} (id ${existing.experimentId}).`,
      );
    }
    for (;;) {
      const experimentId =
        String(randomInt(1, 10)) + Array.from({ length: 17 }, () => randomInt(0, 10)).join('');
      const dir = join(layout.rootDir, experimentId);
      try {
        await mkdir(dir);
      } catch (error) {
        if (isErrno(error, 'EEXIST')) continue;
        throw error;
      }
      const now = Date.now();
      const artifactLocation = options.artifactLocation ?? `${layout.trackingUri}/${experimentId}`;
      for (const [key, value] of Object.entries(options.tags ?? {}))
        await writeKeyFile(dir, 'tags', key, value);
      // meta.yaml last: until it exists, readers (ours and MLflow's) skip the folder.
      await writeFileAtomic(
        join(dir, 'meta.yaml'),
        dumpYaml(experimentMeta(experimentId, name, artifactLocation, now)),
      );
      return experimentId;
    }
  });
}

/** `LocalStore.searchExperiments`. */
export async function searchExperiments(
  layout: LocalLayout,
  options: SearchExperimentsOptions,
): Promise<Page<Experiment>> {
  const endpoint = 'local searchExperiments';
  const clauses = parseFilter(options.filter, endpoint);
  parseOrderBy(options.orderBy, endpoint);
  const reader =
    (experiment: Experiment): FieldReader =>
    (field: FilterField) => {
      if (field.kind === 'tags') return experiment.tags[field.key];
      switch (field.key) {
        case 'name':
          return experiment.name;
        case 'experiment_id':
          return experiment.experimentId;
        case 'creation_time':
          return experiment.creationTime;
        case 'last_update_time':
          return experiment.lastUpdateTime;
        case 'lifecycle_stage':
          return experiment.lifecycleStage;
        default:
          return undefined;
      }
    };
  const experiments = (await allExperiments(layout, options.viewType ?? 'ACTIVE_ONLY')).filter((experiment) =>
    matchesFilter(clauses, reader(experiment)),
  );
  return orderAndPaginate(
    experiments,
    options,
    [
      ['creation_time', false],
      ['experiment_id', true],
    ],
    reader,
    endpoint,
  );
}

/** `LocalStore.deleteExperiment`. */
export async function deleteExperiment(layout: LocalLayout, experimentId: string): Promise<void> {
  await layout.ensureRoot();
  if (experimentId === '0')
    throw localApiError(
      'deleteExperiment',
      'INVALID_PARAMETER_VALUE',
      "Cannot delete the default experiment '0'.",
    );
  const location = await layout.experimentDirectory(experimentId);
  if (!location) throw localNotFound('deleteExperiment', `No Experiment with id=${experimentId} exists`);
  if (location.deleted) return;
  const now = Date.now();
  for (const runId of await layout.runIdsIn(location.dir)) {
    await updateMetaFile(join(location.dir, runId), (meta) => {
      if (meta.lifecycle_stage !== 'deleted') {
        meta.lifecycle_stage = 'deleted';
        meta.deleted_time = now;
      }
    });
  }
  await updateMetaFile(location.dir, (meta) => {
    meta.lifecycle_stage = 'deleted';
    meta.last_update_time = now;
  });
  await rename(location.dir, join(layout.rootDir, TRASH, experimentId));
  layout.forgetRunDirectories();
}

/** `LocalStore.restoreExperiment`. */
export async function restoreExperiment(layout: LocalLayout, experimentId: string): Promise<void> {
  await layout.ensureRoot();
  const location = await layout.experimentDirectory(experimentId);
  if (!location) throw localNotFound('restoreExperiment', `No Experiment with id=${experimentId} exists`);
  if (!location.deleted) return;
  const target = join(layout.rootDir, experimentId);
  let deletedAt: unknown;
  await updateMetaFile(location.dir, (meta) => {
    deletedAt = meta.last_update_time;
    meta.lifecycle_stage = 'active';
    meta.last_update_time = Date.now();
  });
  await rename(location.dir, target);
  layout.forgetRunDirectories();
  for (const runId of await layout.runIdsIn(target)) {
    await updateMetaFile(join(target, runId), (meta) => {
      if (meta.lifecycle_stage === 'deleted' && meta.deleted_time === deletedAt) {
        meta.lifecycle_stage = 'active';
        meta.deleted_time = null;
      }
    });
  }
}

/** `LocalStore.setExperimentTag`. */
export async function setExperimentTag(
  layout: LocalLayout,
  experimentId: string,
  key: string,
  value: string,
): Promise<void> {
  checkLocalKey('setExperimentTag', 'tag', key);
  await layout.ensureRoot();
  const location = await layout.experimentDirectory(experimentId);
  if (!location) throw localNotFound('setExperimentTag', `No Experiment with id=${experimentId} exists`);
  if (location.deleted) {
    throw localApiError(
      'setExperimentTag',
      'INVALID_PARAMETER_VALUE',
      `The experiment ${experimentId} must be in the 'active' state.`,
    );
  }
  await writeKeyFile(location.dir, 'tags', key, value);
}
