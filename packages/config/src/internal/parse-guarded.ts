import { MAX_DEPTH, MlflowKitError, MlflowValidationError } from '@mlflow-kit/core';

/**
 * Runs zod's parse, turning what it throws (not what it reports) into a typed error: a config nested so
 * deep that the stack runs out, a getter or Proxy trap that throws while zod reads the input.
 */
export async function parseGuarded<T>(parse: () => Promise<T>): Promise<T> {
  try {
    return await parse();
  } catch (cause) {
    if (MlflowKitError.isInstance(cause)) throw cause;
    const what =
      cause instanceof RangeError
        ? `nests too deep to read (configs may nest at most ${MAX_DEPTH} levels)`
        : 'threw while it was read (a getter or a Proxy trap)';
    throw new MlflowValidationError('(root)', `The config ${what}: pass plain, tree-shaped data.`, { cause });
  }
}
