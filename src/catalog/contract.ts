import type { DefinitionInput, DefinitionSource, TaskDefinition } from '../core/definition.js';

/**
 * The catalog: cluster-wide config that is not runs — task definitions and clusters. It lives on
 * the first shard (`shard-0`, collections `definitions` and `clusters`) of the MongoDB engine,
 * or in memory in embedded mode. Small, read often, written rarely.
 *
 * Definitions come from two sources. The config file's `tasks:` are applied with
 * `applyConfigDefinitions` (at start and on SIGHUP): that set replaces the earlier config set and
 * leaves API-defined ones alone. The API defines, updates and removes single definitions.
 * `version()` changes with every definition change, so a scheduler can tell when to reload.
 */
export interface Catalog {
  start(): Promise<void>;
  close(): Promise<void>;

  listDefinitions(): Promise<TaskDefinition[]>;
  getDefinition(name: string): Promise<TaskDefinition | null>;
  /** Validates and stores a definition, replacing one of the same name. Throws `ValidationError`. */
  putDefinition(input: DefinitionInput, source: DefinitionSource): Promise<TaskDefinition>;
  /** Removes a definition; false when there was none. Its runs stay. */
  removeDefinition(name: string): Promise<boolean>;
  /** Makes the config-sourced definitions exactly `inputs` (validated all first; nothing is written when one is bad). */
  applyConfigDefinitions(inputs: readonly DefinitionInput[]): Promise<ApplyResult>;
  /** Changes whenever a definition is stored or removed. */
  version(): Promise<string>;

  listClusters(): Promise<Cluster[]>;
  getCluster(slug: string): Promise<Cluster | null>;
  /** Creates a cluster with slug `name-<generated id>`, or `slug` when given. Throws `CONFLICT` when the slug is taken. */
  createCluster(input: { name: string; slug?: string; description?: string }): Promise<Cluster>;
  /** Deletes a cluster; false when there was none. Refuses `default` with `CONFLICT`. */
  deleteCluster(slug: string): Promise<boolean>;
}

export interface ApplyResult {
  readonly added: string[];
  readonly updated: string[];
  readonly removed: string[];
  readonly unchanged: string[];
}

export interface Cluster {
  readonly slug: string;
  readonly name: string;
  readonly description: string | null;
  readonly createdAt: Date;
}

/** The cluster that always exists. */
export const DEFAULT_CLUSTER = 'default';
