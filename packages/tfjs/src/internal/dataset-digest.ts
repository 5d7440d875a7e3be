import { Md5 } from './md5.js';

/** MLflow hashes at most this many values of each array (`mlflow/data/digest_utils.py` `MAX_ROWS`). */
export const MAX_HASHED_VALUES = 10_000;

/** Values of a tensor as tfjs gives them (`tensor.data()`), with the tensor's dtype. */
export interface HashableArray {
  dtype: string;
  /** The first {@link MAX_HASHED_VALUES} values of the flattened tensor (fewer when it is smaller). */
  values: ArrayLike<number> | ArrayLike<string> | undefined;
  /** The tensor's full shape. */
  shape: number[];
}

const C1_HI = 0xbf58476d;
const C1_LO = 0x1ce4e5b9;
const C2_HI = 0x94d049bb;
const C2_LO = 0x133111eb;

/** High 32 bits of the 64-bit product of two unsigned 32-bit numbers. */
function mulHigh(a: number, b: number): number {
  const a0 = a & 0xffff;
  const a1 = a >>> 16;
  const b0 = b & 0xffff;
  const b1 = b >>> 16;
  const p00 = a0 * b0;
  const p01 = a0 * b1;
  const p10 = a1 * b0;
  const mid = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
  return (a1 * b1 + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16)) >>> 0;
}

/**
 * pandas' `hash_array` of 64-bit unsigned values given as (hi, lo) halves: the splitmix64 finaliser
 * (`pandas/core/util/hashing.py` `_hash_ndarray`), written little-endian into `out` at `offset`.
 */
function mix(hi: number, lo: number, out: DataView, offset: number): void {
  // x ^= x >> 30
  lo = (lo ^ ((lo >>> 30) | (hi << 2))) >>> 0;
  hi = (hi ^ (hi >>> 30)) >>> 0;
  // x *= C1 (mod 2^64)
  let nextHi = (mulHigh(lo, C1_LO) + Math.imul(hi, C1_LO) + Math.imul(lo, C1_HI)) >>> 0;
  lo = Math.imul(lo, C1_LO) >>> 0;
  hi = nextHi;
  // x ^= x >> 27
  lo = (lo ^ ((lo >>> 27) | (hi << 5))) >>> 0;
  hi = (hi ^ (hi >>> 27)) >>> 0;
  // x *= C2
  nextHi = (mulHigh(lo, C2_LO) + Math.imul(hi, C2_LO) + Math.imul(lo, C2_HI)) >>> 0;
  lo = Math.imul(lo, C2_LO) >>> 0;
  hi = nextHi;
  // x ^= x >> 31
  lo = (lo ^ ((lo >>> 31) | (hi << 1))) >>> 0;
  hi = (hi ^ (hi >>> 31)) >>> 0;
  out.setUint32(offset, lo, true);
  out.setUint32(offset + 4, hi, true);
}

const FLOAT32_NAN_BITS = 0x7fc00000;
const FLOAT32_NEGATIVE_ZERO_BITS = 0x80000000;

/** The bytes MLflow's `compute_numpy_digest` feeds to md5 for one array: its value hashes, then its shape. */
function arrayBytes(array: HashableArray): Uint8Array[] {
  const parts: Uint8Array[] = [];
  const { values, dtype } = array;
  const count = Math.min(values?.length ?? 0, MAX_HASHED_VALUES);
  const hashable = dtype === 'float32' || dtype === 'int32' || dtype === 'bool';
  if (values && hashable) {
    const hashes = new Uint8Array(count * 8);
    const view = new DataView(hashes.buffer);
    if (dtype === 'float32') {
      const floats =
        values instanceof Float32Array
          ? values.subarray(0, count)
          : Float32Array.from(Array.prototype.slice.call(values, 0, count) as number[]);
      const bits = new Uint32Array(floats.buffer, floats.byteOffset, count);
      for (let index = 0; index < count; index++) {
        const value = floats[index]!;
        // pandas canonicalises NaN (any payload) and -0.0 before hashing.
        let word = bits[index]!;
        if (Number.isNaN(value)) word = FLOAT32_NAN_BITS;
        else if (word === FLOAT32_NEGATIVE_ZERO_BITS) word = 0;
        mix(0, word, view, index * 8);
      }
    } else {
      // int32 is viewed as u4 and widened, bool as 0/1: the high half is 0 either way.
      const numbers = values as ArrayLike<number>;
      for (let index = 0; index < count; index++) mix(0, numbers[index]! >>> 0, view, index * 8);
    }
    parts.push(hashes);
  } else {
    // pandas cannot hash it the same way (strings, complex): MLflow then hashes the number of values.
    parts.push(int64(count));
  }
  for (const dim of array.shape) parts.push(int64(dim));
  return parts;
}

function int64(value: number): Uint8Array {
  const bytes = new Uint8Array(8);
  new DataView(bytes.buffer).setBigInt64(0, BigInt(value), true);
  return bytes;
}

/**
 * MLflow's digest of numpy features and targets (`compute_numpy_digest`): md5 over pandas' hash of the first
 * 10,000 values of each flattened array and its shape, features before targets, the arrays of a dict in
 * sorted key order; the first 8 hex characters. For the same float32, int32 or bool data it equals what
 * Python's `mlflow.data.from_numpy(x, targets=y).digest` gives.
 */
export function computeTensorDigest(
  features: HashableArray[],
  targets: HashableArray[] = [],
  extra: Uint8Array[] = [],
): string {
  const hash = new Md5();
  for (const array of [...features, ...targets]) for (const part of arrayBytes(array)) hash.update(part);
  for (const part of extra) hash.update(part);
  return hash.hex().slice(0, 8);
}

/** An int64, little-endian, as extra digest input (such as a dataset's element count). */
export function digestInt64(value: number): Uint8Array {
  return int64(value);
}
