const textEncoder = new TextEncoder();

/**
 * A minimal protocol-buffers encoder, enough for TensorBoard's `Event` and `Summary` messages: varints,
 * 32/64-bit fixed numbers, and length-delimited fields (strings, bytes, nested messages, packed arrays).
 * Fields are written in the order called; a nested message is built by its own writer and added as bytes.
 */
export class ProtoWriter {
  private buffer: Uint8Array;
  private view: DataView;
  private length = 0;

  constructor(initialSize = 64) {
    this.buffer = new Uint8Array(initialSize);
    this.view = new DataView(this.buffer.buffer);
  }

  private reserve(bytes: number): void {
    if (this.length + bytes <= this.buffer.length) return;
    let size = this.buffer.length * 2;
    while (size < this.length + bytes) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buffer.subarray(0, this.length));
    this.buffer = next;
    this.view = new DataView(next.buffer);
  }

  private rawVarint(value: number): void {
    this.reserve(10);
    // Up to 2^53 exactly; protobuf int64 of a JS integer step.
    let v = value;
    if (v < 0) {
      // Negative int32/int64 take ten bytes in two's complement.
      const big = BigInt.asUintN(64, BigInt(Math.trunc(v)));
      let b = big;
      while (b >= 0x80n) {
        this.buffer[this.length++] = Number(b & 0x7fn) | 0x80;
        b >>= 7n;
      }
      this.buffer[this.length++] = Number(b);
      return;
    }
    while (v >= 0x80) {
      this.buffer[this.length++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buffer[this.length++] = v;
  }

  private tag(field: number, wireType: number): void {
    this.rawVarint(field * 8 + wireType);
  }

  /** An int32/int64/enum/bool field (wire type 0). */
  varint(field: number, value: number | boolean): this {
    this.tag(field, 0);
    this.rawVarint(typeof value === 'boolean' ? (value ? 1 : 0) : value);
    return this;
  }

  /** A `double` field (wire type 1). */
  double(field: number, value: number): this {
    this.tag(field, 1);
    this.reserve(8);
    this.view.setFloat64(this.length, value, true);
    this.length += 8;
    return this;
  }

  /** A `float` field (wire type 5). */
  float(field: number, value: number): this {
    this.tag(field, 5);
    this.reserve(4);
    this.view.setFloat32(this.length, value, true);
    this.length += 4;
    return this;
  }

  /** A `bytes` or nested-message field (wire type 2). */
  bytes(field: number, value: Uint8Array): this {
    this.tag(field, 2);
    this.rawVarint(value.length);
    this.reserve(value.length);
    this.buffer.set(value, this.length);
    this.length += value.length;
    return this;
  }

  /** A `string` field, UTF-8 encoded. */
  string(field: number, value: string): this {
    return this.bytes(field, textEncoder.encode(value));
  }

  /** A packed `repeated double` field. */
  packedDoubles(field: number, values: ArrayLike<number>): this {
    const bytes = new Uint8Array(values.length * 8);
    const view = new DataView(bytes.buffer);
    for (let i = 0; i < values.length; i++) view.setFloat64(i * 8, values[i] as number, true);
    return this.bytes(field, bytes);
  }

  /** The encoded message. */
  finish(): Uint8Array {
    return this.buffer.slice(0, this.length);
  }
}

/** Encodes a string as UTF-8 bytes. */
export function utf8(value: string): Uint8Array {
  return textEncoder.encode(value);
}
