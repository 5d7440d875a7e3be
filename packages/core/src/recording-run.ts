import { contextState } from './context.js';
import { diag } from './diag.js';
import { MlflowApiError, MlflowKitError, MlflowRunDeletedError, MlflowValidationError } from './errors.js';
import { inBackground } from './internal/background.js';
import { toJsonValue } from './internal/json-value.js';
import type { LocalFiles } from './internal/local-files.js';
import { OfflineProbe } from './internal/offline-probe.js';
import { untrackRun } from './internal/open-runs.js';
import { encodePngAsync, isPng } from './internal/png.js';
import type { SpoolSink } from './internal/spool-sink.js';
import { defaultRedactor, type Redactor, redactorFor } from './redact.js';
import type {
  CanvasLike,
  EndRunOptions,
  ImageDataLike,
  LogMetricOptions,
  ParamValue,
  Run,
  TableInput,
} from './run.js';
import { RunLogger, type RunLoggerOptions, type RunLoggerStats } from './run-logger.js';
import type { TrackingStore } from './store.js';
import type { DatasetInput, Metric, RunInfo } from './types.js';
import {
  isPlausibleTimestamp,
  LIMITS,
  normalizeArtifactPath,
  toMetricValue,
  toParamString,
  validateKey,
  validateStep,
  validateTimestamp,
} from './validation.js';

const encoder = new TextEncoder();
const nodeProcess = (): NodeJS.Process | undefined => (globalThis as { process?: NodeJS.Process }).process;
// At the end of a Node process; at once in a page, which has no such end.
const atProcessExit = (listener: () => void): void => {
  const node = nodeProcess();
  if (node?.once) node.once('exit', listener);
  else listener();
};
// The line a user must see: stderr in Node, a diag warning in a page (which has no stderr).
const say = (line: string): void => {
  const stderr = nodeProcess()?.stderr;
  if (stderr) stderr.write(`${line}\n`);
  else diag.warn(line);
};
const describe = (error: unknown): string => (error instanceof Error ? error.message : String(error));
// Error messages must not carry credentials: values of keys that look secret are not quoted.

function truncated(kind: 'param' | 'tag', key: string, value: string, limit: number): string {
  if (value.length <= limit) return value;
  diag.once(
    `truncate:${kind}:${key}`,
    'warn',
    `The ${kind} "${key}" has ${value.length} characters; MLflow keeps ${limit}, so it is cut to that (the server would do the same).`,
  );
  return value.slice(0, limit);
}

/** Turns any {@link TableInput} into MLflow's `{ columns, data }` table. */
export function toTable(table: TableInput): { columns: string[]; data: unknown[][] } {
  if (Array.isArray(table)) {
    const columns = [...new Set(table.flatMap((row) => Object.keys(row)))];
    return { columns, data: table.map((row) => columns.map((column) => row[column] ?? null)) };
  }
  if ('columns' in table && 'data' in table && Array.isArray(table.columns) && Array.isArray(table.data)) {
    return { columns: table.columns as string[], data: table.data as unknown[][] };
  }
  const columns = Object.keys(table);
  const lengths = new Set(columns.map((column) => (table as Record<string, unknown[]>)[column]?.length));
  if (
    lengths.size > 1 ||
    columns.some((column) => !Array.isArray((table as Record<string, unknown>)[column]))
  ) {
    throw new MlflowValidationError(
      'table',
      'A table given as an object of columns needs an array for every column, all of the same length.',
    );
  }
  const rows = columns.length === 0 ? 0 : ((table as Record<string, unknown[]>)[columns[0]!]?.length ?? 0);
  return {
    columns,
    data: Array.from({ length: rows }, (_, index) =>
      columns.map((column) => (table as Record<string, unknown[]>)[column]![index]),
    ),
  };
}

