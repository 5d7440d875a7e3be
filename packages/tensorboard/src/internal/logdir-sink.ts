import { diag, MlflowValidationError, sanitizeKey } from '@mlflow-kit/core';
import type { EventFileWriter, EventFileWriterOptions } from './event-file-writer.js';
import type { Buckets, HistogramStats } from './histogram.js';
import { renderHistogram } from './histogram-chart.js';
import type { RgbaImage } from './image.js';
import type { PrCurve } from './pr-curve.js';
import { bindingFor, type RunBinding, type RunBindingOptions } from './run-binding.js';
import {
  encodeEvent,
  encodeMetadata,
  encodeSummary,
  floatTensor,
  type HparamValue,
  histogramValue,
  hparamsExperiment,
  hparamsSessionEnd,
  hparamsSessionStart,
  imageValue,
  metadataValue,
  prCurveMetadata,
  scalarValue,
  stringTensor,
  tensorValue,
} from './summary-proto.js';
import type { WriterPlatform } from './writer-platform.js';

/** Options of {@link LogdirSink}. */
export interface LogdirSinkOptions extends RunBindingOptions, EventFileWriterOptions {
  /** Write TensorBoard event files. @defaultValue `true` */
  tee?: boolean;
  /** Where the sink runs: Node (event files on disk) or a web page (MLflow only). */
  platform: WriterPlatform;
  /** Share this sink's run binding and key prefix instead of finding them from the directory. */
  shareWith?: LogdirSink;
}

/** Throws the typed error for a step that is not an integer, in tfjs-node's words. */
export function assertStep(tag: string, step: number): void {
  if (!Number.isInteger(step)) {
    throw new MlflowValidationError(tag, `step is expected to be an integer, but is instead ${step}`);
  }
}

function artifactSegment(tag: string): string {
  return sanitizeKey(tag).replace(/[: ]/g, '_');
}

/** One step of a histogram in its JSON artifact. */
interface HistogramRecord extends HistogramStats {
  step: number;
  wallTime: number;
  edges: number[];
  counts: number[];
}

/** Steps kept per histogram tag for its JSON artifact. */
const MAX_HISTOGRAM_RECORDS = 10_000;

/** Sinks with histogram data not yet uploaded; uploaded when the program runs out of work. */
const open = new Set<LogdirSink>();
let exitHookInstalled = false;

function installExitHook(platform: WriterPlatform): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Registered before any run of ours exists, so it runs before core ends those runs at `beforeExit`, and
  // their final flush includes these uploads.
  platform.onIdle(() => {
    for (const sink of open) sink.uploadHistograms();
    open.clear();
  });
}

const HISTOGRAM_METADATA = encodeMetadata({ pluginName: 'histograms' });
const TEXT_METADATA = encodeMetadata({ pluginName: 'text', dataClass: 2 });

/**
 * One log directory: its TensorBoard event file (when teeing) and its share of the root directory's MLflow
 * run, under the directory's key prefix. Every method validates, queues and returns.
 */
export class LogdirSink {
  private readonly histories = new Map<string, { records: HistogramRecord[]; dirty: boolean }>();
  /** The event file, when teeing. */
  readonly events: EventFileWriter | undefined;
  /** The run binding of the root log directory. */
  readonly binding: RunBinding;
  /** Prefix of MLflow keys and artifact folders, `''` or `<subdirectory>/`. */
  readonly prefix: string;

  constructor(
    readonly logdir: string,
    private readonly options: LogdirSinkOptions,
  ) {
    if (options.shareWith) {
      this.prefix = options.shareWith.prefix;
      this.binding = options.shareWith.binding;
    } else {
      const { root, prefix } = options.platform.splitLogdir(logdir);
      this.prefix = prefix;
      this.binding = bindingFor(root, options, options.platform);
    }
    this.events = options.tee === false ? undefined : options.platform.openEvents(logdir, options);
    installExitHook(options.platform);
  }

  private event(step: number, wallTime: number, value: Uint8Array): void {
    this.events?.add(encodeEvent({ wallTime, step, summary: encodeSummary([value]) }));
  }

  /** The MLflow metric key of a tag. */
  key(tag: string): string {
    return sanitizeKey(`${this.prefix}${tag}`);
  }

