import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Md5 } from './md5.js';

describe('Md5', () => {
  it('gives the RFC 1321 test digests', () => {
    const text = (value: string): string => new Md5().update(new TextEncoder().encode(value)).hex();
    expect(text('')).toBe('d41d8cd98f00b204e9800998ecf8427e');
    expect(text('abc')).toBe('900150983cd24fb0d6963f7d28e17f72');
    expect(text('12345678901234567890123456789012345678901234567890123456789012345678901234567890')).toBe(
      '57edf4a22be3c955ac49da2e2107b67a',
    );
  });

  it("equals Node's md5 for inputs of every length around the block size, fed in pieces", () => {
    for (let length = 0; length < 200; length++) {
      const bytes = randomBytes(length);
      const ours = new Md5().update(bytes.subarray(0, length >> 1)).update(bytes.subarray(length >> 1));
      expect(ours.hex(), `length ${length}`).toBe(createHash('md5').update(bytes).digest('hex'));
    }
  });
});
