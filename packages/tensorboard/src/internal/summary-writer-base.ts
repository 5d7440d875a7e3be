import { type EndRunOptions, MlflowValidationError } from '@mlflow-kit/core';
import { assertFinite, type Buckets, histogramStats, tfjsBuckets } from './histogram.js';
import { type ImageData, type ImageFormat, type ImagesFormat, tileImages, toRgbaImages } from './image.js';
import { assertStep, LogdirSink } from './logdir-sink.js';
import { computePrCurve } from './pr-curve.js';
import type { RunBindingOptions } from './run-binding.js';
import type { HparamValue } from './summary-proto.js';
import { type NumericData, readNumbers, type TensorLike } from './tensor-like.js';
import type { WriterPlatform } from './writer-platform.js';

/** Options of {@link SummaryWriter}: torch's constructor arguments in camelCase, plus tracking options. */
export interface SummaryWriterOptions extends RunBindingOptions {
  /** Log directory. @defaultValue `runs/<Mon><DD>_<HH>-<MM>-<SS>_<hostname><comment>`, as torch */
  logDir?: string;
  /** Appended to the default `logDir`. @defaultValue `''` */
  comment?: string;
  /** Queued events that trigger a write to disk. @defaultValue `10` */
  maxQueue?: number;
  /** Seconds between background writes of queued events. @defaultValue `120` */
  flushSecs?: number;
  /** Suffix of the event file names. @defaultValue `''` */
  filenameSuffix?: string;
  /** Also write TensorBoard event files. @defaultValue `true` */
  tee?: boolean;
  /** Default number of histogram buckets. @defaultValue `30` */
  defaultBins?: number;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function defaultLogDir(comment: string, platform: WriterPlatform): string {
  const now = new Date();
  const two = (n: number): string => String(n).padStart(2, '0');
  const stamp = `${MONTHS[now.getMonth()]}${two(now.getDate())}_${two(now.getHours())}-${two(now.getMinutes())}-${two(now.getSeconds())}`;
  return platform.join('runs', `${stamp}_${platform.hostname()}${comment}`);
}

function scalarNumber(tag: string, value: number | TensorLike): number {
  if (typeof value === 'number') return value;
  if (
    typeof value === 'object' &&
    value !== null &&
    typeof value.dataSync === 'function' &&
    value.size === 1
  ) {
    return Number(value.dataSync()[0]);
  }
  throw new MlflowValidationError(
    tag,
    `Scalar ${tag} is ${typeof value === 'object' && value !== null && 'shape' in value ? `a tensor of shape [${value.shape.join(', ')}]` : typeof value}: pass a number or a one-element tensor.`,
  );
}

/**
 * The torch/tensorboardX-style writer, on a platform: Node's `SummaryWriter` (event files and MLflow) and the
 * web page's (MLflow only) are this class with their platform. Use `SummaryWriter`.
 */
export class SummaryWriterBase {
  /** The log directory. */
  readonly logDir: string;
  /** Default number of histogram buckets. */
  readonly defaultBins: number;
  private sink: LogdirSink;
  private readonly options: SummaryWriterOptions;
  private readonly children = new Map<string, LogdirSink>();
  private closed = false;

  constructor(
    options: SummaryWriterOptions,
    private readonly platform: WriterPlatform,
  ) {
    this.options = options;
    this.logDir = options.logDir ?? defaultLogDir(options.comment ?? '', platform);
    this.defaultBins = options.defaultBins ?? 30;
    this.sink = new LogdirSink(this.logDir, this.sinkOptions());
  }

  private sinkOptions(): ConstructorParameters<typeof LogdirSink>[1] {
    const { logDir: _logDir, comment: _comment, flushSecs, defaultBins: _bins, ...rest } = this.options;
    return { ...rest, flushMillis: (flushSecs ?? 120) * 1000, platform: this.platform };
  }

  private step(tag: string, globalStep: number | undefined): number {
    if (this.closed) {
      // As torch: a write after close() opens a new event file (and, when needed, a new run).
      this.closed = false;
      this.children.clear();
      this.sink = new LogdirSink(this.logDir, this.sinkOptions());
    }
    const step = globalStep ?? 0;
    assertStep(tag, step);
    return step;
  }

  private wallTime(tag: string, walltime: number | undefined): number {
    if (walltime === undefined) return Date.now() / 1000;
    if (!Number.isFinite(walltime)) {
      throw new MlflowValidationError(
        tag,
        `walltime of ${tag} is ${walltime}: pass seconds since the epoch.`,
      );
    }
    return walltime;
  }

  /** Returns the log directory (torch's `get_logdir()`). */
  getLogdir(): string {
    return this.logDir;
  }

