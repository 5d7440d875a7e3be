import { defineConfig } from 'vitest/config';

/**
 * Workspace packages export `./src/*.ts` under this condition (and `./dist` otherwise), so tests run the
 * sources without a build. Setting conditions replaces Vite's defaults, hence the defaults after it.
 */
const conditions = ['@mlflow-kit/source', 'module', 'node', 'development|production'];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions } },
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
        },
      },
    ],
  },
});
