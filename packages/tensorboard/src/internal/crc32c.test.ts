import { describe, expect, it } from 'vitest';
import { crc32c, maskedCrc32c } from './crc32c.js';
import { frameRecord } from './event-file-writer.js';

const ascii = (text: string): Uint8Array => new TextEncoder().encode(text);

describe('CRC-32C and TFRecord framing', () => {
  it('computes the CRC-32C check value of "123456789" (0xE3069283) and of 32 zero bytes (0x8A9136AA)', () => {
    expect(crc32c(ascii('123456789'))).toBe(0xe3069283);
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
  });

  it('masks a CRC as TFRecord does: rotate right 15, add 0xa282ead8', () => {
    const crc = crc32c(ascii('abc'));
    const rotated = ((crc >>> 15) | (crc << 17)) >>> 0;
    expect(maskedCrc32c(ascii('abc'))).toBe((rotated + 0xa282ead8) >>> 0);
  });

  it('frames a record as length, masked CRC of the length, data, masked CRC of the data', () => {
    const data = ascii('event');
    const record = frameRecord(data);
    const view = new DataView(record.buffer);
    expect(record.length).toBe(16 + data.length);
    expect(view.getBigUint64(0, true)).toBe(5n);
    expect(view.getUint32(8, true)).toBe(maskedCrc32c(record.subarray(0, 8)));
    expect(record.subarray(12, 17)).toEqual(data);
    expect(view.getUint32(17, true)).toBe(maskedCrc32c(data));
  });
});
