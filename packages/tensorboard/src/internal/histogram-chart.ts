import type { RgbaImage } from './image.js';

const WIDTH = 480;
const HEIGHT = 240;
const MARGIN = 8;

/**
 * Renders bucket counts as a bar chart (one bar per bucket, height proportional to its count), so the MLflow
 * UI, which previews PNG artifacts, shows the histogram at a glance. The exact numbers are in the JSON beside it.
 */
export function renderHistogram(counts: readonly number[]): RgbaImage {
  const data = new Uint8Array(WIDTH * HEIGHT * 4).fill(255);
  const peak = Math.max(0, ...counts);
  const plotWidth = WIDTH - 2 * MARGIN;
  const plotHeight = HEIGHT - 2 * MARGIN;
  const baseline = HEIGHT - MARGIN;
  for (let x = MARGIN; x < WIDTH - MARGIN; x++) {
    const offset = (baseline * WIDTH + x) * 4;
    data[offset] = 80;
    data[offset + 1] = 80;
    data[offset + 2] = 80;
  }
  if (peak > 0 && counts.length > 0) {
    counts.forEach((count, index) => {
      const left = MARGIN + Math.floor((index * plotWidth) / counts.length);
      const right = MARGIN + Math.floor(((index + 1) * plotWidth) / counts.length);
      const top = baseline - Math.round((count / peak) * plotHeight);
      for (let y = top; y < baseline; y++) {
        for (let x = left; x < Math.max(left + 1, right - 1); x++) {
          const offset = (y * WIDTH + x) * 4;
          data[offset] = 33;
          data[offset + 1] = 113;
          data[offset + 2] = 181;
        }
      }
    });
  }
  return { width: WIDTH, height: HEIGHT, data };
}
