import { parse, stringify } from 'yaml';
import type { Metric, RunStatus } from '../types.js';

/** Run status as the integer enum MLflow's FileStore keeps in a run's `meta.yaml`. */
export const STATUS_TO_NUMBER: Record<RunStatus, number> = {
  RUNNING: 1,
  SCHEDULED: 2,
  FINISHED: 3,
  FAILED: 4,
  KILLED: 5,
};

const NUMBER_TO_STATUS = new Map<number, RunStatus>(
  Object.entries(STATUS_TO_NUMBER).map(([status, number]) => [number, status as RunStatus]),
);

/** Reads a `status` field of a run `meta.yaml`: the integer enum, or a status name written by a lenient tool. */
export function statusFromMeta(value: unknown): RunStatus {
  if (typeof value === 'number') return NUMBER_TO_STATUS.get(value) ?? 'RUNNING';
  if (typeof value === 'string' && value in STATUS_TO_NUMBER) return value as RunStatus;
  return 'RUNNING';
}

/**
 * Formats a double the way Python's `str(float)` does, which is what MLflow's FileStore writes:
 * `nan`, `inf`, `-inf`, `1.0`, `0.0001`, `1e-05`, `1e+16`. The digits are the shortest that round-trip
 * (the same algorithm in JavaScript and Python), only the layout differs.
 */
export function pythonFloat(value: number): string {
  if (Number.isNaN(value)) return 'nan';
  if (value === Number.POSITIVE_INFINITY) return 'inf';
  if (value === Number.NEGATIVE_INFINITY) return '-inf';
  if (value === 0) return Object.is(value, -0) ? '-0.0' : '0.0';
  const [mantissa = '0', exponentText = '0'] = value.toExponential().split('e');
  const exponent = Number(exponentText);
  if (exponent < -4 || exponent >= 16) {
    return `${mantissa}e${exponent < 0 ? '-' : '+'}${String(Math.abs(exponent)).padStart(2, '0')}`;
  }
  const negative = value < 0;
  const digits = mantissa.replace('-', '').replace('.', '');
  let text: string;
  if (exponent >= 0) {
    const integerPart = digits.slice(0, exponent + 1).padEnd(exponent + 1, '0');
    const fraction = digits.slice(exponent + 1);
    text = `${integerPart}.${fraction === '' ? '0' : fraction}`;
  } else {
    text = `0.${'0'.repeat(-exponent - 1)}${digits}`;
  }
  return negative ? `-${text}` : text;
}

/** Parses a value the way Python's `float()` does for what MLflow writes (`nan`, `inf`, `Infinity`, `1e-07`). */
export function parsePythonFloat(text: string): number {
  const word = text.trim().toLowerCase();
  if (word === 'nan' || word === '+nan' || word === '-nan') return Number.NaN;
  if (word === 'inf' || word === '+inf' || word === 'infinity' || word === '+infinity')
    return Number.POSITIVE_INFINITY;
  if (word === '-inf' || word === '-infinity') return Number.NEGATIVE_INFINITY;
  return Number(word);
}

/** One metric line of a FileStore metric file: `<timestamp> <value> <step>\n`. */
export function formatMetricLine(metric: Pick<Metric, 'timestamp' | 'value' | 'step'>): string {
  return `${metric.timestamp} ${pythonFloat(metric.value)} ${metric.step}\n`;
}

/**
 * What each metric file of a batch gets appended, keyed by metric key: the points' lines in batch order. One
 * append per file, however many points the batch holds.
 */
export function metricLinesByKey(metrics: readonly Metric[] = []): Map<string, string> {
  const byKey = new Map<string, string>();
  for (const metric of metrics)
    byKey.set(metric.key, (byKey.get(metric.key) ?? '') + formatMetricLine(metric));
  return byKey;
}

/**
 * Parses the lines of a metric file. Accepts 2, 3 or 5 fields as MLflow's reader does; skips blank lines,
 * and a last line without its newline (a write cut short by a crash).
 */
export function parseMetricLines(key: string, text: string): Metric[] {
  const points: Metric[] = [];
  const complete = text.endsWith('\n') ? text : text.slice(0, text.lastIndexOf('\n') + 1);
  for (const line of complete.split('\n')) {
    if (line.trim() === '') continue;
    const parts = line.trim().split(' ');
    if (parts.length !== 2 && parts.length !== 3 && parts.length !== 5) continue;
    const timestamp = Number(parts[0]);
    const value = parsePythonFloat(parts[1] ?? '');
    const step = parts.length >= 3 ? Number(parts[2]) : 0;
    if (!Number.isFinite(timestamp) || !Number.isFinite(step)) continue;
    points.push({ key, value, timestamp, step });
  }
  return points;
}

/** Serialises a `meta.yaml` the way Python's `yaml.safe_dump` with sorted keys does. */
export function dumpYaml(value: Record<string, unknown>): string {
  return stringify(value, { sortMapEntries: true, version: '1.1', singleQuote: true, lineWidth: 0 });
}

/** Parses a `meta.yaml` (YAML 1.1, as PyYAML reads it). */
export function parseYaml(text: string): Record<string, unknown> {
  const value: unknown = parse(text, { version: '1.1' });
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
}

const ADJECTIVES = [
  'able',
  'bold',
  'brave',
  'bright',
  'calm',
  'clever',
  'crisp',
  'eager',
  'fair',
  'gentle',
  'glad',
  'grand',
  'keen',
  'kind',
  'lively',
  'lucky',
  'merry',
  'nimble',
  'polite',
  'proud',
  'quick',
  'quiet',
  'rare',
  'sharp',
  'shy',
  'smart',
  'spry',
  'sunny',
  'swift',
  'tidy',
  'vivid',
  'warm',
  'wise',
  'witty',
  'zesty',
];
const NOUNS = [
  'ant',
  'bat',
  'bear',
  'bee',
  'carp',
  'cat',
  'crab',
  'crow',
  'deer',
  'doe',
  'dove',
  'duck',
  'eel',
  'elk',
  'finch',
  'fox',
  'frog',
  'goat',
  'hare',
  'hawk',
  'hen',
  'jay',
  'koi',
  'lark',
  'lynx',
  'mole',
  'moth',
  'newt',
  'owl',
  'ox',
  'ram',
  'seal',
  'slug',
  'snail',
  'swan',
  'toad',
  'wasp',
  'wolf',
  'wren',
  'yak',
];

/** A random `adjective-noun-NNN` run name, in the style of the names MLflow generates. */
export function generateRunName(): string {
  const pick = (list: string[]): string => list[Math.floor(Math.random() * list.length)] ?? 'run';
  return `${pick(ADJECTIVES)}-${pick(NOUNS)}-${Math.floor(Math.random() * 1000)}`;
}
