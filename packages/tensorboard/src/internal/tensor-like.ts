/** The part of a tfjs `Tensor` this package reads, so it works with any tfjs copy without importing it. */
export interface TensorLike {
  readonly shape: number[];
  readonly dtype: string;
  readonly rank: number;
  readonly size: number;
  dataSync(): ArrayLike<number> | ArrayLike<unknown>;
}

/** Numbers as a tensor, a typed array or a plain array. */
export type NumericData = TensorLike | ArrayLike<number>;

/** Whether a value looks like a tfjs tensor. */
export function isTensorLike(value: unknown): value is TensorLike {
  return (
    typeof value === 'object' &&
    value !== null &&
    Array.isArray((value as TensorLike).shape) &&
    typeof (value as TensorLike).dataSync === 'function'
  );
}

/** The values and shape of a tensor or array (an array's shape is its length). */
export function readNumbers(data: NumericData): { values: ArrayLike<number>; shape: number[] } {
  if (isTensorLike(data)) return { values: data.dataSync() as ArrayLike<number>, shape: [...data.shape] };
  return { values: data, shape: [data.length] };
}
