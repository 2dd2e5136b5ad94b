import type { DefinitionInput, DefinitionSource, TaskDefinition } from '../core/definition.js';

/**
 * The catalog: cluster-wide config that is not runs — task definitions, clusters and worker-group
 * configs. It lives on the first shard (`shard-0`, collections `definitions`, `clusters` and
 * `worker_groups`) of the MongoDB engine, or in memory in embedded mode. Small, read often,
 * written rarely.
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
  /**
   * Creates a cluster with slug `name-<generated id>`, or `slug` when given (lowercase letters,
   * digits and `-`, at most 63 characters, not `default`). Throws `CONFLICT` when the slug is taken.
   */
  createCluster(input: { name: string; slug?: string; description?: string }): Promise<Cluster>;
  /**
   * Renames or re-describes a cluster (its slug never changes; `description: null` clears it).
   * Null when there is no such cluster. Throws `ValidationError` before writing anything.
   */
  updateCluster(slug: string, changes: { name?: string; description?: string | null }): Promise<Cluster | null>;
  /** Deletes a cluster; false when there was none. Refuses `default` with `CONFLICT`. */
  deleteCluster(slug: string): Promise<boolean>;

  /** Stored worker-group configs, by name. */
  listWorkerGroups(): Promise<WorkerGroupConfig[]>;
  getWorkerGroup(name: string): Promise<WorkerGroupConfig | null>;
  /** Validates and stores a group's whole config, replacing the one of the same name. Throws `ValidationError`. */
  putWorkerGroup(input: WorkerGroupInput): Promise<WorkerGroupConfig>;
  /** False when there was none. Its runners fall back to their own tags and handlers. */
  deleteWorkerGroup(name: string): Promise<boolean>;

  /** Appends one entry to the audit log (kept bounded: the newest entries stay). */
  recordAudit(entry: AuditEntryInput): Promise<void>;
  /** The newest `first` audit entries, newest first, optionally of one actor. */
  listAudit(first: number, actor?: string): Promise<AuditEntry[]>;
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

/** A tag and how eagerly a group's runners claim its runs (higher first). */
export interface TagPriority {
  readonly tag: string;
  readonly priority: number;
}

/**
 * How the runners of one worker group (`WORKER_GROUP`) route, stored once for every cluster and
 * followed by running runners within seconds of a change.
 */
export interface WorkerGroupConfig {
  readonly name: string;
  /** When not empty, the group's runners listen to these (plus their own explicit `WORKER_TAGS`). */
  readonly tags: readonly string[];
  /** Tags whose runs are claimed first; a tag not listed has priority 0. */
  readonly tagPriorities: readonly TagPriority[];
  /** When set, the group's runners register and claim only this handler. */
  readonly dedicatedHandler: string | null;
  /** A shell command the group's runners run once at start, before claiming (where their config allows it). */
  readonly initCommand: string | null;
  readonly updatedAt: Date;
}

/** What `putWorkerGroup` takes: omitted fields are empty (a put replaces the whole config). */
export interface WorkerGroupInput {
  readonly name: string;
  readonly tags?: readonly string[] | null;
  readonly tagPriorities?: readonly TagPriority[] | null;
  readonly dedicatedHandler?: string | null;
  readonly initCommand?: string | null;
}

/** The cluster that always exists. */
export const DEFAULT_CLUSTER = 'default';

/** One mutation as the audit log keeps it. */
export interface AuditEntryInput {
  readonly at: Date;
  /** The token's name, or `anonymous` when auth is off. */
  readonly actor: string;
  readonly role: string;
  /** The caller's address as the api node saw it. */
  readonly address: string | null;
  /** The mutation fields executed, e.g. `task.start`, `cluster.delete`. */
  readonly operations: readonly string[];
  /** The request's variables, JSON, cut to a bounded length. */
  readonly variables: string | null;
  readonly outcome: 'ok' | 'error';
  /** Error codes of a failed mutation (`FORBIDDEN`, `BAD_USER_INPUT` …). */
  readonly errors: readonly string[];
}

export interface AuditEntry extends AuditEntryInput {
  readonly id: string;
}
