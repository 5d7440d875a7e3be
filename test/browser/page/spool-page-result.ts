/** What the spool page leaves in `window.result`. */
export interface SpoolPageResult {
  runId?: string;
  /** Set on a reload of the `run` page. */
  reloaded?: boolean;
  /** Items in the page spool when the page loaded, before any upload. */
  spooledItems?: number;
  /** What `replayPageSpool` uploaded. */
  replay?: { runs: string[]; points: number; items: number; complete: boolean };
  error?: string;
}
