export type * from './contract.js';
export { createTaskStore, shardName, type StorageOptions } from './create-store.js';
export { loadStorageEngine, STORE_METHODS } from './load-engine.js';
export { BucketRouter } from './bucket-router.js';