/** Options the run context passes to a {@link RecordingRun}. */
export interface RecordingRunOptions extends RunLoggerOptions {
  parentRunId?: string | undefined;
  /** Params already on the run (a resumed run), so that re-logging them is a no-op. */
  existingParams?: Record<string, string>;
  /** Tags already on the run (a resumed run). */
  existingTags?: Record<string, string>;
  /**
   * Redacts params, tags and the artifacts the run writes (`logDict`, `logText`, `logTable`), or `false`
   * to store params and tags verbatim (the user's `redact: false`).
   * @defaultValue the built-in rules
   */
  redactor?: Redactor | false;
  /** Where the run's data goes when the server cannot take it. */
  spool?: SpoolSink | undefined;
  /**
   * For a run started offline: milliseconds between tries of the server, which upload the spool once it
   * answers; `0` never tries before `end()`. @defaultValue `30000`
   */
  offlineProbeIntervalMs?: number;
  /**
   * How `logArtifact(path)` and `logArtifacts(dir)` read the local disk; without it (in a page) they throw.
   * @defaultValue `undefined`
   */
  localFiles?: LocalFiles | undefined;
}

interface InputsJob {
  datasets: DatasetInput[];
  /** Settled: on the server, in the spool, or refused. */
  done: boolean;
  sent: Promise<void>;
}

// MLflow's limits for dataset inputs (`mlflow/utils/validation.py` `_validate_dataset`, `_validate_input_tags`).
const DATASET_LIMITS: [keyof DatasetInput['dataset'], number][] = [
  ['name', 500],
  ['digest', 36],
  ['source', 65_535],
  ['schema', 1_048_575],
  ['profile', 16_777_215],
];

function checkDatasetInput(input: DatasetInput): DatasetInput {
  const { dataset } = input;
  const label = `dataset ${JSON.stringify(String(dataset?.name ?? ''))}`;
  if (
    !dataset ||
    typeof dataset.name !== 'string' ||
    dataset.name === '' ||
    typeof dataset.digest !== 'string'
  )
    throw new MlflowValidationError(label, 'A dataset input needs a non-empty `name` and a `digest` string.');
  for (const [field, limit] of DATASET_LIMITS) {
    const value = dataset[field];
    if (typeof value === 'string' && value.length > limit)
      throw new MlflowValidationError(
        label,
        `The ${field} of ${label} has ${value.length} characters; MLflow takes at most ${limit}.`,
      );
  }
  const tags: Record<string, string> = {};
  for (const [key, value] of Object.entries(input.tags ?? {})) {
    if (key.length > 255 || String(value).length > 500)
      throw new MlflowValidationError(
        key,
        `Input tag "${key}" of ${label} is too long: MLflow takes keys of at most 255 and values of at most 500 characters.`,
      );
    tags[key] = String(value);
  }
  return { dataset: { ...dataset }, tags };
}

/** A run that records to a store. Made by `startRun`; adapters see it only as {@link Run}. */
export class RecordingRun implements Run {
  readonly isRecording = true;
  readonly runId: string;
  readonly experimentId: string;
  readonly runName: string;
  readonly artifactUri: string;
  readonly url: string | undefined;
  readonly parentRunId: string | undefined;
  private readonly logger: RunLogger;
  private readonly params = new Map<string, string>();
  private readonly metricKeys = new Set<string>();
  private loggedArtifacts: { path: string; type: string }[] = [];
  private ended: Promise<void> | undefined;
  private readonly redactor: Redactor | false;
  private endStatus: NonNullable<EndRunOptions['status']> | undefined;
  private statusRecorded = false;
  private spoolReported = false;
  private readonly spool: SpoolSink | undefined;
  private readonly offline: boolean;
  private readonly pendingInputs = new Set<InputsJob>();
  private readonly endHooks: (() => void)[] = [];
  private readonly localFiles: LocalFiles | undefined;

