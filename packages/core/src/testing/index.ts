export { createMemoryStore, MemoryStore } from './memory-store.js';
export {
  describeStoreContract,
  type StoreCapabilities,
  type StoreContractContext,
  type StoreContractFixture,
  type StoreContractOptions,
} from './store-contract.js';
