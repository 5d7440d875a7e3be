import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { KeyValue, LogBatch, Metric } from '../types.js';
import { LIMITS } from '../validation.js';
import { chunkBatch } from './log-batch-chunks.js';
import {
  countArtifactUpload,
  listFilesRecursively,
  metricHistory,
  metricPoints,
  type ReplayContext,
  type RunPlan,
  SOURCE_RUN_TAG,
} from './replay-runs.js';
import { digest } from './replay-state.js';

// Points of several metrics are gathered up to this many before they are cut into requests, so that
// small metrics share requests while memory stays bounded for runs with many points.
const GATHERED_POINTS = 50 * LIMITS.maxMetricsPerBatch;

/**
 * Params and tags of a run, each sent again only when they changed since the last replay (by digest).
 * The parent tag points at the parent's copy; the source tag is the replay's own and is not copied.
 * Returns whether anything was sent.
 */
export async function replayParamsAndTags(context: ReplayContext, plan: RunPlan): Promise<boolean> {
  const { local, state } = plan;
  const params: KeyValue[] = Object.entries(local.data.params).map(([key, value]) => ({ key, value }));
  const tags: KeyValue[] = Object.entries(local.data.tags)
    .filter(([key]) => key !== SOURCE_RUN_TAG)
    .map(([key, value]) => ({
      key,
      value: key === 'mlflow.parentRunId' ? context.state.remoteRunId(value) : value,
    }));
  const paramsDigest = digest(params);
  const tagsDigest = digest(tags);
  const batch: LogBatch = {};
  if (state.paramsDigest !== paramsDigest) batch.params = params;
  if (state.tagsDigest !== tagsDigest) batch.tags = tags;
  if (!batch.params && !batch.tags) return false;
  for (const chunk of chunkBatch(batch)) await context.destination.logBatch(state.remoteRunId, chunk);
  if (batch.params) {
    context.summary.paramsUploaded += params.length;
    state.paramsDigest = paramsDigest;
  }
  if (batch.tags) {
    context.summary.tagsUploaded += tags.length;
    state.tagsDigest = tagsDigest;
  }
  return true;
}

/**
 * The metric points of a run not uploaded yet, resuming each metric at the count in the state, in
 * requests of up to 1000 points shared across metrics. The state is updated (and saved, throttled)
 * after every request, so an interrupted replay resumes where it stopped. Returns whether anything was sent.
 */
export async function replayMetrics(context: ReplayContext, plan: RunPlan): Promise<boolean> {
  const { state, result } = plan;
  const localId = plan.local.info.runId;
  let sent = false;
  let gathered: Metric[] = [];
  const onServer = plan.checkServerHistory ? new ServerPoints(context, state.remoteRunId) : undefined;
  const send = async (final: boolean): Promise<void> => {
    const chunks = chunkBatch({ metrics: gathered });
    const rest = final ? undefined : chunks.pop();
    for (const chunk of chunks) {
      context.signal?.throwIfAborted();
      const points = chunk.metrics ?? [];
      const missing = onServer ? await onServer.missing(points) : points;
      if (missing.length > 0) await context.destination.logBatch(state.remoteRunId, { metrics: missing });
      for (const point of points) state.metrics[point.key] = (state.metrics[point.key] ?? 0) + 1;
      context.summary.pointsUploaded += missing.length;
      result.pointsUploaded += missing.length;
      context.progress.pointsDone += points.length;
      sent ||= missing.length > 0;
      await context.state.save();
      context.report();
    }
    gathered = rest?.metrics ?? [];
  };
  for (const [metricKey, total] of plan.keys) {
    const done = state.metrics[metricKey] ?? 0;
    if (done >= total) continue;
    const points = await metricPoints(context.source, localId, metricKey);
    for (let index = done; index < points.length; index++) gathered.push(points[index] as Metric);
    if (gathered.length >= GATHERED_POINTS) await send(false);
  }
  await send(true);
  return sent;
}

/** The points a run already holds on the server, read once per metric, each occurrence matched once. */
class ServerPoints {
  private readonly counts = new Map<string, Map<string, number>>();

  constructor(
    private readonly context: ReplayContext,
    private readonly remoteRunId: string,
  ) {}

  /** The points of a chunk the server does not hold yet, in their order. */
  async missing(points: Metric[]): Promise<Metric[]> {
    const result: Metric[] = [];
    for (const point of points) {
      const counts = await this.history(point.key);
      const id = pointId(point);
      const left = counts.get(id) ?? 0;
      if (left > 0) counts.set(id, left - 1);
      else result.push(point);
    }
    return result;
  }

  private async history(key: string): Promise<Map<string, number>> {
    let counts = this.counts.get(key);
    if (!counts) {
      counts = new Map();
      for (const point of await metricHistory(this.context.destination, this.remoteRunId, key)) {
        const id = pointId(point);
        counts.set(id, (counts.get(id) ?? 0) + 1);
      }
      this.counts.set(key, counts);
    }
    return counts;
  }
}

function pointId(point: Metric): string {
  return `${point.step}|${point.timestamp}|${Object.is(point.value, -0) ? 0 : point.value}`;
}

/** The artifact files of a run whose size differs from what was uploaded. Returns whether anything was sent. */
export async function replayArtifacts(context: ReplayContext, plan: RunPlan): Promise<boolean> {
  const { local, state } = plan;
  const localArtifactUri = local.info.artifactUri;
  if (!localArtifactUri) return false;
  let sent = false;
  const remoteArtifactUri = (await context.destination.getRun(state.remoteRunId)).info.artifactUri;
  for (const [path, size] of await listFilesRecursively(context.source, localArtifactUri)) {
    if (state.artifacts[path] === size) continue;
    context.signal?.throwIfAborted();
    const artifactSource = localArtifactUri.startsWith('file:')
      ? { file: join(fileURLToPath(localArtifactUri), ...path.split('/')) }
      : { bytes: await context.source.downloadArtifact(localArtifactUri, path) };
    await context.destination.uploadArtifact(remoteArtifactUri, path, artifactSource);
    state.artifacts[path] = size;
    sent = true;
    await countArtifactUpload(context, plan, size);
  }
  return sent;
}

/** The run's dataset inputs, sent again only when they changed since the last replay. Returns whether sent. */
export async function replayInputs(context: ReplayContext, plan: RunPlan): Promise<boolean> {
  const { local, state } = plan;
  const inputs = local.inputs?.datasetInputs ?? [];
  if (inputs.length === 0) return false;
  const inputsDigest = digest(inputs);
  if (state.inputsDigest === inputsDigest) return false;
  await context.destination.logInputs(state.remoteRunId, inputs);
  state.inputsDigest = inputsDigest;
  return true;
}

/**
 * The run's status and end time, applied last, after all its data, so the server never shows a run
 * ended while part of its data is still to come. Returns whether it was sent.
 */
export async function replayEndStatus(context: ReplayContext, plan: RunPlan): Promise<boolean> {
  const { local, state } = plan;
  const finalDigest = digest({ status: local.info.status, endTime: local.info.endTime ?? null });
  if (state.finalDigest === finalDigest) return false;
  await context.destination.updateRun(state.remoteRunId, {
    status: local.info.status,
    ...(local.info.endTime !== undefined ? { endTime: local.info.endTime } : {}),
  });
  state.finalDigest = finalDigest;
  return true;
}