  constructor(
    readonly store: TrackingStore,
    info: RunInfo,
    options: RecordingRunOptions = {},
  ) {
    this.runId = info.runId;
    this.experimentId = info.experimentId;
    this.runName = info.runName;
    this.artifactUri = info.artifactUri;
    this.url = store.runUrl(info.experimentId, info.runId);
    this.parentRunId = options.parentRunId;
    this.logger = new RunLogger(store, info.runId, { ...options, artifactUri: info.artifactUri });
    this.spool = options.spool;
    this.localFiles = options.localFiles;
    this.offline = (options.offline ?? false) && this.spool !== undefined;
    const probeMs = options.offlineProbeIntervalMs ?? 30_000;
    if (this.offline && this.spool && probeMs > 0) {
      const probe = new OfflineProbe(store, this.spool, {
        intervalMs: probeMs,
        onCreated: (remoteRunId) => {
          const say = (url: string | undefined): void =>
            diag.warn(
              `${store.trackingUri} answers again: run ${info.runName} (local id ${info.runId}) is on the server as run ${remoteRunId}${url ? ` (${url})` : ''}; what it logs is uploaded from the spool until it ends.`,
            );
          inBackground(() => store.getRun(remoteRunId)).then(
            (record) => say(store.runUrl(record.info.experimentId, remoteRunId)),
            () => say(undefined),
          );
        },
      });
      probe.start();
      this.endHooks.push(() => probe.stop());
    }
    this.redactor = options.redactor ?? defaultRedactor;
    if (this.redactor === false) {
      diag.warn(
        `REDACTION IS OFF for run ${info.runId} (redact: false): params and tags are stored verbatim, secrets included. Turn it back on unless every value is known to be clean.`,
      );
    }
    for (const [key, value] of Object.entries(options.existingParams ?? {})) this.params.set(key, value);
    const logged = options.existingTags?.['mlflow.loggedArtifacts'];
    if (logged) {
      try {
        this.loggedArtifacts = JSON.parse(logged) as { path: string; type: string }[];
      } catch {
        // A malformed tag from elsewhere is replaced on the next logTable.
      }
    }
  }

  /** Counters of the run's send queue. */
  get stats(): RunLoggerStats {
    return this.logger.stats;
  }

  /** Whether {@link RecordingRun.end} was called. */
  get isEnded(): boolean {
    return this.ended !== undefined;
  }

  logParam(key: string, value: ParamValue): void {
    this.logParams({ [key]: value });
  }

  logParams(params: Record<string, ParamValue>): void {
    this.checkOpen();
    const fresh: { key: string; value: string }[] = [];
    const seen = new Map<string, string>();
    const redactor = redactorFor(params, this.redactor);
    // Check everything before queueing anything, so a bad entry leaves no half-logged set behind.
    for (const [key, raw] of Object.entries(params)) {
      validateKey('param', key);
      this.refuseCredentialKey('param', key);
      const value = truncated('param', key, toParamString(key, raw, redactor), LIMITS.maxParamValueLength);
      const existing = this.params.get(key) ?? seen.get(key);
      if (existing === value) continue;
      if (existing !== undefined) {
        // Neither value is quoted: either may hold a credential the rules do not know.
        throw new MlflowValidationError(
          key,
          `Param "${key}" was already logged with another value and cannot change: MLflow params are write-once. Log the new value under another key, or start a new run.`,
        );
      }
      seen.set(key, value);
      fresh.push({ key, value });
    }
    if (fresh.length === 0) return;
    for (const { key, value } of fresh) this.params.set(key, value);
    this.logger.addParams(fresh);
  }

  logMetric(key: string, value: number, options?: LogMetricOptions): void {
    if (this.ended) this.checkOpen();
    const timestamp = options?.timestamp ?? Date.now();
    const step = options?.step ?? 0;
    this.checkPoint(key, step, timestamp);
    this.logger.addMetric({
      key,
      value: typeof value === 'number' ? value : toMetricValue(key, value),
      timestamp,
      step,
    });
  }

