export { DEFAULT_CLUSTER, type ApplyResult, type Catalog, type Cluster } from './contract.js';
export { Launcher, UnknownTaskError, expandTag, runOfDefinition, type LaunchOptions } from './launcher.js';
export { createCatalog, type CatalogOptions } from './create-catalog.js';
export { CatalogStore, slugify, type CatalogStoreOptions } from './catalog-store.js';
