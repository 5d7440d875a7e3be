import { MlflowApiError } from '../errors.js';
import type { SearchRunsOptions } from '../store.js';
import type { LifecycleStage, Metric, Page, RunRecord, ViewType } from '../types.js';

/** One side of a filter clause: an entity kind and a key, such as `metrics` and `loss`. */
export interface FilterField {
  kind: 'metrics' | 'params' | 'tags' | 'attributes';
  key: string;
}

type Literal = string | number | (string | number)[] | null;

/** One `field comparator value` clause of an MLflow filter string. */
export interface FilterClause {
  field: FilterField;
  comparator: string;
  value: Literal;
}

/** Reads the value of a field of an entity (run or experiment); `undefined` when absent. */
export type FieldReader = (field: FilterField) => string | number | undefined;

function invalid(endpoint: string, message: string): MlflowApiError {
  return new MlflowApiError({
    endpoint,
    status: 400,
    errorCode: 'INVALID_PARAMETER_VALUE',
    serverMessage: message,
    retryable: false,
  });
}

// A field may quote its key: tags.`mlflow.source.name` or tags."my key" is one token.
const TOKEN =
  /\s*(?:(`[^`]*`|"[^"]*"|'(?:[^'\\]|\\.)*')|(!=|<=|>=|=|<|>)|(\()|(\))|(,)|([^\s=!<>(),'"`]+(?:`[^`]*`|"[^"]*")?))/y;

function unquote(text: string): string {
  const first = text[0];
  if (first === "'" || first === '"' || first === '`') return text.slice(1, -1).replace(/\\(.)/g, '$1');
  return text;
}

function parseField(text: string, endpoint: string): FilterField {
  const dot = text.indexOf('.');
  const prefix = dot === -1 ? '' : text.slice(0, dot).toLowerCase();
  const aliases: Record<string, FilterField['kind']> = {
    metric: 'metrics',
    metrics: 'metrics',
    param: 'params',
    params: 'params',
    parameter: 'params',
    parameters: 'params',
    tag: 'tags',
    tags: 'tags',
    attribute: 'attributes',
    attributes: 'attributes',
    attr: 'attributes',
    run: 'attributes',
  };
  const kind = aliases[prefix];
  if (kind === undefined) return { kind: 'attributes', key: unquote(text) };
  const key = unquote(text.slice(dot + 1));
  if (key === '') throw invalid(endpoint, `Invalid filter field ${JSON.stringify(text)}`);
  return { kind, key };
}