  /** The artifact file of a tag at a step: `<kind>/<prefix><tag>/step_<step>.<extension>`. */
  artifactFile(kind: string, tag: string, step: number, extension: string): string {
    return `${kind}/${artifactSegment(`${this.prefix}${tag}`)}/step_${step}.${extension}`;
  }

  /** A scalar: `simple_value` in the event file, a metric in MLflow (named `metricTag`, by default the tag). */
  scalar(tag: string, value: number, step: number, wallTime: number, metricTag = tag): void {
    this.events?.addScalar(tag, value, step, wallTime);
    if (!this.binding.recording) return;
    const key = this.key(metricTag);
    const timestamp = Math.round(wallTime * 1000);
    this.binding.send((run) => run.logMetric(key, value, { step, timestamp }));
  }

  /**
   * A histogram. `form: 'tensor'` writes tfjs-node's `[k, 3]` float tensor with the `histograms` plugin;
   * `'histo'` writes a `HistogramProto` as torch does. MLflow gets the summary metrics, the buckets as JSON
   * and a rendered PNG.
   */
  histogram(
    tag: string,
    buckets: Buckets,
    stats: HistogramStats,
    step: number,
    wallTime: number,
    form: 'tensor' | 'histo',
    description?: string,
  ): void {
    if (this.events) {
      const k = buckets.counts.length;
      if (form === 'tensor') {
        const rows = new Float32Array(k * 3);
        for (let i = 0; i < k; i++) {
          rows[i * 3] = buckets.edges[i] as number;
          rows[i * 3 + 1] = buckets.edges[i + 1] as number;
          rows[i * 3 + 2] = buckets.counts[i] as number;
        }
        const metadata =
          description === undefined
            ? HISTOGRAM_METADATA
            : encodeMetadata({ pluginName: 'histograms', description });
        this.event(step, wallTime, tensorValue(tag, floatTensor([k, 3], rows), metadata));
      } else {
        this.event(
          step,
          wallTime,
          histogramValue(tag, {
            min: stats.min,
            max: stats.max,
            num: stats.count,
            sum: stats.sum,
            sumSquares: stats.sumSquares,
            bucketLimit: buckets.edges.slice(1),
            bucket: buckets.counts,
          }),
        );
      }
    }
    if (!this.binding.recording) return;
    const key = this.key(tag);
    const timestamp = Math.round(wallTime * 1000);
    this.binding.send((run) =>
      run.logMetrics(
        {
          [`${key}/min`]: stats.min,
          [`${key}/max`]: stats.max,
          [`${key}/mean`]: stats.mean,
          [`${key}/std`]: stats.std,
          [`${key}/count`]: stats.count,
        },
        { step, timestamp },
      ),
    );
    let history = this.histories.get(tag);
    if (!history) {
      history = { records: [], dirty: false };
      this.histories.set(tag, history);
    }
    if (history.records.length >= MAX_HISTOGRAM_RECORDS) {
      history.records.shift();
      diag.once(
        `@mlflow-kit/tensorboard:histogram-cap:${this.logdir}:${tag}`,
        'warn',
        `Histogram ${tag} has over ${MAX_HISTOGRAM_RECORDS} steps; its artifact keeps the latest ${MAX_HISTOGRAM_RECORDS}.`,
      );
    }
    history.records.push({ step, wallTime, ...stats, edges: buckets.edges, counts: buckets.counts });
    history.dirty = true;
    open.add(this);
  }

  /**
   * Uploads the bucket data of each histogram changed since the last upload: `histograms/<tag>.json` with
   * every step, and `histograms/<tag>.png`, a chart of the latest step. One artifact pair per tag, rewritten,
   * rather than one per call, keeps the server's work (and the training process's) small.
   */
  uploadHistograms(): void {
    for (const [tag, history] of this.histories) {
      if (!history.dirty) continue;
      history.dirty = false;
      const records = [...history.records];
      const latest = records[records.length - 1];
      const json = `histograms/${artifactSegment(`${this.prefix}${tag}`)}.json`;
      const png = `histograms/${artifactSegment(`${this.prefix}${tag}`)}.png`;
      this.binding.send((run) =>
        Promise.all([
          run.logDict({ tag: `${this.prefix}${tag}`, steps: records }, json),
          latest ? run.logImage(renderHistogram(latest.counts), png) : undefined,
        ]),
      );
    }
  }