  /** Logs a scalar (a number or one-element tensor; NaN and ±Infinity allowed) at `globalStep`. */
  addScalar(tag: string, scalarValue: number | TensorLike, globalStep?: number, walltime?: number): void {
    const step = this.step(tag, globalStep);
    this.sink.scalar(tag, scalarNumber(tag, scalarValue), step, this.wallTime(tag, walltime));
  }

  /**
   * Logs several scalars that share a chart. As torch, each goes to the sub-directory
   * `<logDir>/<mainTag>_<tag>` under the tag `mainTag`; in MLflow they are the metrics `<mainTag>/<tag>`.
   */
  addScalars(
    mainTag: string,
    tagScalarDict: Record<string, number | TensorLike>,
    globalStep?: number,
    walltime?: number,
  ): void {
    const step = this.step(mainTag, globalStep);
    const wallTime = this.wallTime(mainTag, walltime);
    const values = Object.entries(tagScalarDict).map(
      ([tag, value]) => [tag, scalarNumber(`${mainTag}/${tag}`, value)] as const,
    );
    for (const [tag, value] of values) {
      const dir = this.platform.join(this.logDir, `${mainTag.replaceAll('/', '_')}_${tag}`);
      let child = this.children.get(dir);
      if (!child) {
        child = new LogdirSink(dir, { ...this.sinkOptions(), shareWith: this.sink });
        this.children.set(dir, child);
      }
      child.scalar(mainTag, value, step, wallTime, `${mainTag}/${tag}`);
    }
  }

  /**
   * Logs a histogram of `values` (tensor or array, any shape) in `bins` equal-width buckets (tfjs-node's
   * bucketing). Empty data is refused, as torch does, with an {@link MlflowValidationError} naming the tag;
   * so are NaN and ±Infinity.
   */
  addHistogram(
    tag: string,
    values: NumericData,
    globalStep?: number,
    bins?: number,
    walltime?: number,
  ): void {
    const step = this.step(tag, globalStep);
    const { values: numbers } = readNumbers(values);
    if (numbers.length === 0) {
      throw new MlflowValidationError(tag, `Histogram ${tag} has no values: pass at least one number.`);
    }
    assertFinite(tag, numbers);
    const buckets = tfjsBuckets(numbers, bins ?? this.defaultBins);
    this.sink.histogram(tag, buckets, histogramStats(numbers), step, this.wallTime(tag, walltime), 'histo');
  }

  /**
   * Logs a histogram computed elsewhere (torch's `add_histogram_raw`): `bucketLimits` are the right edges
   * of the buckets, `bucketCounts` their counts.
   */
  addHistogramRaw(
    tag: string,
    min: number,
    max: number,
    num: number,
    sum: number,
    sumSquares: number,
    bucketLimits: ArrayLike<number>,
    bucketCounts: ArrayLike<number>,
    globalStep?: number,
    walltime?: number,
  ): void {
    const step = this.step(tag, globalStep);
    if (bucketLimits.length !== bucketCounts.length) {
      throw new MlflowValidationError(
        tag,
        `Histogram ${tag}: bucketLimits has ${bucketLimits.length} entries but bucketCounts ${bucketCounts.length}; they must be equally long.`,
      );
    }
    if (bucketCounts.length === 0) {
      throw new MlflowValidationError(tag, `Histogram ${tag} has no buckets: pass at least one bucket.`);
    }
    assertFinite(tag, [min, max, num, sum, sumSquares]);
    const buckets: Buckets = { edges: [min, ...Array.from(bucketLimits)], counts: Array.from(bucketCounts) };
    const mean = num > 0 ? sum / num : 0;
    const stats = {
      min,
      max,
      mean,
      std: num > 0 ? Math.sqrt(Math.max(0, sumSquares / num - mean * mean)) : 0,
      count: num,
      sum,
      sumSquares,
    };
    this.sink.histogram(tag, buckets, stats, step, this.wallTime(tag, walltime), 'histo');
  }

  /**
   * Logs an image: a tensor or a typed array (then give `shape`) in `dataformats` `CHW` (default), `HWC` or
   * `HW`; floats are read as 0–1, `Uint8Array`s and int32 tensors as 0–255; 1, 3 or 4 channels.
   */
  addImage(
    tag: string,
    image: ImageData,
    globalStep?: number,
    walltime?: number,
    dataformats: ImageFormat = 'CHW',
    shape?: readonly number[],
  ): void {
    const step = this.step(tag, globalStep);
    const [rgba] = toRgbaImages(tag, image, dataformats, shape);
    this.sink.image(tag, rgba as NonNullable<typeof rgba>, step, this.wallTime(tag, walltime));
  }

