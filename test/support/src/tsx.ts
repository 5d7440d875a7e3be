import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** Repository root, for building paths to scripts run in child processes. */
export const REPO_ROOT = repoRoot;

/**
 * Node arguments that make a child process run TypeScript from any working directory:
 * `spawn(process.execPath, [...TSX_ARGS, script])`. A bare `--import tsx` would be resolved from the
 * child's cwd, which in tests is often a temporary directory. `--conditions` makes the workspace
 * packages resolve to their `src` (see the `@mlflow-kit/source` condition in their exports).
 */
export const TSX_ARGS: readonly string[] = [
  '--conditions=@mlflow-kit/source',
  '--import',
  pathToFileURL(resolve(repoRoot, 'node_modules/tsx/dist/loader.mjs')).href,
];
