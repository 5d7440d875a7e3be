/**
 * Parses the body of a `POST /invocations` request the way MLflow's scoring server does
 * (`mlflow/pyfunc/scoring_server/__init__.py`): a JSON object with exactly one of `inputs`, `instances`,
 * `dataframe_split`, `dataframe_records`, and optionally `params`; or a CSV table. Every row is checked
 * against the model's input shape and dtype, so a bad payload is a 400 with the reason, never a crash.
 */

/** One input of the served model: its name, shape (`null` for variable dimensions) and dtype. */
export interface ScoringInputSpec {
  name: string;
  shape: (number | null)[];
  dtype: string;
}

/** A request error with MLflow's JSON shape: `{"error_code": ..., "message": ...}` and its HTTP status. */
export class ScoringError extends Error {
  constructor(
    readonly status: number,
    readonly errorCode: string,
    message: string,
  ) {
    super(message);
    this.name = 'ScoringError';
  }

  /** The response body, as MLflow's `MlflowException.serialize_as_json`. */
  toJson(): string {
    return JSON.stringify({ error_code: this.errorCode, message: this.message });
  }
}

/** The rows of one input, flattened: `values` holds `rows` rows of `rowShape` each. */
export interface ScoringInputData {
  values: number[];
  rowShape: number[];
}

/** A parsed request: one entry per model input, the number of rows, and the `params` it carried. */
export interface ScoringRequest {
  inputs: ScoringInputData[];
  rows: number;
  params: Record<string, unknown> | undefined;
}

const FORMATS = ['dataframe_split', 'dataframe_records', 'instances', 'inputs'] as const;
const REQUIRED_INPUT_FORMAT = `The input must be a JSON dictionary with exactly one of the input fields {${FORMATS.map((format) => `'${format}'`).join(', ')}}`;

