export type * from './contract.js';
export { createCoordinator, type CoordinatorOptions } from './create-coordinator.js';
export { MemoryCoordinator, type MemoryCoordinatorOptions } from './memory-coordinator.js';
export { RedisCoordinator, type RedisCoordinatorOptions } from './redis-coordinator.js';
export { withRunEvents } from './publishing-store.js';
