import type { Coordinator } from './contract.js';
import { MemoryCoordinator } from './memory-coordinator.js';
import { RedisCoordinator } from './redis-coordinator.js';

export interface CoordinatorOptions {
  /** Redis to coordinate through; null → the in-process coordinator of embedded mode. */
  readonly redis: { readonly url: string; readonly prefix: string } | null;
  /** Told about failures that are not thrown (publish, heartbeat, listeners, connections). */
  readonly onError?: (error: Error) => void;
}

/** Builds the Redis coordinator or, without Redis, the in-process one. Call `start()` next. */
export function createCoordinator(options: CoordinatorOptions): Coordinator {
  const { redis, onError } = options;
  if (redis === null) return new MemoryCoordinator(onError ? { onError } : {});
  return new RedisCoordinator({ url: redis.url, prefix: redis.prefix, ...(onError ? { onError } : {}) });
}
