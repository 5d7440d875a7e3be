import { describe, expect, it } from 'vitest';
import { parseCsvRequest, parseJsonRequest, ScoringError } from './scoring-input.js';

const FLAT = [{ name: 'x', shape: [null, 4], dtype: 'float32' }];
const IMAGE = [{ name: 'image', shape: [null, 2, 2], dtype: 'float32' }];
const INT = [{ name: 'ids', shape: [null, 2], dtype: 'int32' }];

function rejection(body: string, specs = FLAT): ScoringError {
  try {
    parseJsonRequest(body, specs);
  } catch (error) {
    if (error instanceof ScoringError) return error;
    throw error;
  }
  throw new Error(`accepted ${body}`);
}

describe('parseJsonRequest', () => {
  it('reads the four formats into the same rows', () => {
    const rows = [
      [1, 2, 3, 4],
      [5, 6, 7, 8],
    ];
    const bodies = [
      { inputs: rows },
      { instances: rows },
      { dataframe_split: { columns: ['a', 'b', 'c', 'd'], data: rows } },
      { dataframe_records: rows.map(([a, b, c, d]) => ({ a, b, c, d })) },
    ];
    for (const body of bodies) {
      const parsed = parseJsonRequest(JSON.stringify(body), FLAT);
      expect(parsed.rows).toBe(2);
      expect(parsed.inputs[0]).toEqual({ values: rows.flat(), rowShape: [4] });
    }
  });

  it('takes a multi-dimensional row as nested lists, or flat as a dataframe row', () => {
    const nested = parseJsonRequest(
      JSON.stringify({
        inputs: [
          [
            [1, 2],
            [3, 4],
          ],
        ],
      }),
      IMAGE,
    );
    const flat = parseJsonRequest(JSON.stringify({ dataframe_split: { data: [[1, 2, 3, 4]] } }), IMAGE);
    expect(nested.inputs[0]).toEqual({ values: [1, 2, 3, 4], rowShape: [2, 2] });
    expect(flat.inputs[0]).toEqual(nested.inputs[0]);
  });

  it('keeps params, and refuses params that are not an object', () => {
    expect(parseJsonRequest('{"inputs": [[1,2,3,4]], "params": {"k": 1}}', FLAT).params).toEqual({ k: 1 });
    expect(rejection('{"inputs": [[1,2,3,4]], "params": [1]}').message).toMatch(
      /'params' must be a JSON object/,
    );
  });

  it('refuses non-integers for an int32 input, and empty batches', () => {
    expect(rejection('{"inputs": [[1, 2.5]]}', INT).message).toMatch(/int32.*inputs\[0\]\[1\]/);
    expect(rejection('{"inputs": []}').message).toMatch(/holds no rows/);
    expect(rejection('{"dataframe_records": [{"a": 1, "b": 2, "c": 3, "d": 4}, {"a": 1}]}').message).toMatch(
      /dataframe_records\[1\] has columns 'a'/,
    );
  });

  it('answers 400 BAD_REQUEST in MLflow JSON', () => {
    const error = rejection('42');
    expect(error.status).toBe(400);
    expect(JSON.parse(error.toJson())).toEqual({ error_code: 'BAD_REQUEST', message: error.message });
  });
});

describe('parseCsvRequest', () => {
  it('reads a header and rows of numbers, and names a cell that is not one', () => {
    expect(parseCsvRequest('a,b,c,d\n1,2,3,4\n', FLAT).inputs[0]?.values).toEqual([1, 2, 3, 4]);
    expect(() => parseCsvRequest('a,b,c,d\n1,x,3,4\n', FLAT)).toThrow(/csv\[0\]\[1\] is string "x"/);
  });
});
