import type { Metric } from '@mlflow-kit/core';

/** Options of {@link formatMetricChart}. */
export interface MetricChartOptions {
  /** Total width of the chart in terminal columns, axis labels included. @defaultValue 80 */
  width?: number;
  /** Height of the plot in terminal rows (each row holds 4 braille dots). @defaultValue 8 */
  height?: number;
  /** The title printed above the plot. @defaultValue the metric's key */
  title?: string;
}

// MLflow's SQL stores clamp ±Infinity to ±1.797e308: values that large are drawn as the infinities they were.
const CLAMPED_INFINITY = 1e308;

const BRAILLE_BASE = 0x2800;
// Bit of the braille dot at column x (0..1), row y (0..3) of a cell.
const DOT_BITS = [
  [0x01, 0x02, 0x04, 0x40],
  [0x08, 0x10, 0x20, 0x80],
] as const;

/** A number in at most ~9 characters: `0.4213`, `1.2e+6`, `-3.5e-5`. */
export function formatNumber(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (!Number.isFinite(value) || Math.abs(value) >= CLAMPED_INFINITY) return value > 0 ? '∞' : '-∞';
  if (value === 0) return '0';
  const magnitude = Math.abs(value);
  if (magnitude >= 1e5 || magnitude < 1e-3) return value.toExponential(2).replace(/\.?0+e/, 'e');
  return String(Number(value.toPrecision(4)));
}

function finite(value: number): boolean {
  return Number.isFinite(value) && Math.abs(value) < CLAMPED_INFINITY;
}

/**
 * Draws a metric's history as a line chart in the terminal with Unicode braille characters (2×4 dots a
 * cell): the y axis labelled with the maximum, middle and minimum, the x axis with the first and last
 * step. The x axis is the step, or the point's position when every point has the same step. When there
 * are more points than dot columns, each column shows the range of its points, so noise stays visible.
 * NaN and ±Infinity are left out and counted in the title.
 *
 * @example
 * ```ts
 * import { formatMetricChart } from '@mlflow-kit/cli';
 * console.log(formatMetricChart(await client.getMetricHistory(runId, 'loss'), { width: process.stdout.columns }));
 * ```
 */
export function formatMetricChart(history: readonly Metric[], options: MetricChartOptions = {}): string {
  const width = Math.max(30, Math.floor(options.width ?? 80));
  const height = Math.max(2, Math.floor(options.height ?? 8));
  const key = options.title ?? history[0]?.key ?? 'metric';
  const sorted = [...history].sort((a, b) => a.step - b.step || a.timestamp - b.timestamp);
  const byPosition = sorted.every((point) => point.step === sorted[0]?.step);
  const points = sorted
    .map((point, index) => ({ x: byPosition ? index : point.step, y: point.value }))
    .filter((point) => finite(point.y));
  const skipped = sorted.length - points.length;
  const last = sorted.at(-1);
  const titleParts = [
    key,
    last ? `last ${formatNumber(last.value)}${byPosition ? '' : ` at step ${last.step}`}` : 'no points',
  ];
  if (points.length > 0) {
    let min = Number.POSITIVE_INFINITY;
    let max = Number.NEGATIVE_INFINITY;
    for (const point of points) {
      min = Math.min(min, point.y);
      max = Math.max(max, point.y);
    }
    titleParts.push(`min ${formatNumber(min)}`, `max ${formatNumber(max)}`);
  }
  titleParts.push(`${sorted.length.toLocaleString('en-US')} point${sorted.length === 1 ? '' : 's'}`);
  if (skipped > 0) titleParts.push(`${skipped} NaN/∞ not drawn`);
  const title = titleParts.join(' · ').slice(0, width);
  if (points.length === 0) return `${title}\n  (no finite values to draw)`;

  let yMin = Number.POSITIVE_INFINITY;
  let yMax = Number.NEGATIVE_INFINITY;
  for (const point of points) {
    yMin = Math.min(yMin, point.y);
    yMax = Math.max(yMax, point.y);
  }
  if (yMax === yMin) {
    const pad = Math.max(Math.abs(yMax) * 0.1, 1e-9);
    yMax += pad;
    yMin -= pad;
  }
  const labels = [formatNumber(yMax), formatNumber((yMax + yMin) / 2), formatNumber(yMin)];
  const gutter = Math.max(...labels.map((label) => label.length));
  const columns = width - gutter - 2;
  const dotsX = columns * 2;
  const dotsY = height * 4;
  const xMin = points[0]?.x ?? 0;
  const xMax = points.at(-1)?.x ?? 0;
  const toDotX = (x: number): number =>
    xMax === xMin ? Math.floor(dotsX / 2) : Math.round(((x - xMin) / (xMax - xMin)) * (dotsX - 1));
  const toDotY = (y: number): number =>
    yMax === yMin ? Math.floor(dotsY / 2) : Math.round(((yMax - y) / (yMax - yMin)) * (dotsY - 1));

  const cells = new Uint8Array(columns * height);
  const plot = (dx: number, dy: number): void => {
    const column = dx >> 1;
    const row = dy >> 2;
    const index = row * columns + column;
    cells[index] = (cells[index] ?? 0) | (DOT_BITS[dx & 1]?.[dy & 3] ?? 0);
  };
  const line = (x0: number, y0: number, x1: number, y1: number): void => {
    const steps = Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0), 1);
    for (let i = 0; i <= steps; i++) {
      plot(Math.round(x0 + ((x1 - x0) * i) / steps), Math.round(y0 + ((y1 - y0) * i) / steps));
    }
  };

  // Per dot column: the first, last, lowest and highest point falling in it.
  const spans = new Map<number, { first: number; last: number; top: number; bottom: number }>();
  for (const point of points) {
    const dx = toDotX(point.x);
    const dy = toDotY(point.y);
    const span = spans.get(dx);
    if (span) {
      span.last = dy;
      span.top = Math.min(span.top, dy);
      span.bottom = Math.max(span.bottom, dy);
    } else spans.set(dx, { first: dy, last: dy, top: dy, bottom: dy });
  }
  let previous: { dx: number; dy: number } | undefined;
  for (const [dx, span] of [...spans].sort((a, b) => a[0] - b[0])) {
    if (previous) line(previous.dx, previous.dy, dx, span.first);
    line(dx, span.top, dx, span.bottom);
    previous = { dx, dy: span.last };
  }

  const rows: string[] = [title];
  for (let row = 0; row < height; row++) {
    const label =
      row === 0
        ? labels[0]
        : row === height - 1
          ? labels[2]
          : row === Math.floor((height - 1) / 2)
            ? labels[1]
            : '';
    const axis = row === 0 || row === height - 1 || label ? '┤' : '│';
    let text = '';
    for (let column = 0; column < columns; column++) {
      text += String.fromCharCode(BRAILLE_BASE + (cells[row * columns + column] ?? 0));
    }
    rows.push(`${(label ?? '').padStart(gutter)} ${axis}${text}`);
  }
  rows.push(`${' '.repeat(gutter)} └${'─'.repeat(columns)}`);
  const first = String(xMin);
  const lastLabel = `${xMax} ${byPosition ? '(point #)' : '(step)'}`;
  const space = Math.max(1, columns - first.length - lastLabel.length);
  rows.push(`${' '.repeat(gutter + 2)}${first}${' '.repeat(space)}${lastLabel}`);
  return rows.join('\n');
}