  /** An image: a `Summary.Image` PNG in the event file, a PNG artifact per tag and step in MLflow. */
  image(tag: string, image: RgbaImage, step: number, wallTime: number): void {
    // Encoded here only for the event file; without one, the run encodes the same pixels on its own.
    let png: Uint8Array | undefined;
    if (this.events) {
      png = this.options.platform.encodePng(image.width, image.height, image.data, tag);
      this.event(
        step,
        wallTime,
        imageValue(tag, { height: image.height, width: image.width, colorspace: 4, png }),
      );
    }
    if (!this.binding.recording) return;
    const file = this.artifactFile('images', tag, step, 'png');
    this.binding.send((run) => run.logImage(png ?? image, file));
  }

  /** Text: a string tensor with the `text` plugin in the event file, a text artifact per tag and step. */
  text(tag: string, text: string, step: number, wallTime: number): void {
    this.event(step, wallTime, tensorValue(tag, stringTensor([], [text]), TEXT_METADATA));
    if (!this.binding.recording) return;
    const file = this.artifactFile('text', tag, step, 'txt');
    this.binding.send((run) => run.logText(text, file));
  }

  /**
   * A precision–recall curve: a `[6, numThresholds]` float tensor with the `pr_curves` plugin's metadata in
   * the event file (as torch), and `pr_curves/<tag>/step_<step>.json` (thresholds and the six rows) in MLflow.
   */
  prCurve(tag: string, curve: PrCurve, step: number, wallTime: number): void {
    const n = curve.thresholds.length;
    const values = new Float32Array(6 * n);
    for (const [r, row] of curve.rows.entries()) values.set(row, r * n);
    this.event(step, wallTime, tensorValue(tag, floatTensor([6, n], values), prCurveMetadata(n)));
    if (!this.binding.recording) return;
    const [truePositives, falsePositives, trueNegatives, falseNegatives, precision, recall] = curve.rows;
    const json = JSON.stringify({
      step,
      wallTime,
      thresholds: curve.thresholds,
      precision,
      recall,
      truePositives,
      falsePositives,
      trueNegatives,
      falseNegatives,
    });
    const file = this.artifactFile('pr_curves', tag, step, 'json');
    this.binding.send((run) => run.logText(json, file));
  }

  /** An artifact only (no TensorBoard counterpart), such as an SVG figure. */
  artifact(kind: string, tag: string, step: number, extension: string, content: string): void {
    if (!this.binding.recording) return;
    const file = this.artifactFile(kind, tag, step, extension);
    this.binding.send((run) => run.logText(content, file));
  }

  /**
   * Hyperparameters and their metrics on this log directory's run: the hparams plugin's experiment, session
   * start and end summaries plus a scalar per metric in the event file; params plus metrics in MLflow.
   */
  hparams(
    hparams: Record<string, HparamValue>,
    metrics: Record<string, number>,
    step: number,
    wallTime: number,
  ): void {
    const metricTags = Object.keys(metrics);
    const content = [
      ['_hparams_/experiment', hparamsExperiment(hparams, metricTags)],
      ['_hparams_/session_start_info', hparamsSessionStart(hparams, wallTime)],
      ['_hparams_/session_end_info', hparamsSessionEnd(wallTime)],
    ] as const;
    for (const [tag, data] of content) {
      this.event(
        step,
        wallTime,
        metadataValue(tag, encodeMetadata({ pluginName: 'hparams', content: data })),
      );
    }
    for (const [tag, value] of Object.entries(metrics)) this.event(step, wallTime, scalarValue(tag, value));
    if (!this.binding.recording) return;
    const timestamp = Math.round(wallTime * 1000);
    const params = Object.fromEntries(
      Object.entries(hparams).map(([name, value]) => [this.key(name), value]),
    );
    const metricValues = Object.fromEntries(
      Object.entries(metrics).map(([name, value]) => [this.key(name), value]),
    );
    this.binding.send((run) => {
      run.logParams(params);
      run.logMetrics(metricValues, { step, timestamp });
    });
  }

  /** Writes the queued events and closes the event file. */
  closeEvents(): void {
    this.events?.close();
  }

  /** Writes the queued events, uploads changed histogram data, and waits until MLflow has everything. */
  async flush(): Promise<void> {
    this.events?.flush();
    this.uploadHistograms();
    await this.binding.flush();
  }
}
