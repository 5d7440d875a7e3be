import { defineConfig } from 'vitest/config';
import HeavyFirstSequencer from './test/setup/heavy-first-sequencer.js';

/**
 * Workspace packages export `./src/*.ts` under this condition (and `./dist` otherwise), so tests run the
 * sources without a build. Setting conditions replaces Vite's defaults, hence the defaults after it.
 */
const conditions = ['@mlflow-kit/source', 'module', 'node', 'development|production'];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions } },
  test: {
    // vitest's default on 2 cores is one worker: the integration files, which mostly wait on the server and
    // the Python client, would run one after another.
    maxWorkers: 2,
    sequence: { sequencer: HeavyFirstSequencer },
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['packages/*/src/**/*.test.ts'],
          environment: 'node',
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['test/setup/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 240_000,
          // Runs end within MLFLOW_KIT_EXIT_TIMEOUT (5 s by default) or spool the rest. The shared CI machine can be
          // slower than that while the server is healthy; tests that check what reaches the server wait longer,
          // and the spool tests set their own short bound.
          env: { MLFLOW_KIT_EXIT_TIMEOUT: '60' },
        },
      },
    ],
  },
});
