/** What the spool page leaves in `window.result`. */
export interface SpoolPageResult {
  runId?: string;
  /** Set on a reload of the `run` page. */
  reloaded?: boolean;
  /** Items in the page spool when the page loaded, before any upload. */
  spooledItems?: number;
  /** What `replayPageSpool` uploaded. */
  replay?: { runs: string[]; points: number; items: number; killed: string[]; complete: boolean };
  /** `?mode=offline`: milliseconds from the `withRun` call to its callback. */
  startMs?: number;
  /** `?mode=offline`: set once `withRun` has returned (the run has ended). */
  ended?: boolean;
  error?: string;
}
