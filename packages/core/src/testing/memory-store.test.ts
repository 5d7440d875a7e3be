import { expect, it } from 'vitest';
import { createMemoryStore } from './memory-store.js';
import { describeStoreContract } from './store-contract.js';

describeStoreContract('MemoryStore', async () => ({ store: createMemoryStore() }), {
  capabilities: { registry: false, loggedModels: false, runUrl: false },
  additionalTests: (context) => {
    it('runs additional tests on the same fixture', () => expect(context.store.kind).toBe('memory'));
    // The suite turns on hasAssertions for every check, its own and the store's: one that asserts nothing fails.
    it.fails('fails a check that asserts nothing', () => {});
  },
});
