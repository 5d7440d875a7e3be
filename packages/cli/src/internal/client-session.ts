import {
  createClient,
  type Experiment,
  MlflowApiError,
  type MlflowClient,
  MlflowKitError,
  type TrackingOptions,
} from '@mlflow-kit/core';

/** Runs `fn` with a client for `tracking` (explicit options, else the MLflow environment variables). */
export async function withClient<T>(
  tracking: Omit<TrackingOptions, 'enabled'>,
  fn: (client: MlflowClient) => Promise<T>,
): Promise<T> {
  return fn(createClient(tracking));
}

/** Whether `error` is the server's (or the local store's) "no such thing" answer. */
export function isNotFound(error: unknown): boolean {
  return (
    MlflowApiError.isInstance(error) &&
    (error.errorCode === 'RESOURCE_DOES_NOT_EXIST' || error.status === 404)
  );
}

/** Rethrows a not-found answer as an {@link MlflowKitError} with `message` (which names the fix). */
export async function orNotFound<T>(promise: Promise<T>, message: string): Promise<T> {
  try {
    return await promise;
  } catch (error) {
    if (isNotFound(error)) throw new MlflowKitError(message, { cause: error });
    throw error;
  }
}

/** The experiment named `nameOrId` (a name first, then an id); an error naming the fix when there is none. */
export async function findExperiment(client: MlflowClient, nameOrId: string): Promise<Experiment> {
  const byName = await client.getExperimentByName(nameOrId);
  if (byName) return byName;
  if (/^\d+$/.test(nameOrId)) {
    const byId = await client.getExperiment(nameOrId).catch((error: unknown) => {
      if (isNotFound(error)) return undefined;
      throw error;
    });
    if (byId) return byId;
  }
  throw new MlflowKitError(
    `No experiment named ${JSON.stringify(nameOrId)} at ${client.settings.trackingUri}: see the experiments with \`mlflow-kit experiments list\` (or pass --tracking-uri).`,
  );
}
