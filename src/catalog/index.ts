export { DEFAULT_CLUSTER, type ApplyResult, type Catalog, type Cluster, type TagPriority, type WorkerGroupConfig, type WorkerGroupInput } from './contract.js';
export { Launcher, UnknownTaskError, expandTag, runOfDefinition, type LaunchOptions } from './launcher.js';
export { createCatalog, type CatalogOptions } from './create-catalog.js';
export { CatalogStore, type CatalogStoreOptions } from './catalog-store.js';
export { clusterSlugSchema, slugify } from './clusters.js';
export { WORKER_GROUP_LIMITS, WORKER_GROUPS_CHANNEL } from './worker-groups.js';
