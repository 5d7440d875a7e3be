import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalStore } from '../../packages/core/src/local-store.js';
import { describeStoreContract } from '../../packages/core/src/testing/store-contract.js';

describeStoreContract('LocalStore', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mlflow-kit-local-contract-'));
  return {
    store: new LocalStore(join(dir, 'mlruns')),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
});