/** Parses an MLflow filter string (`metrics.loss < 0.5 and params.lr = '0.01'`) into clauses joined by AND. */
export function parseFilter(filter: string | undefined, endpoint: string): FilterClause[] {
  if (filter === undefined || filter.trim() === '') return [];
  const tokens: string[] = [];
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < filter.length) {
    const start = TOKEN.lastIndex;
    const match = TOKEN.exec(filter);
    if (!match) {
      if (filter.slice(start).trim() === '') break;
      throw invalid(endpoint, `Invalid filter string: ${filter}`);
    }
    tokens.push(match[0].trim());
  }
  const clauses: FilterClause[] = [];
  let index = 0;
  const next = (): string => {
    const token = tokens[index++];
    if (token === undefined) throw invalid(endpoint, `Invalid filter string, it ends too early: ${filter}`);
    return token;
  };
  const literal = (token: string): string | number => {
    if (/^['"]/.test(token)) return unquote(token);
    const number = Number(token);
    if (token !== '' && Number.isFinite(number)) return number;
    throw invalid(endpoint, `Invalid value ${token} in filter string: ${filter}`);
  };
  while (index < tokens.length) {
    const field = parseField(next(), endpoint);
    let comparator = next().toUpperCase();
    if (comparator === 'NOT') comparator = `NOT ${next().toUpperCase()}`;
    if (comparator === 'IS') {
      let word = next().toUpperCase();
      if (word === 'NOT') word = `NOT ${next().toUpperCase()}`;
      clauses.push({ field, comparator: `IS ${word}`, value: null });
    } else if (comparator === 'IN' || comparator === 'NOT IN') {
      if (next() !== '(')
        throw invalid(endpoint, `Expected ( after ${comparator} in filter string: ${filter}`);
      const values: (string | number)[] = [];
      for (;;) {
        const token = next();
        if (token === ')') break;
        if (token === ',') continue;
        values.push(literal(token));
      }
      clauses.push({ field, comparator, value: values });
    } else if (['=', '!=', '<', '<=', '>', '>=', 'LIKE', 'ILIKE'].includes(comparator)) {
      clauses.push({ field, comparator, value: literal(next()) });
    } else {
      throw invalid(endpoint, `Invalid comparator ${comparator} in filter string: ${filter}`);
    }
    if (index < tokens.length && next().toUpperCase() !== 'AND') {
      throw invalid(endpoint, `Only AND is supported between clauses of a filter string: ${filter}`);
    }
  }
  return clauses;
}

function likeToRegExp(pattern: string, ignoreCase: boolean): RegExp {
  const source = pattern
    .replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
    .replace(/%/g, '.*')
    .replace(/_/g, '.');
  return new RegExp(`^${source}$`, ignoreCase ? 'is' : 's');
}

function compare(actual: string | number, comparator: string, expected: Literal): boolean {
  if (Array.isArray(expected)) {
    const found = expected.some((item) => String(item) === String(actual));
    return comparator === 'IN' ? found : !found;
  }
  if (expected === null) return false;
  if (comparator === 'LIKE' || comparator === 'ILIKE')
    return likeToRegExp(String(expected), comparator === 'ILIKE').test(String(actual));
  const left: string | number =
    typeof actual === 'number' || typeof expected === 'number' ? Number(actual) : actual;
  const right: string | number = typeof left === 'number' ? Number(expected) : String(expected);
  switch (comparator) {
    case '=':
      return left === right;
    case '!=':
      return left !== right;
    case '<':
      return left < right;
    case '<=':
      return left <= right;
    case '>':
      return left > right;
    case '>=':
      return left >= right;
    default:
      return false;
  }
}

/** Whether an entity passes every clause. */
export function matchesFilter(clauses: FilterClause[], read: FieldReader): boolean {
  return clauses.every((clause) => {
    const actual = read(clause.field);
    if (clause.comparator === 'IS NULL') return actual === undefined;
    if (clause.comparator === 'IS NOT NULL') return actual !== undefined;
    if (actual === undefined) return false;
    return compare(actual, clause.comparator, clause.value);
  });
}

/** One `order_by` entry: a field and a direction. */
export interface OrderClause {
  field: FilterField;
  ascending: boolean;
}

/** Parses `order_by` entries such as `metrics.loss DESC` or `start_time`. */
export function parseOrderBy(orderBy: string[] | undefined, endpoint: string): OrderClause[] {
  return (orderBy ?? []).map((entry) => {
    const match = /^\s*(.+?)(?:\s+(ASC|DESC))?\s*$/i.exec(entry);
    if (!match?.[1]) throw invalid(endpoint, `Invalid order_by clause ${JSON.stringify(entry)}`);
    return { field: parseField(match[1], endpoint), ascending: (match[2] ?? 'ASC').toUpperCase() === 'ASC' };
  });
}

/** Sorts entities by the order clauses; absent values sort last whatever the direction, as in MLflow. */
export function sortBy<T>(items: T[], order: OrderClause[], reader: (item: T) => FieldReader): T[] {
  const keyed = items.map((item) => ({ item, read: reader(item) }));
  keyed.sort((a, b) => {
    for (const clause of order) {
      const left = a.read(clause.field);
      const right = b.read(clause.field);
      if (left === right) continue;
      if (left === undefined) return 1;
      if (right === undefined) return -1;
      const leftNaN = typeof left === 'number' && Number.isNaN(left);
      const rightNaN = typeof right === 'number' && Number.isNaN(right);
      if (leftNaN !== rightNaN) return leftNaN ? 1 : -1;
      const result = left < right ? -1 : left > right ? 1 : 0;
      if (result !== 0) return clause.ascending ? result : -result;
    }
    return 0;
  });
  return keyed.map(({ item }) => item);
}

/**
 * A page of a metric's history in the order MLflow's stores return it: by timestamp, then step, then value.
 * Sorts `points` in place.
 */
export function metricHistoryPage(
  points: Metric[],
  options: { maxResults?: number; pageToken?: string },
  endpoint: string,
): Page<Metric> {
  points.sort((a, b) => a.timestamp - b.timestamp || a.step - b.step || a.value - b.value);
  return paginate(points, options.maxResults ?? Number.MAX_SAFE_INTEGER, options.pageToken, endpoint);
}

/** Cuts one page out of `items`; page tokens are opaque base64 offsets. */
export function paginate<T>(
  items: T[],
  maxResults: number | undefined,
  pageToken: string | undefined,
  endpoint: string,
): { items: T[]; nextPageToken?: string } {
  let offset = 0;
  if (pageToken) {
    try {
      const decoded = JSON.parse(Buffer.from(pageToken, 'base64').toString('utf8')) as { offset?: unknown };
      if (typeof decoded.offset !== 'number' || !Number.isInteger(decoded.offset) || decoded.offset < 0)
        throw new Error('bad offset');
      offset = decoded.offset;
    } catch (cause) {
      throw new MlflowApiError({
        endpoint,
        status: 400,
        errorCode: 'INVALID_PARAMETER_VALUE',
        serverMessage: `Invalid page token ${JSON.stringify(pageToken)}`,
        retryable: false,
        cause,
      });
    }
  }
  const size = maxResults ?? 1000;
  const page = items.slice(offset, offset + size);
  const end = offset + page.length;
  if (end < items.length) {
    return {
      items: page,
      nextPageToken: Buffer.from(JSON.stringify({ offset: end }), 'utf8').toString('base64'),
    };
  }
  return { items: page };
}

/**
 * Sorts by the caller's order clauses and then `defaults` (MLflow's tie-breakers), and cuts the page
 * asked for: the common tail of every local search.
 */
export function orderAndPaginate<T>(
  items: T[],
  options: { orderBy?: string[]; maxResults?: number; pageToken?: string },
  defaults: [key: string, ascending: boolean][],
  reader: (item: T) => FieldReader,
  endpoint: string,
): { items: T[]; nextPageToken?: string } {
  const order: OrderClause[] = [
    ...parseOrderBy(options.orderBy, endpoint),
    ...defaults.map(([key, ascending]): OrderClause => ({ field: { kind: 'attributes', key }, ascending })),
  ];
  return paginate(sortBy(items, order, reader), options.maxResults, options.pageToken, endpoint);
}

/** Whether an entity in `stage` belongs to a search over `viewType` (default `ACTIVE_ONLY`). */
export function viewMatches(viewType: ViewType | undefined, stage: LifecycleStage): boolean {
  const view = viewType ?? 'ACTIVE_ONLY';
  return view === 'ALL' || (view === 'ACTIVE_ONLY') === (stage === 'active');
}

/** The latest value of a metric as MLflow picks it: the point with the highest `(step, timestamp, value)`. */
export function latestValue(points: Metric[]): number | undefined {
  let best: Metric | undefined;
  for (const point of points) {
    if (
      best === undefined ||
      point.step > best.step ||
      (point.step === best.step && point.timestamp > best.timestamp) ||
      (point.step === best.step &&
        point.timestamp === best.timestamp &&
        (point.value > best.value || Number.isNaN(best.value)))
    ) {
      best = point;
    }
  }
  return best?.value;
}

/** Reads the fields MLflow's run search filters and orders on from a run record. */
export function runFieldReader(run: RunRecord): FieldReader {
  return (field: FilterField) => {
    if (field.kind === 'metrics') return run.data.metrics[field.key];
    if (field.kind === 'params') return run.data.params[field.key];
    if (field.kind === 'tags') return run.data.tags[field.key];
    switch (field.key) {
      case 'run_id':
      case 'run_uuid':
        return run.info.runId;
      case 'run_name':
        return run.info.runName;
      case 'status':
        return run.info.status;
      case 'user_id':
        return run.info.userId;
      case 'start_time':
      case 'created':
        return run.info.startTime;
      case 'end_time':
        return run.info.endTime;
      case 'artifact_uri':
        return run.info.artifactUri;
      case 'lifecycle_stage':
        return run.info.lifecycleStage;
      case 'experiment_id':
        return run.info.experimentId;
      default:
        return undefined;
    }
  };
}

/**
 * Filters, orders and pages run records as MLflow's run search does: the view type, the filter grammar,
 * the caller's order and then `start_time DESC, run_id`.
 */
export function searchRunRecords(
  records: RunRecord[],
  options: SearchRunsOptions,
  endpoint: string,
): Page<RunRecord> {
  const clauses = parseFilter(options.filter, endpoint);
  const matching = records.filter(
    (run) =>
      viewMatches(options.viewType, run.info.lifecycleStage) && matchesFilter(clauses, runFieldReader(run)),
  );
  return orderAndPaginate(
    matching,
    options,
    [
      ['start_time', false],
      ['run_id', true],
    ],
    runFieldReader,
    endpoint,
  );
}
