import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { LocalStore } from '../local-store.js';
import { describeStoreContract } from '../testing/store-contract.js';

let root = '';

describeStoreContract(
  'LocalStore',
  async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mlflow-kit-local-contract-'));
    root = join(dir, 'mlruns');
    return { store: new LocalStore(root), cleanup: () => rm(dir, { recursive: true, force: true }) };
  },
  {
    capabilities: { registry: false, loggedModels: true, runUrl: false },
    additionalTests: (context) => {
      it('keeps an experiment in MLflow file-store layout: <root>/<experiment id>/meta.yaml', async () => {
        const name = context.uniqueName('layout');
        const experimentId = await context.store.createExperiment(name);
        const meta = await readFile(join(root, experimentId, 'meta.yaml'), 'utf8');
        expect(meta).toContain(`name: ${name}`);
      });
    },
  },
);
