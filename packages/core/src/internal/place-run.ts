import { diag } from '../diag.js';
import { MlflowApiError, MlflowConfigError } from '../errors.js';
import type { Run, StartRunOptions } from '../run.js';
import type { ResolvedSettings } from '../settings.js';
import type { TrackingStore } from '../store.js';
import type { RunInfo, RunRecord } from '../types.js';
import { resolveEnabled } from './setting-parsers.js';

type Env = Record<string, string | undefined>;

/** Finds an experiment by name or creates it, safe against another process creating it at the same time. */
export async function getOrCreateExperiment(store: TrackingStore, name: string): Promise<string> {
  const existing = await store.getExperimentByName(name);
  if (existing) {
    if (existing.lifecycleStage === 'deleted') {
      throw new MlflowConfigError(
        `Experiment "${name}" (id ${existing.experimentId}) is deleted: restore it (\`mlflow experiments restore --experiment-id ${existing.experimentId}\`), or pick another experiment name.`,
        { setting: 'experimentName' },
      );
    }
    return existing.experimentId;
  }
  try {
    return await store.createExperiment(name);
  } catch (error) {
    if (MlflowApiError.isInstance(error) && error.errorCode === 'RESOURCE_ALREADY_EXISTS') {
      const raced = await store.getExperimentByName(name);
      if (raced) return raced.experimentId;
    }
    throw error;
  }
}

async function resolveExperimentId(
  store: TrackingStore,
  options: StartRunOptions,
  env: Env,
  parent: Run | undefined,
): Promise<string> {
  if (options.experimentId !== undefined && options.experimentName !== undefined) {
    throw new MlflowConfigError('Pass either `experimentId` or `experimentName`, not both.', {
      setting: 'experimentId',
    });
  }
  if (options.experimentId !== undefined) return options.experimentId;
  if (options.experimentName !== undefined) return getOrCreateExperiment(store, options.experimentName);
  if (parent?.isRecording) return parent.experimentId;
  if (env.MLFLOW_EXPERIMENT_NAME) return getOrCreateExperiment(store, env.MLFLOW_EXPERIMENT_NAME);
  if (env.MLFLOW_EXPERIMENT_ID) {
    try {
      await store.getExperiment(env.MLFLOW_EXPERIMENT_ID);
    } catch (cause) {
      if (MlflowApiError.isInstance(cause) && !cause.retryable) {
        throw new MlflowConfigError(
          `MLFLOW_EXPERIMENT_ID=${env.MLFLOW_EXPERIMENT_ID} names no experiment on ${store.trackingUri}: set it to an existing id, or use MLFLOW_EXPERIMENT_NAME to create one by name.`,
          { setting: 'MLFLOW_EXPERIMENT_ID', cause },
        );
      }
      throw cause;
    }
    return env.MLFLOW_EXPERIMENT_ID;
  }
  return '0';
}

/** Whether tracking is on for `options`; says why not at debug level. */
export function trackingOn(entryPoint: string, options: StartRunOptions): boolean {
  const { enabled, source } = resolveEnabled(options);
  if (!enabled) {
    const why = source === 'option' ? 'the enabled option' : source === 'default' ? 'the default' : source;
    diag.debug(`${entryPoint}: tracking is off (${why}); returning the no-op run.`);
  }
  return enabled;
}

/** Where a run was placed on the server. */
export interface RunPlacement {
  info: RunInfo;
  experimentName: string;
  parentRunId: string | undefined;
  existing?: RunRecord;
}

