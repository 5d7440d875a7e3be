import { execFile } from 'node:child_process';
import { inject } from 'vitest';

/**
 * Runs `code` with the official Python mlflow client and returns the JSON its last stdout line prints.
 * `MLFLOW_TRACKING_URI` is the suite's server unless `env` says otherwise.
 *
 * @example
 * ```ts
 * const run = await python(`
 * import json, mlflow
 * r = mlflow.get_run("${runId}")
 * print(json.dumps(r.data.params))
 * `);
 * ```
 */
export function python<T = unknown>(code: string, env: Record<string, string> = {}): Promise<T> {
  const interpreter = inject('python');
  return new Promise((resolve, reject) => {
    execFile(
      interpreter,
      ['-c', code],
      {
        env: {
          ...process.env,
          MLFLOW_TRACKING_URI: inject('trackingUri'),
          MLFLOW_ALLOW_FILE_STORE: 'true',
          PYTHONWARNINGS: 'ignore',
          // Telemetry can crash the client at exit (KeyError: '_MLFLOW_TELEMETRY_SESSION_ID') and would
          // try to reach the internet.
          MLFLOW_DISABLE_TELEMETRY: 'true',
          ...env,
        },
        maxBuffer: 256 * 1024 * 1024,
        timeout: 300_000,
      },
      (error, stdout, stderr) => {
        if (error) {
          reject(new Error(`python failed: ${error.message}\n${stderr}`));
          return;
        }
        const lines = stdout.trim().split('\n');
        try {
          resolve(JSON.parse(lines[lines.length - 1] ?? 'null') as T);
        } catch {
          reject(new Error(`python printed no JSON on its last line:\n${stdout}\n${stderr}`));
        }
      },
    );
  });
}

/** The tracking URI of the suite's MLflow server. */
export function trackingUri(): string {
  return inject('trackingUri');
}

/** A name unique to this test, for experiments and models, so tests never see each other's data. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}
