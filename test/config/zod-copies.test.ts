import { logConfig, secret } from '@mlflow-kit/config';
import { startRun } from '@mlflow-kit/core';
import { describe, expect, it } from 'vitest';
import { z as zodWorkspace } from 'zod';
import workspacePackage from 'zod/package.json' with { type: 'json' };
import { z as zodAlt } from 'zod-alt';
import zodAltPackage from 'zod-alt/package.json' with { type: 'json' };
import { z as zod3v4 } from 'zod3/v4';
import { python, trackingUri, uniqueName } from '../helpers/python.js';

const PLANTED = 'Zod-Planted-Secret-5b1e';

/** Params and config.json of a run, as the official Python client reads them. */
function readBack(runId: string): Promise<{ params: Record<string, string>; config: string }> {
  return python(`
import json, tempfile, mlflow
from mlflow import MlflowClient
r = MlflowClient().get_run("${runId}")
p = mlflow.artifacts.download_artifacts(run_id="${runId}", artifact_path="config.json", dst_path=tempfile.mkdtemp())
print(json.dumps({"params": r.data.params, "config": open(p).read()}))
`);
}

/** The same schema, built with whichever copy of zod the app uses. */
function schemaOf(z: typeof zodAlt) {
  return z.object({
    lr: z.number(),
    hub: secret(z.string() as never) as unknown as ReturnType<typeof z.string>,
    wandb: z.string().meta({ secret: true }),
    nested: z.object({ plain: z.string().optional().meta({ secret: true }) }),
  });
}

describe('secret marks are read from the schema whatever copy of zod made it', () => {
  it('runs with the app on a different zod version than the one the workspace resolves', () => {
    expect(zodAltPackage.version).not.toBe(workspacePackage.version);
    expect(zodAltPackage.version.split('.').slice(0, 2)).not.toEqual(
      workspacePackage.version.split('.').slice(0, 2),
    );
  });

  it.each([
    ['zod 4.1 (zod-alt)', schemaOf(zodAlt)],
    ["zod 3.25's zod/v4", schemaOf(zod3v4 as unknown as typeof zodAlt)],
    ['the workspace zod', schemaOf(zodWorkspace as unknown as typeof zodAlt)],
  ])('redacts marked fields of a schema made by %s, in params and config.json', async (_name, schema) => {
    const run = await startRun({
      enabled: true,
      trackingUri: trackingUri(),
      experimentName: uniqueName('zod-copies'),
    });
    const input = { lr: 0.1, hub: PLANTED, wandb: PLANTED, nested: { plain: PLANTED } };
    const parsed = await logConfig(schema as never, input);
    expect(parsed).toEqual(input);
    await run.end();
    const read = await readBack(run.runId);
    expect(read.params).toEqual({ lr: '0.1', hub: '***', wandb: '***', 'nested.plain': '***' });
    expect(read.config).not.toContain(PLANTED);
    expect(JSON.parse(read.config)).toEqual({ lr: 0.1, hub: '***', wandb: '***', nested: { plain: '***' } });
  });
});