function invalid(message: string): ScoringError {
  return new ScoringError(400, 'BAD_REQUEST', `Invalid input. ${message}`);
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  const text = JSON.stringify(value) ?? String(value);
  return `${typeof value} ${text.length > 40 ? `${text.slice(0, 40)}…` : text}`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The shape of a nested list, read along its first elements. */
function shapeOf(value: unknown): number[] {
  const shape: number[] = [];
  let current = value;
  while (Array.isArray(current)) {
    shape.push(current.length);
    current = current[0];
  }
  return shape;
}

function product(dims: number[]): number {
  return dims.reduce((total, dim) => total * dim, 1);
}

function formatShape(dims: (number | null)[]): string {
  return `[${dims.map((dim) => dim ?? -1).join(', ')}]`;
}

/** Writes a row's numbers into `out`, checking that every sub-list has the expected length and type. */
function flattenRow(
  value: unknown,
  shape: number[],
  depth: number,
  spec: ScoringInputSpec,
  where: string,
  out: number[],
): void {
  if (depth === shape.length) {
    if (typeof value === 'number' || typeof value === 'boolean') {
      const number = Number(value);
      if (spec.dtype === 'int32' && !Number.isInteger(number)) {
        throw invalid(
          `Input '${spec.name}' has dtype int32, but ${where} is ${describeValue(value)}: send whole numbers.`,
        );
      }
      out.push(number);
      return;
    }
    throw invalid(
      `Input '${spec.name}' has dtype ${spec.dtype}, but ${where} is ${describeValue(value)}: send numbers.`,
    );
  }
  if (!Array.isArray(value) || value.length !== shape[depth]) {
    throw invalid(
      `Input '${spec.name}' expects rows of shape ${formatShape(spec.shape.slice(1))}, but ${where} is ${
        Array.isArray(value) ? `a list of ${value.length}` : describeValue(value)
      } where a list of ${shape[depth]} belongs.`,
    );
  }
  for (let index = 0; index < value.length; index++) {
    flattenRow(value[index], shape, depth + 1, spec, `${where}[${index}]`, out);
  }
}

/**
 * The rows of one input as a flat list. A row is a nested list of the input's row shape; a flat list of
 * as many numbers as that shape holds is accepted too (a dataframe row of a multi-dimensional input).
 */
function inputData(rows: unknown[], spec: ScoringInputSpec, label: string): ScoringInputData {
  const expected = spec.shape.slice(1);
  const first = rows[0];
  let rowShape = shapeOf(first);
  const fixed = expected.every((dim): dim is number => dim !== null);
  const flatRow = rowShape.length === 1 && expected.length > 1 && fixed && rowShape[0] === product(expected);
  if (flatRow) rowShape = [rowShape[0] as number];
  else {
    const fits =
      rowShape.length === expected.length &&
      expected.every((dim, index) => dim === null || dim === rowShape[index]);
    if (!fits) {
      throw invalid(
        `Input '${spec.name}' expects rows of shape ${formatShape(expected)}, but ${label}[0] has shape ${formatShape(rowShape)}.`,
      );
    }
  }
  const values: number[] = [];
  rows.forEach((row, index) => {
    flattenRow(row, rowShape, 0, spec, `${label}[${index}]`, values);
  });
  return { values, rowShape: flatRow ? (expected as number[]) : rowShape };
}

function namesOf(specs: ScoringInputSpec[]): string {
  return specs.map((spec) => `'${spec.name}'`).join(', ');
}

/** The one entry of `object` for each input, by name (a single-input model takes any single key too). */
function byInputName(object: Record<string, unknown>, specs: ScoringInputSpec[], label: string): unknown[] {
  const keys = Object.keys(object);
  if (specs.length === 1 && keys.length === 1) return [object[keys[0] as string]];
  const missing = specs.filter((spec) => !(spec.name in object));
  const extra = keys.filter((key) => !specs.some((spec) => spec.name === key));
  if (missing.length > 0 || extra.length > 0) {
    throw invalid(
      `${label} must name the model's inputs ${namesOf(specs)}; it has ${keys.map((key) => `'${key}'`).join(', ') || 'no keys'}.`,
    );
  }
  return specs.map((spec) => object[spec.name]);
}

function batchOf(value: unknown, label: string): unknown[] {
  if (!Array.isArray(value)) {
    throw invalid(`${label} must be a list with one entry per row, not ${describeValue(value)}.`);
  }
  if (value.length === 0) throw invalid(`${label} holds no rows.`);
  return value;
}

function finish(
  perInput: unknown[][],
  specs: ScoringInputSpec[],
  labels: string[],
  params: Record<string, unknown> | undefined,
): ScoringRequest {
  const rows = perInput[0]?.length ?? 0;
  perInput.forEach((inputRows, index) => {
    if (inputRows.length !== rows) {
      throw invalid(
        `Every input needs the same number of rows: '${specs[0]?.name}' has ${rows}, '${specs[index]?.name}' has ${inputRows.length}.`,
      );
    }
  });
  return {
    inputs: perInput.map((inputRows, index) =>
      inputData(inputRows, specs[index] as ScoringInputSpec, labels[index] as string),
    ),
    rows,
    params,
  };
}

/** `inputs`: TF-serving columnar format, one tensor (batch first) or `{name: tensor}`. */
function fromInputs(
  value: unknown,
  specs: ScoringInputSpec[],
  params: ScoringRequest['params'],
): ScoringRequest {
  if (isObject(value)) {
    const tensors = byInputName(value, specs, "'inputs'");
    return finish(
      tensors.map((tensor, index) => batchOf(tensor, `inputs['${specs[index]?.name}']`)),
      specs,
      specs.map((spec) => `inputs['${spec.name}']`),
      params,
    );
  }
  if (specs.length > 1) {
    throw invalid(`The model has ${specs.length} inputs: send {"inputs": {${namesOf(specs)}: ...}}.`);
  }
  return finish([batchOf(value, "'inputs'")], specs, ['inputs'], params);
}

/** `instances`: TF-serving row format, a list of rows or of `{name: row}`. */
function fromInstances(
  value: unknown,
  specs: ScoringInputSpec[],
  params: ScoringRequest['params'],
): ScoringRequest {
  const instances = batchOf(value, "'instances'");
  if (instances.every(isObject)) {
    const perRow = instances.map((instance, row) => byInputName(instance, specs, `instances[${row}]`));
    return finish(
      specs.map((_, input) => perRow.map((row) => row[input])),
      specs,
      specs.map((spec) => `instances[*]['${spec.name}']`),
      params,
    );
  }
  if (specs.length > 1) {
    throw invalid(
      `The model has ${specs.length} inputs: send {"instances": [{${namesOf(specs)}: ...}, ...]}.`,
    );
  }
  return finish([instances], specs, ['instances'], params);
}

/** A table (columns and rows of cells) as model inputs: one column per input, or the features of one input. */
function fromTable(
  columns: string[],
  data: unknown[][],
  specs: ScoringInputSpec[],
  label: string,
  params: ScoringRequest['params'],
): ScoringRequest {
  if (specs.length > 1) {
    const indexes = specs.map((spec) => columns.indexOf(spec.name));
    if (indexes.some((index) => index < 0)) {
      throw invalid(
        `The model has inputs ${namesOf(specs)}: the ${label} columns must be named after them, one tensor per cell; got ${columns.map((column) => `'${column}'`).join(', ') || 'no column names'}.`,
      );
    }
    return finish(
      indexes.map((column) => data.map((row) => row[column])),
      specs,
      specs.map((spec) => `${label}['${spec.name}']`),
      params,
    );
  }
  // One column of tensors, or one column per feature.
  const rows = data.every((row) => row.length === 1 && Array.isArray(row[0]))
    ? data.map((row) => row[0])
    : data;
  return finish([rows], specs, [label], params);
}

function fromDataframeSplit(
  value: unknown,
  specs: ScoringInputSpec[],
  params: ScoringRequest['params'],
): ScoringRequest {
  if (!isObject(value)) {
    throw invalid(
      `'dataframe_split' must be {"columns": [...], "data": [[...], ...]}, not ${describeValue(value)}.`,
    );
  }
  const data = batchOf(value.data, 'dataframe_split.data');
  const columns = value.columns === undefined ? [] : value.columns;
  if (
    !Array.isArray(columns) ||
    !columns.every((column) => typeof column === 'string' || typeof column === 'number')
  ) {
    throw invalid("'dataframe_split.columns' must be a list of column names.");
  }
  data.forEach((row, index) => {
    if (!Array.isArray(row)) {
      throw invalid(`dataframe_split.data[${index}] must be a list of cells, not ${describeValue(row)}.`);
    }
    if (columns.length > 0 && row.length !== columns.length) {
      throw invalid(`dataframe_split.data[${index}] has ${row.length} cells for ${columns.length} columns.`);
    }
  });
  return fromTable(columns.map(String), data as unknown[][], specs, 'dataframe_split.data', params);
}

function fromDataframeRecords(
  value: unknown,
  specs: ScoringInputSpec[],
  params: ScoringRequest['params'],
): ScoringRequest {
  const records = batchOf(value, "'dataframe_records'");
  const columns = isObject(records[0]) ? Object.keys(records[0]) : [];
  const data = records.map((record, index) => {
    if (!isObject(record)) {
      throw invalid(
        `dataframe_records[${index}] must be an object {column: value}, not ${describeValue(record)}.`,
      );
    }
    const keys = Object.keys(record);
    if (keys.length !== columns.length || keys.some((key) => !(key in (records[0] as object)))) {
      throw invalid(
        `dataframe_records[${index}] has columns ${keys.map((key) => `'${key}'`).join(', ')}; dataframe_records[0] has ${columns.map((key) => `'${key}'`).join(', ')}.`,
      );
    }
    return columns.map((column) => record[column]);
  });
  return fromTable(columns, data, specs, 'dataframe_records', params);
}

/** Parses a JSON request body (already decoded as UTF-8) for a model with these inputs. */
export function parseJsonRequest(text: string, specs: ScoringInputSpec[]): ScoringRequest {
  let decoded: unknown;
  try {
    decoded = JSON.parse(text);
  } catch (error) {
    throw invalid(
      `Ensure that input is a valid JSON formatted string. Error: '${error instanceof Error ? error.message : String(error)}'`,
    );
  }
  if (Array.isArray(decoded)) throw invalid(`${REQUIRED_INPUT_FORMAT}. Received a list.`);
  if (!isObject(decoded)) throw invalid(`${REQUIRED_INPUT_FORMAT}. Received ${describeValue(decoded)}.`);
  const present = FORMATS.filter((format) => format in decoded);
  if (present.length !== 1) {
    throw new ScoringError(
      400,
      'BAD_REQUEST',
      `${REQUIRED_INPUT_FORMAT}. Received dictionary with input fields: [${Object.keys(decoded)
        .map((key) => `'${key}'`)
        .join(', ')}].`,
    );
  }
  const rawParams = decoded.params;
  if (rawParams !== undefined && rawParams !== null && !isObject(rawParams)) {
    throw invalid(`'params' must be a JSON object of parameter values, not ${describeValue(rawParams)}.`);
  }
  const params = isObject(rawParams) ? rawParams : undefined;
  const format = present[0] as (typeof FORMATS)[number];
  const value = decoded[format];
  switch (format) {
    case 'inputs':
      return fromInputs(value, specs, params);
    case 'instances':
      return fromInstances(value, specs, params);
    case 'dataframe_split':
      return fromDataframeSplit(value, specs, params);
    default:
      return fromDataframeRecords(value, specs, params);
  }
}

/** Parses a CSV body: a header line of column names, then one line of numbers per row. */
export function parseCsvRequest(text: string, specs: ScoringInputSpec[]): ScoringRequest {
  const lines = text.split(/\r?\n/).filter((line) => line.trim() !== '');
  const [header, ...body] = lines;
  if (header === undefined || body.length === 0) {
    throw invalid(
      'Failed to parse input as a table: send a header line of column names and one line per row.',
    );
  }
  const columns = header.split(',').map((cell) => cell.trim().replace(/^"(.*)"$/, '$1'));
  const data = body.map((line, row) => {
    const cells = line.split(',');
    if (cells.length !== columns.length) {
      throw invalid(`CSV line ${row + 2} has ${cells.length} cells for ${columns.length} columns.`);
    }
    return cells.map((cell) => {
      const trimmed = cell.trim();
      const number = Number(trimmed);
      return trimmed === '' || Number.isNaN(number) ? trimmed : number;
    });
  });
  return fromTable(columns, data, specs, 'csv', undefined);
}
