import { MlflowValidationError } from '../errors.js';

const SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);

let crcTable: Uint32Array | undefined;

/** CRC-32 (ISO 3309, as PNG and zlib use it). */
function crc32(bytes: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (const byte of bytes) crc = crcTable[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((size, part) => size + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** Whether `bytes` starts with the PNG signature. */
export function isPng(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && SIGNATURE.every((byte, index) => bytes[index] === byte);
}

/**
 * Checks an 8-bit RGBA image (`width * height * 4` bytes, row by row) and returns its PNG scanlines (each row
 * behind its filter byte), the bytes that PNG's IDAT holds zlib-compressed.
 */
export function pngScanlines(
  width: number,
  height: number,
  rgba: Uint8Array | Uint8ClampedArray,
  name = 'image',
): Uint8Array {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new MlflowValidationError(
      name,
      `Image ${name} has size ${width}x${height}: width and height must be positive whole numbers.`,
    );
  }
  if (rgba.length !== width * height * 4) {
    throw new MlflowValidationError(
      name,
      `Image ${name} has ${rgba.length} bytes of data, but ${width}x${height} RGBA needs ${width * height * 4}.`,
    );
  }
  const stride = width * 4;
  const raw = new Uint8Array((stride + 1) * height);
  for (let row = 0; row < height; row++) {
    raw[row * (stride + 1)] = 0; // filter: none
    raw.set(rgba.subarray(row * stride, (row + 1) * stride), row * (stride + 1) + 1);
  }
  return raw;
}

/** Assembles a PNG file from its size and its zlib-compressed scanlines. */
export function assemblePng(width: number, height: number, compressed: Uint8Array): Uint8Array {
  const header = new Uint8Array(13);
  const view = new DataView(header.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  header[8] = 8; // bit depth
  header[9] = 6; // colour type RGBA
  return concat([
    SIGNATURE,
    chunk('IHDR', header),
    chunk('IDAT', compressed),
    chunk('IEND', new Uint8Array()),
  ]);
}

/**
 * Encodes an 8-bit RGBA image as PNG with the platform's `CompressionStream` (Node ≥ 18 and every current
 * browser), so that it needs nothing from Node.
 */
export async function encodePngAsync(
  width: number,
  height: number,
  rgba: Uint8Array | Uint8ClampedArray,
  name = 'image',
): Promise<Uint8Array> {
  const raw = pngScanlines(width, height, rgba, name);
  const stream = new Blob([raw as Uint8Array<ArrayBuffer>])
    .stream()
    .pipeThrough(new CompressionStream('deflate'));
  const compressed = new Uint8Array(await new Response(stream).arrayBuffer());
  return assemblePng(width, height, compressed);
}