  logMetrics(metrics: Record<string, number>, options: LogMetricOptions = {}): void {
    this.checkOpen();
    const timestamp = options.timestamp ?? Date.now();
    const step = options.step ?? 0;
    const points: Metric[] = [];
    // Validate every entry before queueing any, so a bad one leaves nothing half-logged.
    for (const key in metrics) {
      const raw = metrics[key];
      this.checkPoint(key, step, timestamp);
      points.push({ key, value: typeof raw === 'number' ? raw : toMetricValue(key, raw), timestamp, step });
    }
    this.logger.addMetrics(points);
  }

  // Log calls sit in training loops: a key is checked against MLflow's rules once per run, not per point.
  private checkPoint(key: string, step: number, timestamp: number): void {
    if (!this.metricKeys.has(key)) {
      validateKey('metric', key);
      this.refuseCredentialKey('metric', key);
      this.metricKeys.add(key);
    }
    if (!Number.isSafeInteger(step)) validateStep(key, step);
    if (!isPlausibleTimestamp(timestamp)) validateTimestamp(key, timestamp);
  }

  // Keys are stored as they are (redacting one would merge or rename data), so a key holding a credential-shaped
  // part (a token pasted as a metric name, a URL with a password) is refused, naming the key redacted.
  private refuseCredentialKey(kind: 'param' | 'tag' | 'metric', key: string): void {
    if (this.redactor === false) return;
    const redacted = this.redactor.text(key);
    if (redacted === key) return;
    throw new MlflowValidationError(
      redacted,
      `The ${kind} key "${redacted}" holds a credential-shaped part (shown as ***): it is not logged, since keys are stored verbatim. Rename the ${kind}.`,
    );
  }

  setTag(key: string, value: ParamValue): void {
    this.setTags({ [key]: value });
  }

  setTags(tags: Record<string, ParamValue>): void {
    this.checkOpen();
    const entries: { key: string; value: string }[] = [];
    for (const [key, raw] of Object.entries(tags)) {
      validateKey('tag', key);
      this.refuseCredentialKey('tag', key);
      entries.push({
        key,
        value: truncated('tag', key, toParamString(key, raw, this.redactor), LIMITS.maxTagValueLength),
      });
    }
    this.logger.addTags(entries);
  }

  async logArtifact(localPath: string, artifactPath?: string): Promise<void> {
    this.checkOpen();
    const file = await this.files('logArtifact').file(localPath);
    await this.upload(this.join(artifactPath, file.relativePath), { file: file.path });
  }

  async logArtifacts(localDir: string, artifactPath?: string): Promise<void> {
    this.checkOpen();
    const files = await this.files('logArtifacts').directory(localDir);
    await Promise.all(
      files.map((file) => this.upload(this.join(artifactPath, file.relativePath), { file: file.path })),
    );
  }

  private files(method: string): LocalFiles {
    if (this.localFiles) return this.localFiles;
    throw new MlflowKitError(
      `${method} reads local files, and this run has no file system (a web page): log the content itself with logText, logDict, logTable or logImage.`,
    );
  }

  async logBytes(bytes: Uint8Array, artifactFile: string): Promise<void> {
    await this.upload(this.join(undefined, artifactFile), { bytes });
  }

  async logText(text: string, artifactFile: string): Promise<void> {
    const clean = this.redactor === false ? text : this.redactor.text(text);
    await this.upload(this.join(undefined, artifactFile), { bytes: encoder.encode(clean) });
  }

  async logDict(value: unknown, artifactFile: string): Promise<void> {
    const path = this.join(undefined, artifactFile);
    // Artifacts we write are redacted like params, and converted by the same JSON rule (cycles refused).
    const data = toJsonValue(value, redactorFor(value, this.redactor), artifactFile);
    let text: string;
    if (/\.ya?ml$/i.test(path)) {
      const { stringify } = await import('yaml');
      text = stringify(data, { sortMapEntries: false });
    } else {
      text = `${JSON.stringify(data, null, 2)}\n`;
    }
    await this.upload(path, { bytes: encoder.encode(text) });
  }

