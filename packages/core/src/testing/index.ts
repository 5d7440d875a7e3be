export { createMemoryStore, MemoryStore } from './memory-store.js';
export {
  describeStoreContract,
  type StoreContractFixture,
  type StoreContractOptions,
} from './store-contract.js';
