import { defineConfig } from 'tsdown';
import { browserBuild, packageBuild } from '../../tsdown.base.ts';

export default defineConfig([
  {
    ...packageBuild,
    entry: ['src/index.ts', 'src/testing/index.ts', 'src/internal/index.ts'],
  },
  {
    ...browserBuild,
    entry: ['src/browser.ts', 'src/internal/browser.ts'],
  },
]);
