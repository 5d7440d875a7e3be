import { setDiagLogger, startRun } from '@mlflow-kit/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { python, trackingUri, uniqueName } from '../helpers/python.js';

// The `redact` option of a run, read back from the real server by the Python client.

const diagLines: string[] = [];

beforeAll(() => {
  const record = (message: string) => diagLines.push(message);
  setDiagLogger({ error: record, warn: record, info: record, debug: record }, 'warn');
});

afterAll(() => {
  setDiagLogger(undefined);
});

async function serverData(
  runId: string,
): Promise<{ params: Record<string, string>; tags: Record<string, string> }> {
  return python(`
import json
from mlflow import MlflowClient
r = MlflowClient().get_run("${runId}")
print(json.dumps({"params": r.data.params, "tags": {k: v for k, v in r.data.tags.items() if not k.startswith("mlflow.")}}))
`);
}

describe('the redact option of a run', () => {
  it('adds key and value patterns and allows keys, still redacting credential shapes under allowed keys', async () => {
    const run = await startRun({
      enabled: true,
      trackingUri: trackingUri(),
      experimentName: uniqueName('redact-option'),
      redact: { secretPatterns: ['wandb'], valuePatterns: [/corp-\d{4}/], allowKeys: ['session_token'] },
    });
    run.logParams({
      wandb_id: 'abc123',
      note: 'ticket corp-1234 closed',
      session_token: 'visible-by-choice',
      token_url: 'https://u:hunter2hunter2@host/x',
      api_key: 'still-secret',
    });
    run.setTags({ wandb_entity: 'team', session_token: 'ghp_RedactOptionToken0000000000000000001' });
    await run.end();
    const { params, tags } = await serverData(run.runId);
    expect(params).toEqual({
      wandb_id: '***',
      note: 'ticket *** closed',
      session_token: 'visible-by-choice',
      token_url: '***',
      api_key: '***',
    });
    // An allowed key is exempt from the key words, not from the token shapes.
    expect(tags).toEqual({ wandb_entity: '***', session_token: '***' });
  }, 60_000);

  it('redact: false stores params and tags verbatim and says REDACTION IS OFF', async () => {
    diagLines.length = 0;
    const run = await startRun({
      enabled: true,
      trackingUri: trackingUri(),
      experimentName: uniqueName('redact-off'),
      redact: false,
    });
    run.logParams({ api_key: 'known-clean-value', db: 'postgres://u:pw-in-test@db/app' });
    run.setTag('token', 'known-clean-tag');
    await run.end();
    expect(diagLines.some((line) => line.includes('REDACTION IS OFF') && line.includes(run.runId))).toBe(
      true,
    );
    expect(await serverData(run.runId)).toEqual({
      params: { api_key: 'known-clean-value', db: 'postgres://u:pw-in-test@db/app' },
      tags: { token: 'known-clean-tag' },
    });
  }, 60_000);
});
