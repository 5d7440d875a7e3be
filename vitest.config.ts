import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
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
