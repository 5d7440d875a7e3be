import { defineConfig } from 'tsdown';
import { packageBuild } from '../../tsdown.base.ts';

export default defineConfig({
  ...packageBuild,
  entry: ['src/index.ts', 'src/testing/index.ts', 'src/internal/index.ts'],
});
