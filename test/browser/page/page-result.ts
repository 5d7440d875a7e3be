/** What the training page leaves in `window.result`: what it logged, or the error that stopped it. */
export interface PageResult {
  runId?: string;
  /** The tfjs backend the page trained on. */
  backend?: string;
  /** The logs of each epoch, as tfjs gave them to a callback. */
  epochs?: Record<string, number>[];
  /** Size of the canvas image it logged. */
  image?: { width: number; height: number };
  /** What the page's `SummaryWriter` (a run of its own) logged. */
  writer?: {
    runName: string;
    losses: number[];
    histogram: { min: number; max: number; count: number };
    text: string;
    image: { width: number; height: number };
  };
  error?: string;
}
