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

/**
 * The `browser` entry points of a package (its `browser` export condition): ESM for current browsers, built
 * after the Node build (which cleans `dist`) into the same folder, with Node's built-ins out of reach.
 */
export const browserBuild = {
  ...packageBuild,
  platform: 'browser',
  target: 'es2022',
  clean: false,
} as const satisfies UserConfig;
