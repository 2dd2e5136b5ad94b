/**
 * Taskplane's public API. See README.md for concepts and configuration.
 */
export * from './core/types.js';
export * from './core/errors.js';
export { LIMITS } from './core/limits.js';
export { retryDelaySeconds } from './core/backoff.js';
export { jobHash, bucketOf } from './core/bucket-hash.js';
export { scheduledRunId, isRunId } from './core/run-ids.js';
export type { NewRun, RunFilter, RunDefaults } from './core/run-input.js';
export * from './storage/index.js';
