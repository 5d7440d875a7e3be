import { defineConfig } from 'tsdown';
import { browserBuild, packageBuild } from '../../tsdown.base.ts';

export default defineConfig([
  { ...packageBuild, entry: ['src/index.ts'] },
  { ...browserBuild, entry: ['src/browser.ts'] },
]);
