import { setDiagLogger } from '../diag.js';
import { parseBooleanEnv, processEnv } from './setting-parsers.js';

/**
 * Honours the `debug` switch of an entry point: when `debug` is `true` (or, when it is not given,
 * `MLFLOW_KIT_DEBUG` is on), sends mlflow-kit's diagnostics to the console at `debug` level. Every entry
 * point calls it first, tracking on or off, so that `debug: true` also explains why nothing is logged.
 * For mlflow-kit's adapter packages.
 *
 * @param debug - the entry point's `debug` option. @defaultValue `MLFLOW_KIT_DEBUG`, else `false`
 * @param env - where `MLFLOW_KIT_DEBUG` is read. @defaultValue `process.env`
 *
 * @example
 * ```ts
 * export function myEntryPoint(options: MyOptions = {}) {
 *   applyDebugOption(options.debug);
 * }
 * ```
 */
export function applyDebugOption(
  debug: boolean | undefined,
  env: Record<string, string | undefined> = processEnv(),
): void {
  if (debug ?? envDebug(env)) setDiagLogger(globalThis.console, 'debug');
}

function envDebug(env: Record<string, string | undefined>): boolean {
  try {
    return parseBooleanEnv('MLFLOW_KIT_DEBUG', env.MLFLOW_KIT_DEBUG) ?? false;
  } catch {
    // A malformed value is reported by resolveSettings when tracking is on; with tracking off nothing throws.
    return false;
  }
}
