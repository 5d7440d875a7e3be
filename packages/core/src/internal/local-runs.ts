import { randomUUID } from 'node:crypto';
import { mkdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { CreateRunRequest, SearchRunsOptions, UpdateRunRequest } from '../store.js';
import type { Page, RunInfo, RunRecord } from '../types.js';
import { readExperiment } from './local-experiments.js';
import {
  dumpYaml,
  generateRunName,
  parseMetricLines,
  STATUS_TO_NUMBER,
  statusFromMeta,
} from './local-format.js';
import { isErrno, readTextIfExists, writeFileAtomic } from './local-fs.js';
import { readDatasetInputsSync } from './local-inputs.js';
import {
  checkLocalKey,
  type LocalLayout,
  localApiError,
  localNotFound,
  type Meta,
  metaNumber,
  metaString,
  readKeyFiles,
  readKeyValues,
  readRunMeta,
  updateMetaFile,
  writeKeyFile,
} from './local-layout.js';
import { latestValue, parseFilter, parseOrderBy, searchRunRecords } from './search.js';

function runInfoFromMeta(meta: Meta): RunInfo {
  const info: RunInfo = {
    runId: metaString(meta.run_id ?? meta.run_uuid),
    runName: metaString(meta.run_name),
    experimentId: metaString(meta.experiment_id),
    userId: metaString(meta.user_id),
    status: statusFromMeta(meta.status),
    startTime: metaNumber(meta.start_time) ?? 0,
    endTime: metaNumber(meta.end_time),
    artifactUri: metaString(meta.artifact_uri),
    lifecycleStage: meta.lifecycle_stage === 'deleted' ? 'deleted' : 'active',
  };
  return info;
}

async function readRunRecord(runDir: string): Promise<RunRecord> {
  const meta = await readRunMeta(runDir);
  const metrics: Record<string, number> = {};
  for (const key of await readKeyFiles(join(runDir, 'metrics'))) {
    const text = await readTextIfExists(join(runDir, 'metrics', ...key.split('/')));
    const value = latestValue(parseMetricLines(key, text ?? ''));
    if (value !== undefined) metrics[key] = value;
  }
  const [params, tags] = await Promise.all([
    readKeyValues(join(runDir, 'params')),
    readKeyValues(join(runDir, 'tags')),
  ]);
  return {
    info: runInfoFromMeta(meta),
    data: { metrics, params, tags },
    inputs: { datasetInputs: readDatasetInputsSync(runDir) },
  };
}

/** `LocalStore.createRun`. */
export async function createRun(layout: LocalLayout, request: CreateRunRequest): Promise<RunRecord> {
  const experimentId = request.experimentId === '' ? '0' : request.experimentId;
  await layout.ensureRoot();
  const location = await layout.experimentDirectory(experimentId);
  const experiment = location && (await readExperiment(location.dir));
  if (!location || !experiment)
    throw localNotFound('createRun', `No Experiment with id=${experimentId} exists`);
  if (location.deleted || experiment.lifecycleStage === 'deleted') {
    throw localApiError(
      'createRun',
      'INVALID_PARAMETER_VALUE',
      `Could not create run under non-active experiment with ID ${experimentId}.`,
    );
  }
  const tagName = request.tags['mlflow.runName'];
  if (request.runName !== undefined && tagName !== undefined && request.runName !== tagName) {
    throw localApiError(
      'createRun',
      'INVALID_PARAMETER_VALUE',
      `Both 'run_name' argument and 'mlflow.runName' tag are specified, but with different values (run_name='${request.runName}', mlflow.runName='${tagName}').`,
    );
  }
  for (const key of Object.keys(request.tags)) checkLocalKey('createRun', 'tag', key);
  const runName = request.runName || tagName || generateRunName();
  const tags = { ...request.tags, 'mlflow.runName': runName };
  const runId = randomUUID().replace(/-/g, '');
  const runDir = join(location.dir, runId);
  const artifactUri = `${experiment.artifactLocation.replace(/\/+$/, '')}/${runId}/artifacts`;
  await mkdir(runDir);
  await mkdir(join(runDir, 'tags'));
  for (const [key, value] of Object.entries(tags)) await writeKeyFile(runDir, 'tags', key, value);
  await Promise.all([
    mkdir(join(runDir, 'metrics')),
    mkdir(join(runDir, 'params')),
    mkdir(join(runDir, 'artifacts')),
  ]);
  const meta: Meta = {
    artifact_uri: artifactUri,
    end_time: null,
    entry_point_name: '',
    experiment_id: experimentId,
    lifecycle_stage: 'active',
    run_id: runId,
    run_name: runName,
    source_name: '',
    source_type: 4,
    source_version: '',
    start_time: request.startTime,
    status: STATUS_TO_NUMBER.RUNNING,
    tags: [],
    user_id: request.userId || 'unknown',
  };
  // meta.yaml last: a run folder without it is skipped by every reader, so a crash here leaves no half run.
  await writeFileAtomic(join(runDir, 'meta.yaml'), dumpYaml(meta));
  layout.rememberRun(runId, runDir);
  return { info: runInfoFromMeta(meta), data: { metrics: {}, params: {}, tags } };
}

/** `LocalStore.getRun`. */
export async function getRun(layout: LocalLayout, runId: string): Promise<RunRecord> {
  return readRunRecord(await layout.findRunDirectory(runId, 'getRun'));
}

/** `LocalStore.updateRun`. */
export async function updateRun(
  layout: LocalLayout,
  runId: string,
  request: UpdateRunRequest,
): Promise<RunInfo> {
  const dir = await layout.activeRunDirectory(runId, 'updateRun');
  const meta = await updateMetaFile(dir, (current) => {
    if (request.status !== undefined) current.status = STATUS_TO_NUMBER[request.status];
    if (request.endTime !== undefined) current.end_time = request.endTime;
    if (request.runName !== undefined) current.run_name = request.runName;
  });
  if (request.runName !== undefined)
    await writeFileAtomic(join(dir, 'tags', 'mlflow.runName'), request.runName, dir);
  if (request.status !== undefined && request.status !== 'RUNNING' && request.status !== 'SCHEDULED') {
    layout.forgetRun(runId, dir);
  }
  return runInfoFromMeta(meta);
}

/** `LocalStore.deleteRun` and `LocalStore.restoreRun`: sets a run's lifecycle stage. */
export async function setRunLifecycle(
  layout: LocalLayout,
  runId: string,
  stage: 'active' | 'deleted',
): Promise<void> {
  const dir = await layout.findRunDirectory(runId, stage === 'deleted' ? 'deleteRun' : 'restoreRun');
  await updateMetaFile(dir, (meta) => {
    meta.lifecycle_stage = stage;
    meta.deleted_time = stage === 'deleted' ? Date.now() : null;
  });
}

/** `LocalStore.searchRuns`. */
export async function searchRuns(layout: LocalLayout, options: SearchRunsOptions): Promise<Page<RunRecord>> {
  const endpoint = 'local searchRuns';
  // Checked before any file is read, so a bad filter fails fast.
  parseFilter(options.filter, endpoint);
  parseOrderBy(options.orderBy, endpoint);
  await layout.ensureRoot();
  const records: RunRecord[] = [];
  for (const experimentId of options.experimentIds) {
    const location = await layout.experimentDirectory(experimentId);
    if (!location) continue;
    for (const runId of await layout.runIdsIn(location.dir)) {
      const dir = join(location.dir, runId);
      layout.rememberRun(runId, dir);
      try {
        records.push(await readRunRecord(dir));
      } catch (error) {
        // A run folder another process is creating right now: skip it, as MLflow does.
        if (!isErrno(error, 'ENOENT')) throw error;
      }
    }
  }
  return searchRunRecords(records, options, endpoint);
}

/** `LocalStore.deleteTag`. */
export async function deleteTag(layout: LocalLayout, runId: string, key: string): Promise<void> {
  checkLocalKey('deleteTag', 'tag', key);
  const dir = await layout.activeRunDirectory(runId, 'deleteTag');
  try {
    await unlink(join(dir, 'tags', ...key.split('/')));
  } catch (error) {
    if (isErrno(error, 'ENOENT'))
      throw localNotFound('deleteTag', `No tag with name: ${key} in run with id ${runId}`);
    throw error;
  }
}
