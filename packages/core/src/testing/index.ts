export {
  closedPortUri,
  createFaultProxy,
  type Fault,
  type FaultHandler,
  FaultProxy,
  type FaultProxyOptions,
  type FaultScope,
  type InjectedFault,
  type ReceivedRequest,
  sendJson,
} from './fault-proxy.js';
export { createMemoryStore, MemoryStore } from './memory-store.js';
export {
  describeStoreContract,
  type StoreCapabilities,
  type StoreContractContext,
  type StoreContractFixture,
  type StoreContractOptions,
} from './store-contract.js';
