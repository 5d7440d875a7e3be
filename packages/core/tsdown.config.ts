import { defineConfig } from 'tsdown';

export default defineConfig({
  entry: ['src/index.ts', 'src/testing/index.ts', 'src/internal/index.ts'],
  format: 'esm',
  dts: { sourcemap: true },
  sourcemap: true,
  platform: 'node',
  target: 'node20',
});
