import {
  diag,
  type EndRunOptions,
  getActiveRun,
  type Run,
  resolveEnabled,
  type StartRunOptions,
} from '@mlflow-kit/core';
import { applyDebugOption } from '@mlflow-kit/core/internal';
import type { WriterPlatform } from './writer-platform.js';

/** Tracking options shared by the writers: which run receives the data, or how to start one. */
export interface RunBindingOptions extends StartRunOptions {
  /** Log to this run instead of the active run or a run of our own. */
  run?: Run;
}

/** Operations waiting for the run to exist; beyond this many the oldest are dropped and reported. */
const MAX_WAITING = 100_000;

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The MLflow run of one root log directory: the given run, else the run active at the first write, else a
 * run started lazily (named after the directory) and ended by {@link RunBinding.end} or at exit. Writes made
 * while that run starts wait in order; nothing is sent when tracking is off.
 */
export class RunBinding {
  private run: Run | undefined;
  private starting: Promise<void> | undefined;
  private waiting: Array<(run: Run) => unknown> = [];
  private readonly tasks = new Set<Promise<unknown>>();
  private ownsRun = false;
  private enabled: boolean;

  constructor(
    readonly root: string,
    private readonly options: RunBindingOptions,
    private readonly platform: WriterPlatform,
  ) {
    this.run = options.run;
    this.enabled = resolveEnabled(options).enabled;
    if (!this.recording) {
      diag.debug(
        `@mlflow-kit/tensorboard: tracking is off and no run is active; ${root} gets TensorBoard files only.`,
      );
    }
  }

  /** Whether writes go to MLflow: a run is given, active, ours or about to be started. */
  get recording(): boolean {
    if (this.options.enabled === false) return false;
    return (
      this.run !== undefined || this.starting !== undefined || this.enabled || getActiveRun() !== undefined
    );
  }

  /** The run receiving the data, once known. */
  get currentRun(): Run | undefined {
    return this.run;
  }

  /** Runs `operation` on the run now, or once the run has started. Errors are reported, never thrown. */
  send(operation: (run: Run) => unknown): void {
    if (this.options.enabled === false) return;
    if (!this.ownsRun && this.options.run === undefined && this.starting === undefined) {
      // Follow the active run: the one open now, also when the user ended one and started another.
      this.run = getActiveRun();
    }
    if (this.run) {
      this.apply(this.run, operation);
      return;
    }
    if (!this.starting) {
      if (!this.enabled) return;
      this.starting = this.start();
    }
    if (this.waiting.length >= MAX_WAITING) {
      this.waiting.shift();
      diag.once(
        `@mlflow-kit/tensorboard:waiting:${this.root}`,
        'warn',
        `The MLflow run for ${this.root} is still starting; dropping the oldest of ${MAX_WAITING} waiting writes.`,
      );
    }
    this.waiting.push(operation);
  }

  private async start(): Promise<void> {
    try {
      const { run: _run, ...startOptions } = this.options;
      this.run = await this.platform.startRun({
        runName: this.platform.baseName(this.root),
        ...startOptions,
      });
      this.ownsRun = true;
    } catch (error) {
      this.enabled = false;
      this.starting = undefined;
      this.waiting = [];
      diag.warn(
        `@mlflow-kit/tensorboard could not start an MLflow run for ${this.root}; TensorBoard files are still written: ${message(error)}`,
      );
      return;
    }
    const run = this.run;
    const waiting = this.waiting;
    this.waiting = [];
    for (const operation of waiting) this.apply(run, operation);
  }

  private apply(run: Run, operation: (run: Run) => unknown): void {
    try {
      const result = operation(run);
      if (result instanceof Promise) {
        const task = result.catch((error: unknown) => this.report(error));
        this.tasks.add(task);
        void task.finally(() => this.tasks.delete(task));
      }
    } catch (error) {
      this.report(error);
    }
  }

  private report(error: unknown): void {
    diag.once(
      `@mlflow-kit/tensorboard:${message(error)}`,
      'warn',
      `@mlflow-kit/tensorboard could not log to MLflow; training goes on: ${message(error)}`,
    );
  }

  /** Waits until everything sent so far has reached the run's queue and the run has flushed it. */
  async flush(): Promise<void> {
    await this.starting;
    while (this.tasks.size > 0) await Promise.allSettled([...this.tasks]);
    await this.run?.flush();
  }

  /** Flushes, and ends the run if this binding started it; a later write starts a new run. */
  async end(options?: EndRunOptions): Promise<void> {
    await this.flush();
    const run = this.run;
    if (this.ownsRun && run) {
      this.run = this.options.run;
      this.starting = undefined;
      this.ownsRun = false;
      await run.end(options);
    }
  }
}

const bindings = new Map<string, RunBinding>();

/** The binding of a root log directory, created with `options` on first use. */
export function bindingFor(root: string, options: RunBindingOptions, platform: WriterPlatform): RunBinding {
  // Every writer and callback comes here first: `debug: true` also explains why nothing reaches MLflow.
  applyDebugOption(options.debug);
  let binding = bindings.get(root);
  if (!binding || (options.run !== undefined && binding.currentRun !== options.run)) {
    binding = new RunBinding(root, options, platform);
    bindings.set(root, binding);
  }
  return binding;
}
