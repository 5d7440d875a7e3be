import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

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

/**
 * The source entry of the `mlflow-kit` command, found through `@mlflow-kit/cli` by name; run it with
 * {@link TSX_ARGS} (`spawn(process.execPath, [...TSX_ARGS, CLI_SOURCE, ...args])`) to test the CLI as the
 * workspace has it, without a build.
 */
export const CLI_SOURCE: string = join(
  dirname(createRequire(import.meta.url).resolve('@mlflow-kit/cli/package.json')),
  'src/bin.ts',
);
