import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from '@mlflow-kit/test-support/tsx';
import { describe, expect, it } from 'vitest';
import { trackingUri } from '../helpers/python.js';
import { withPortLock } from './port-lock.js';
import { withWorkspaceLock } from './workspace-lock.js';

const MARKER = '<!-- walkthrough:';

/** The shell block right after the walkthrough marker of the root README, as written there. */
function walkthroughBlock(): string {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf(MARKER);
  expect(start, 'README.md has a walkthrough marker').toBeGreaterThan(0);
  const block = readme.slice(start).match(/```sh\n([\s\S]*?)\n```/);
  expect(block?.[1]).toBeDefined();
  return block?.[1] ?? '';
}

describe("the README's whole-loop walkthrough, run as written against the real server", () => {
  it('trains with autolog, promotes the champion, serves it, answers curl, and shows the run with its charts', async () => {
    const script = walkthroughBlock();
    // readme-blocks.test.ts runs the CLI README's `serve --port 5001` too: the two take turns on the port.
    // The block runs workspace bins, which the README's `pnpm install` block rewrites: they take turns too.
    const { stdout, stderr } = await withPortLock(5001, () =>
      withWorkspaceLock('read', () =>
        promisify(execFile)('bash', ['-euo', 'pipefail', '-c', script], {
          cwd: REPO_ROOT,
          env: { ...process.env, MLFLOW_TRACKING_URI: trackingUri(), COLUMNS: '100' },
          timeout: 400_000,
          maxBuffer: 16 * 1024 * 1024,
        }),
      ),
    );
    // 1. the demo registered the model
    expect(stdout).toMatch(/Registered as models:\/iris-classifier\/\d+/);
    // 2. the alias
    expect(stdout).toMatch(/models:\/iris-classifier@champion → version \d+/);
    // 3-4. the served prediction: three class probabilities summing to 1
    const answer = stdout.match(/\{"predictions":\[\[[^\]]*\]\]\}/)?.[0];
    expect(answer, stdout).toBeDefined();
    const [probabilities = []] = (JSON.parse(answer ?? '{}') as { predictions: number[][] }).predictions;
    expect(probabilities).toHaveLength(3);
    expect(probabilities.reduce((total, p) => total + p, 0)).toBeCloseTo(1, 4);
    expect(stderr).toMatch(/Serving models:\/iris-classifier@champion at http:\/\/127\.0\.0\.1:5001/);
    expect(stderr).toMatch(/Stopped: every request in progress was answered/);
    // 5. runs show: the loss curves drawn in braille
    expect(stdout).toMatch(/val_loss/);
    expect(stdout).toMatch(/[\u2800-\u28ff]/);
  }, 420_000);
});