  async logTable(table: TableInput, artifactFile: string): Promise<void> {
    const path = this.join(undefined, artifactFile);
    if (!path.endsWith('.json')) {
      throw new MlflowValidationError(
        artifactFile,
        `Table file ${JSON.stringify(artifactFile)} must end in .json, which is what the MLflow UI reads.`,
      );
    }
    await this.upload(path, { bytes: encoder.encode(JSON.stringify(toTable(table))) });
    // The UI lists tables from this tag, as MLflow's Python `log_table` sets it.
    if (!this.loggedArtifacts.some((entry) => entry.path === path))
      this.loggedArtifacts.push({ path, type: 'table' });
    this.setTag('mlflow.loggedArtifacts', JSON.stringify(this.loggedArtifacts));
  }

  async logImage(image: Uint8Array | ImageDataLike | CanvasLike, artifactFile: string): Promise<void> {
    const path = this.join(undefined, artifactFile);
    let bytes: Uint8Array;
    if (typeof image === 'object' && image !== null && 'getContext' in image) {
      const context = typeof image.getContext === 'function' ? image.getContext('2d') : null;
      if (!context) {
        throw new MlflowValidationError(
          artifactFile,
          `logImage for ${artifactFile} reads a canvas through its 2D context, and this canvas has none (a WebGL canvas): pass canvas.toDataURL()'s PNG bytes or an ImageData instead.`,
        );
      }
      image = context.getImageData(0, 0, image.width, image.height);
    }
    if (image instanceof Uint8Array) {
      bytes = image;
    } else if (typeof image === 'object' && image !== null && 'width' in image && 'data' in image) {
      if (!/\.png$/i.test(path)) {
        throw new MlflowValidationError(
          artifactFile,
          `Raw image data is encoded as PNG: name the file ${JSON.stringify(`${artifactFile}.png`)}.`,
        );
      }
      bytes = await encodePngAsync(image.width, image.height, image.data, artifactFile);
    } else {
      throw new MlflowValidationError(
        artifactFile,
        `logImage for ${artifactFile} takes PNG/JPEG bytes (Uint8Array), an RGBA image { width, height, data } or a 2D canvas.`,
      );
    }
    if (/\.png$/i.test(path) && !isPng(bytes)) {
      throw new MlflowValidationError(
        artifactFile,
        `The bytes given for ${artifactFile} are not a PNG file.`,
      );
    }
    await this.upload(path, { bytes });
  }

  async logInputs(datasets: DatasetInput[]): Promise<void> {
    this.checkOpen();
    const inputs = datasets.map(checkDatasetInput);
    if (inputs.length === 0) return;
    if (this.offline) {
      this.spoolInputs(inputs);
      return;
    }
    const job: InputsJob = { datasets: inputs, done: false, sent: Promise.resolve() };
    job.sent = this.store.logInputs(this.runId, inputs).then(
      () => {
        job.done = true;
      },
      (error: unknown) => {
        if (job.done) return;
        job.done = true;
        // A refusal (400) would be refused again on replay; anything else may pass later, so it is kept.
        if (MlflowApiError.isInstance(error) && error.status === 400) {
          diag.warn(`The server refused the dataset inputs of run ${this.runId}: ${describe(error)}`);
        } else if (this.spool) {
          this.spoolInputs(inputs);
        } else {
          diag.warn(`Could not log the dataset inputs of run ${this.runId}: ${describe(error)}`);
        }
      },
    );
    this.pendingInputs.add(job);
    await job.sent;
    this.pendingInputs.delete(job);
  }

  private spoolInputs(inputs: DatasetInput[]): void {
    try {
      this.spool?.writeInputs(inputs);
    } catch (error) {
      diag.error(`Could not write the dataset inputs of run ${this.runId} to the spool: ${describe(error)}`);
    }
  }

  /** Inputs still unanswered go to the spool (a copy the server did take is ignored by it on replay). */
  private spillInputs(): void {
    for (const job of this.pendingInputs) {
      if (job.done) continue;
      job.done = true;
      if (this.spool) this.spoolInputs(job.datasets);
    }
    this.pendingInputs.clear();
  }

