import type { TestProject } from 'vitest/node';
import { ensureVenv, type MlflowServer, startMlflowServer, venvPython } from './mlflow-env.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Tracking URI of the MLflow server the suite runs against. */
    trackingUri: string;
    /** Python interpreter with the pinned official mlflow client. */
    python: string;
  }
}

let server: MlflowServer | undefined;

/** Starts the pinned `mlflow server` once for the integration project, or uses MLFLOW_TEST_TRACKING_URI. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  ensureVenv();
  const external = process.env.MLFLOW_TEST_TRACKING_URI;
  if (external) {
    project.provide('trackingUri', external.replace(/\/+$/, ''));
  } else {
    server = await startMlflowServer();
    project.provide('trackingUri', server.uri);
  }
  project.provide('python', venvPython());
  return async () => {
    await server?.stop();
  };
}
