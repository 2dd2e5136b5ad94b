/**
 * Taskplane's public API. See README.md for concepts and configuration.
 *
 * - `createNode(config)` starts a node in your process (the programmatic twin of `npm start`).
 * - `TaskplaneClient` talks to a running cluster over GraphQL.
 * - `createTaskStore`, `createCatalog`, `createCoordinator` are the building blocks the roles use,
 *   for custom set-ups and tools.
 */
export * from './core/types.js';
export * from './core/errors.js';
export type { Handler, HandlerContext, HandlerLogger } from './core/handler.js';
export type { DefinitionInput, TaskDefinition, DefinitionSource } from './core/definition.js';
export type { Role, RunnerInfo, NodeInfo } from './core/members.js';
export { LIMITS } from './core/limits.js';
export { retryDelaySeconds } from './core/backoff.js';
export { jobHash, bucketOf } from './core/bucket-hash.js';
export { scheduledRunId, isRunId } from './core/run-ids.js';
export type { NewRun, RunFilter, RunDefaults } from './core/run-input.js';
export * from './storage/index.js';
export { createCatalog, Launcher, UnknownTaskError, DEFAULT_CLUSTER, type Catalog, type Cluster, type ApplyResult } from './catalog/index.js';
export { createCoordinator, withRunEvents, type Coordinator, type RunEvent } from './coordination/index.js';
export { loadConfig, compileConfig, ConfigError, formatConfigError, type NodeConfig } from './config/index.js';
export { createNode, type NodeInput } from './node/create-node.js';
export { TaskplaneNode } from './node/taskplane-node.js';
export { TaskplaneClient, TaskplaneClientError, type ClientOptions, type TaskView, type StatisticsView } from './client/taskplane-client.js';