  /**
   * Registers a function called once when the run ends, before its data is flushed (such as stopping the
   * system metrics timer). Called at once when the run has ended already.
   */
  onEnd(hook: () => void): void {
    if (this.ended) hook();
    else this.endHooks.push(hook);
  }

  private runEndHooks(): void {
    for (const hook of this.endHooks.splice(0)) {
      try {
        hook();
      } catch (error) {
        diag.warn(`An end hook of run ${this.runId} failed: ${describe(error)}`);
      }
    }
  }

  async flush(): Promise<void> {
    await this.logger.flush();
    // The server answered that the run is deleted: its data is in the spool, not on the server.
    const deleted = this.logger.runDeleted;
    if (deleted) throw deleted;
  }

  end(options: EndRunOptions = {}): Promise<void> {
    return this.endWithin(options.status ?? 'FINISHED');
  }

  /**
   * Ends the run, waiting at most `flushTimeoutMs` for queued data (the logger's bound by default); what is
   * left goes to the spool, and then the end status too, so the run is never marked ended on the server while
   * part of its data is missing there. A second call does nothing.
   */
  endWithin(status: NonNullable<EndRunOptions['status']>, flushTimeoutMs?: number): Promise<void> {
    this.ended ??= this.finish(status, flushTimeoutMs);
    return this.ended;
  }

  /**
   * Writes everything not yet on the server, and the end status, to the spool at once and synchronously.
   * For `process.on('exit')`, crash and signal handlers, where nothing asynchronous runs any more.
   */
  spoolAtExit(status: NonNullable<EndRunOptions['status']>): void {
    this.ended ??= Promise.resolve();
    this.runEndHooks();
    this.spillInputs();
    this.logger.spillAllSync();
    if (!this.statusRecorded && this.spool) {
      try {
        this.spool.writeEnd(this.endStatus ?? status, Date.now());
        this.statusRecorded = true;
      } catch (error) {
        diag.error(`Could not write the end status of run ${this.runId} to the spool: ${describe(error)}`);
      }
    }
    untrackRun(this);
    this.reportSpool();
  }

  /**
   * Writes everything not yet known to be on the server (queued, or in a request not yet answered) to the
   * spool at once and synchronously, and goes on recording: for a web page that is hidden, which the
   * browser may discard without another event.
   */
  spoolPending(): void {
    if (this.spool) this.logger.spillAllSync();
  }

