// MD5 (RFC 1321) in plain TypeScript: MLflow's dataset digests are md5, and a web page has no md5 (WebCrypto
// offers only SHA digests). Inputs are small (at most 10,000 values per array), so speed does not matter.

const SHIFTS = [7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21];
const K = Array.from({ length: 64 }, (_, i) => Math.floor(Math.abs(Math.sin(i + 1)) * 2 ** 32) >>> 0);

/** An incremental MD5 hash: `update` with bytes, then `hex()` once. */
export class Md5 {
  #state = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476];
  readonly #block = new Uint8Array(64);
  #used = 0;
  #length = 0;

  /** Adds `bytes` to the hashed input. */
  update(bytes: Uint8Array): this {
    this.#length += bytes.length;
    let offset = 0;
    while (offset < bytes.length) {
      const take = Math.min(64 - this.#used, bytes.length - offset);
      this.#block.set(bytes.subarray(offset, offset + take), this.#used);
      this.#used += take;
      offset += take;
      if (this.#used === 64) {
        this.#compress(this.#block);
        this.#used = 0;
      }
    }
    return this;
  }

  /** The digest as 32 lowercase hex characters. */
  hex(): string {
    const bits = this.#length * 8;
    const tail = new Uint8Array((this.#used < 56 ? 64 : 128) - this.#used);
    tail[0] = 0x80;
    const view = new DataView(tail.buffer);
    view.setUint32(tail.length - 8, bits >>> 0, true);
    view.setUint32(tail.length - 4, Math.floor(bits / 2 ** 32), true);
    this.update(tail);
    let out = '';
    for (const word of this.#state) {
      for (let i = 0; i < 4; i++) out += ((word >>> (8 * i)) & 0xff).toString(16).padStart(2, '0');
    }
    return out;
  }

  #compress(block: Uint8Array): void {
    const view = new DataView(block.buffer, block.byteOffset, 64);
    const m = Array.from({ length: 16 }, (_, i) => view.getUint32(i * 4, true));
    let [a, b, c, d] = this.#state as [number, number, number, number];
    for (let i = 0; i < 64; i++) {
      let f: number;
      let g: number;
      if (i < 16) {
        f = (b & c) | (~b & d);
        g = i;
      } else if (i < 32) {
        f = (d & b) | (~d & c);
        g = (5 * i + 1) % 16;
      } else if (i < 48) {
        f = b ^ c ^ d;
        g = (3 * i + 5) % 16;
      } else {
        f = c ^ (b | ~d);
        g = (7 * i) % 16;
      }
      const sum = (a + f + K[i]! + m[g]!) >>> 0;
      const shift = SHIFTS[(i >> 4) * 4 + (i % 4)]!;
      a = d;
      d = c;
      c = b;
      b = (b + ((sum << shift) | (sum >>> (32 - shift)))) >>> 0;
    }
    const state = this.#state;
    state[0] = (state[0]! + a) >>> 0;
    state[1] = (state[1]! + b) >>> 0;
    state[2] = (state[2]! + c) >>> 0;
    state[3] = (state[3]! + d) >>> 0;
  }
}
