import { createMemoryStore } from './memory-store.js';
import { describeStoreContract } from './store-contract.js';

describeStoreContract('MemoryStore', async () => ({ store: createMemoryStore() }), {
  capabilities: { registry: false, runUrl: false },
});