  private async finish(
    status: NonNullable<EndRunOptions['status']>,
    flushTimeoutMs: number | undefined,
  ): Promise<void> {
    this.endStatus = status;
    this.runEndHooks();
    const state = contextState();
    const index = state.stack.lastIndexOf(this);
    if (index >= 0) state.stack.splice(index, 1);
    const started = Date.now();
    if (this.pendingInputs.size > 0) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        Promise.all([...this.pendingInputs].map((job) => job.sent)),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, flushTimeoutMs ?? 5000);
        }),
      ]);
      clearTimeout(timer);
      this.spillInputs();
    }
    await this.logger.flush(flushTimeoutMs);
    // What is left, and a request still unanswered after the bound, go to the spool (a copy the server did
    // take is ignored by it on replay), so the program never waits for them.
    if (this.spool && (this.logger.busy || this.logger.stats.queued > 0)) this.logger.spillAllSync();
    this.logger.close();
    const remaining = (): number => Math.max(1000, (flushTimeoutMs ?? 5000) - (Date.now() - started));
    if (this.logger.undelivered && this.spool && !this.logger.runDeleted) {
      this.spool.writeEnd(status, Date.now());
      this.statusRecorded = true;
    } else if (!this.logger.runDeleted) {
      await this.recordStatus(status, remaining());
    }
    const deleted = this.logger.runDeleted;
    if (deleted) {
      // The server refuses the run: the status joins its data in the spool for `mlflow-kit sync` after a
      // restore, no replay is tried, and end() does not report success.
      if (this.spool && !this.statusRecorded) {
        this.spool.writeEnd(status, Date.now());
        this.statusRecorded = true;
      }
      const spool = this.spool;
      if (spool?.pending) atProcessExit(() => spool.pending && this.reportSpool());
      untrackRun(this);
      throw deleted;
    }
    // The spool is replayed now if the server answers (data first, then the status), within what is left of
    // the bound; a replay still going on after it goes on in the background while the process lives.
    if (this.spool?.pending) await this.replayWithin(this.spool, remaining());
    const { queued } = this.logger.stats;
    if (queued > 0) diag.error(`Run ${this.runId} ended with ${queued} item(s) that could not be written.`);
    if (this.spool?.pending) {
      const spool = this.spool;
      atProcessExit(() => {
        if (spool.pending) this.reportSpool();
      });
    } else if (this.url && !this.offline) diag.info(`View run ${this.runName} at: ${this.url}`);
    // (A run started offline has a local id; the replay reports the server's run when it makes or finds it.)
    untrackRun(this);
  }

  private async replayWithin(spool: SpoolSink, timeoutMs: number): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      spool.replay(this.store),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      }),
    ]);
    clearTimeout(timer);
  }

  // The status goes to the server; if the server does not take it in time, to the spool.
  private async recordStatus(status: NonNullable<EndRunOptions['status']>, timeoutMs: number): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    const endTime = Date.now();
    try {
      const outcome = await Promise.race([
        // Background work: past the bound the status goes to the spool, and an unanswered request must not
        // keep the process alive.
        inBackground(() => this.store.updateRun(this.runId, { status, endTime })).then(() => 'done' as const),
        timedOut,
      ]);
      if (outcome === 'done') {
        this.statusRecorded = true;
        return;
      }
    } catch (error) {
      if (MlflowRunDeletedError.answerOf(error) !== undefined) {
        this.logger.markDeleted(error);
        return;
      }
      if (!this.spool || (MlflowApiError.isInstance(error) && !error.retryable)) {
        diag.error(`Could not mark run ${this.runId} ${status}: ${describe(error)}`);
        return;
      }
    } finally {
      clearTimeout(timer);
    }
    if (this.spool) {
      this.spool.writeEnd(status, endTime);
      this.statusRecorded = true;
    }
  }

  // The one line a user must see whatever the diag level (silent by default): data is left on this machine
  // and needs a command. It goes to stderr directly, once per run, at the end of the process.
  private reportSpool(): void {
    const spool = this.spool;
    if (!spool?.pending || this.spoolReported) return;
    this.spoolReported = true;
    const deleted = this.logger.runDeleted;
    if (deleted) {
      say(`mlflow-kit: ${deleted.message}`);
      return;
    }
    say(
      `mlflow-kit: run ${this.runId}: ${spool.pendingPoints} metric point(s)${spool.items > spool.points ? ' and other items' : ''}${spool.endStatus ? ` and its end status ${spool.endStatus}` : ''} could not reach ${this.store.trackingUri} and are in the spool at ${spool.storeDir}. Upload them with: ${spool.command}`,
    );
  }

  private checkOpen(): void {
    if (this.ended) {
      throw new MlflowKitError(
        `Run ${this.runId} has ended: it takes no more data. Log before calling end(), or start a new run.`,
      );
    }
  }

  private join(directory: string | undefined, file: string): string {
    const path = normalizeArtifactPath(directory ? `${directory}/${file}` : file);
    if (!path) throw new MlflowValidationError(file, 'An artifact needs a file name, such as "summary.txt".');
    return path;
  }

  // Artifacts take the same path as metrics: the queue, its retries, the spool and flush().
  private upload(path: string, source: { bytes: Uint8Array } | { file: string }): Promise<void> {
    this.checkOpen();
    return this.logger.addArtifact(path, source);
  }
}