  /** Logs a batch of images (`NCHW` by default, or `NHWC`/`NHW`) as one grid image, 8 per row. */
  addImages(
    tag: string,
    images: ImageData,
    globalStep?: number,
    walltime?: number,
    dataformats: ImagesFormat = 'NCHW',
    shape?: readonly number[],
  ): void {
    const step = this.step(tag, globalStep);
    const grid = tileImages(toRgbaImages(tag, images, dataformats, shape));
    this.sink.image(tag, grid, step, this.wallTime(tag, walltime));
  }

  /**
   * Logs a precision–recall curve, as torch's `add_pr_curve`: `labels` (0/1 or booleans) and `predictions`
   * (in [0, 1]) as tensors or arrays, bucketed at `numThresholds` evenly spaced thresholds. TensorBoard's PR
   * curves dashboard shows it; in MLflow it is `pr_curves/<tag>/step_<step>.json` (thresholds, precision,
   * recall and the four counts). Bad values are an {@link MlflowValidationError} naming the tag.
   *
   * @param numThresholds - Thresholds of the curve. @defaultValue `127`
   * @param weights - Per-example weights. @defaultValue all `1`
   */
  addPrCurve(
    tag: string,
    labels: NumericData | readonly boolean[],
    predictions: NumericData,
    globalStep?: number,
    numThresholds = 127,
    weights?: NumericData,
    walltime?: number,
  ): void {
    const step = this.step(tag, globalStep);
    const labelValues = Array.isArray(labels)
      ? labels.map(Number)
      : readNumbers(labels as NumericData).values;
    const curve = computePrCurve(
      tag,
      labelValues,
      readNumbers(predictions).values,
      numThresholds,
      weights === undefined ? undefined : readNumbers(weights).values,
    );
    this.sink.prCurve(tag, curve, step, this.wallTime(tag, walltime));
  }

  /** Logs text (TensorBoard renders it as Markdown); in MLflow a text artifact per tag and step. */
  addText(tag: string, textString: string, globalStep?: number, walltime?: number): void {
    const step = this.step(tag, globalStep);
    if (typeof textString !== 'string') {
      throw new MlflowValidationError(tag, `Text ${tag} is ${typeof textString}: pass a string.`);
    }
    this.sink.text(tag, textString, step, this.wallTime(tag, walltime));
  }

  /**
   * Logs hyperparameters and the metrics they gave, on this writer's own run (not a sub-run, unlike torch):
   * the hparams plugin's summaries plus a scalar per metric in the event file, params plus metrics in MLflow.
   * Values must be strings, finite or not numbers, or booleans.
   */
  addHparams(
    hparamDict: Record<string, HparamValue>,
    metricDict: Record<string, number>,
    globalStep?: number,
  ): void {
    const step = this.step('hparams', globalStep);
    for (const [key, value] of Object.entries(hparamDict)) {
      if (!['string', 'number', 'boolean'].includes(typeof value)) {
        throw new MlflowValidationError(
          key,
          `Hyperparameter ${key} is ${value === null ? 'null' : typeof value}: pass a string, number or boolean.`,
        );
      }
    }
    for (const [key, value] of Object.entries(metricDict)) {
      if (typeof value !== 'number') {
        throw new MlflowValidationError(key, `Hparam metric ${key} is ${typeof value}: pass a number.`);
      }
    }
    this.sink.hparams(hparamDict, metricDict, step, Date.now() / 1000);
  }

  /**
   * Logs a figure given as an SVG document: an artifact `figures/<tag>/step_<step>.svg` in MLflow (which
   * shows it). TensorBoard has no SVG summary, so nothing is written to the event file.
   */
  addFigure(tag: string, figure: string, globalStep?: number, _walltime?: number): void {
    const step = this.step(tag, globalStep);
    if (typeof figure !== 'string' || !figure.includes('<svg')) {
      throw new MlflowValidationError(
        tag,
        `Figure ${tag} is not an SVG document: pass a string holding <svg ...>.`,
      );
    }
    this.sink.artifact('figures', tag, step, 'svg', figure);
  }

  /** Writes queued events to disk and waits until MLflow has everything logged so far. */
  async flush(): Promise<void> {
    for (const child of this.children.values()) child.events?.flush();
    await this.sink.flush();
  }

  /**
   * Flushes, closes the event files and ends the MLflow run if this writer started it (`FINISHED` unless
   * `options.status` says otherwise). A write after `close()` reopens the writer.
   */
  async close(options?: EndRunOptions): Promise<void> {
    for (const child of this.children.values()) child.closeEvents();
    this.sink.closeEvents();
    this.sink.uploadHistograms();
    this.closed = true;
    await this.sink.binding.end(options);
  }
}