/** The part of starting a run that needs the server: resumes `resumeId`, or creates the run. */
export async function placeRun(
  store: TrackingStore,
  options: StartRunOptions,
  env: Env,
  resumeId: string | undefined,
  active: Run | undefined,
  tags: Record<string, string>,
  startTime: number,
): Promise<RunPlacement> {
  if (resumeId !== undefined) {
    const existing = await store.getRun(resumeId);
    if (existing.info.lifecycleStage === 'deleted') {
      throw new MlflowConfigError(
        `Run ${resumeId} is deleted: restore it before resuming it, or start a new run.`,
        { setting: 'runId' },
      );
    }
    const info = await store.updateRun(resumeId, { status: 'RUNNING' });
    const experiment = await store.getExperiment(info.experimentId);
    return {
      info,
      experimentName: experiment.name,
      parentRunId: existing.data.tags['mlflow.parentRunId'],
      existing,
    };
  }
  const parentRunId = tags['mlflow.parentRunId'];
  const experimentId = await resolveExperimentId(
    store,
    options,
    env,
    parentRunId === undefined ? undefined : active,
  );
  const experimentName =
    options.experimentName ?? env.MLFLOW_EXPERIMENT_NAME ?? (await store.getExperiment(experimentId)).name;
  const record = await store.createRun({
    experimentId,
    startTime,
    runName: options.runName,
    userId: tags['mlflow.user'] ?? 'unknown',
    tags,
  });
  return { info: record.info, experimentName, parentRunId };
}

/** A transport failure or no answer in time (the run may start offline); a configuration mistake is not. */
export function isUnreachable(error: unknown): boolean {
  return MlflowApiError.isInstance(error) && error.retryable;
}

/** What a run start needs before it calls the server. */
export interface PreparedRun {
  /** The options, the run name redacted. */
  options: StartRunOptions;
  resumeId: string | undefined;
  parentRunId: string | undefined;
  tags: Record<string, string>;
  startTime: number;
}

/**
 * Works out which run to resume or which parent a new run has (refusing a second active run without
 * `nested`), and its tags, redacted: the part of starting a run that is the same in Node and in a page.
 */
export function prepareRun(
  options: StartRunOptions,
  settings: ResolvedSettings,
  env: Env,
  active: Run | undefined,
  defaultTags: Record<string, string>,
): PreparedRun {
  let resumeId = options.runId;
  if (resumeId === undefined && env.MLFLOW_RUN_ID) {
    resumeId = env.MLFLOW_RUN_ID;
    // As in MLflow: the variable names the one run to resume, not every run the program starts.
    delete env.MLFLOW_RUN_ID;
  }
  let parentRunId = options.parentRunId;
  if (resumeId === undefined && parentRunId === undefined && active?.isRecording) {
    if (!options.nested) {
      throw new MlflowConfigError(
        `Run ${active.runId} is already active. To start a child run, pass \`nested: true\`; otherwise end the active run first (await run.end()).`,
        { setting: 'nested' },
      );
    }
    parentRunId = active.runId;
  }
  const startTime = Date.now();
  const tags: Record<string, string> = { ...defaultTags, ...options.tags };
  if (parentRunId !== undefined) tags['mlflow.parentRunId'] = parentRunId;
  if (options.description !== undefined) tags['mlflow.note.content'] = options.description;
  const { redactor } = settings;
  if (redactor !== false) for (const key in tags) tags[key] = redactor.value(key, tags[key]!);
  if (options.runName !== undefined && redactor !== false)
    options = { ...options, runName: redactor.text(options.runName) };

  return { options, resumeId, parentRunId, tags, startTime };
}

/**
 * The placement, or `undefined` when the server does not answer within `timeoutMs` or fails to (a transport
 * failure, 5xx); a configuration mistake (401/403, an unknown or deleted experiment) throws. The request is
 * not abandoned: past the bound it goes on, and the caller adopts the run it makes.
 */
export async function placeWithin(
  placing: Promise<RunPlacement>,
  timeoutMs: number,
): Promise<RunPlacement | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      placing,
      new Promise<undefined>((resolve) => {
        timer = setTimeout(() => resolve(undefined), timeoutMs);
      }),
    ]);
  } catch (error) {
    if (!isUnreachable(error)) throw error;
    diag.debug(`Starting the run failed: ${error instanceof Error ? error.message : String(error)}`);
    return undefined;
  } finally {
    clearTimeout(timer);
  }
}

/** A new local id for a run started with a spool (32 hex digits, as MLflow's run ids), in Node and in a page (on http too). */
export function newLocalRunId(): string {
  const bytes = new Uint8Array(16);
  globalThis.crypto.getRandomValues(bytes);
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
}
