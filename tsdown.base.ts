import type { UserConfig } from 'tsdown';

/**
 * How every package is built (each package's `tsdown.config.ts` adds its entry points): ESM for Node 20, with
 * declarations, and source maps for both.
 */
export const packageBuild = {
  format: 'esm',
  dts: { sourcemap: true },
  sourcemap: true,
  platform: 'node',
  target: 'node20',
} as const satisfies UserConfig;
