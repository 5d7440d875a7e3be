import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/**
 * The source entry of the `mlflow-kit` command, found through `@mlflow-kit/cli` by name; run it with
 * `TSX_ARGS` (`spawn(process.execPath, [...TSX_ARGS, CLI_SOURCE, ...args])`) to test the CLI as the
 * workspace has it, without a build.
 */
export const CLI_SOURCE: string = join(
  dirname(createRequire(import.meta.url).resolve('@mlflow-kit/cli/package.json')),
  'src/bin.ts',
);
