import { deflateSync } from 'node:zlib';
import { assemblePng, pngScanlines } from './png.js';

/** Encodes an 8-bit RGBA image (`width * height * 4` bytes, row by row) as PNG, synchronously (Node only). */
export function encodePng(
  width: number,
  height: number,
  rgba: Uint8Array | Uint8ClampedArray,
  name = 'image',
): Uint8Array {
  return assemblePng(width, height, new Uint8Array(deflateSync(pngScanlines(width, height, rgba, name))));
}
