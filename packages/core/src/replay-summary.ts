/** A snapshot of a replay's progress, passed to `ReplayOptions.onProgress`. */
export interface ReplayProgress {
  /**
   * What the replay is doing: `counting` local runs and their points (while `pointsTotal` still grows and
   * `runsPlanned` counts up to `runsTotal`), then `uploading` (`pointsTotal` is final).
   */
  phase: 'counting' | 'uploading';
  /** Runs whose points have been counted (and whose copy on the server was found or created). */
  runsPlanned: number;
  /** Metric points uploaded so far in this replay. */
  pointsDone: number;
  /** Metric points this replay has to upload in all. */
  pointsTotal: number;
  /** Runs finished so far. */
  runsDone: number;
  /** Runs this replay looks at. */
  runsTotal: number;
  /** Artifact files uploaded so far. */
  artifactsDone: number;
  /** Milliseconds since the replay started. */
  elapsedMs: number;
}

/** What happened to one local run in a replay. */
export interface ReplayedRun {
  localRunId: string;
  remoteRunId: string;
  experimentName: string;
  runName: string;
  /** `created` on the server by this replay, `resumed` (it existed and got more data), `unchanged`, or `failed`. */
  outcome: 'created' | 'resumed' | 'unchanged' | 'failed';
  pointsUploaded: number;
  artifactsUploaded: number;
  /** Why the run failed, for `failed`. */
  error?: string;
}

/** The result of `replayLocalRuns`. */
export interface ReplaySummary {
  /** The destination, without credentials. */
  destination: string;
  /** The local store, as a `file:` URI. */
  source: string;
  runs: ReplayedRun[];
  /** Runs created on the server by this replay. */
  created: number;
  /** Runs that existed on the server and received more data. */
  resumed: number;
  /** Runs with nothing new to upload. */
  unchanged: number;
  /** Runs that could not be uploaded; see {@link ReplayedRun.error}. */
  failed: number;
  pointsUploaded: number;
  paramsUploaded: number;
  tagsUploaded: number;
  artifactsUploaded: number;
  artifactBytesUploaded: number;
  durationMs: number;
  /** Metric points uploaded per second of the replay. */
  pointsPerSecond: number;
}
