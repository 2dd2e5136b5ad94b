import { randomUUID } from 'node:crypto';
import {
  compileDefinition,
  definitionSchema,
  sameDefinition,
  type DefinitionInput,
  type DefinitionSource,
  type TaskDefinition,
} from '../core/definition.js';
import { TaskplaneError, ValidationError } from '../core/errors.js';
import { encodePayload, parseInput } from '../core/run-input.js';
import type { JsonValue, Runtime, TaskKind } from '../core/types.js';
import { DuplicateDocumentError, type CatalogCollection, type CatalogDatabase } from './catalog-collection.js';
import { ClusterStore } from './clusters.js';
import type { ApplyResult, AuditEntry, AuditEntryInput, Catalog, Cluster, WorkerGroupConfig, WorkerGroupInput } from './contract.js';
import { WorkerGroupStore } from './worker-groups.js';
import { AuditLogStore } from './audit-log.js';

/**
 * The catalog over any `CatalogDatabase` (MongoDB or memory). Definitions are kept here; clusters
 * (`clusters.ts`) and worker-group configs (`worker-groups.ts`) in their own small stores.
 *
 * Correctness rests on two primitives only, because FerretDB offers no atomic compare-and-swap:
 * - a unique `_id` insert: a cluster slug is taken by exactly one `createCluster`, and the
 *   `default` cluster and the first version mark are created insert-or-ignore;
 * - last-writer-wins replaces, which are acceptable for definitions (keyed by name) and for the
 *   version mark: every definition write stores a fresh random value in `catalog_meta`, after the
 *   definition itself, so any change yields a value no reader has seen. A reader that reads the
 *   version before the definitions can at worst reload once too often, never miss a change.
 *   Cluster updates and worker-group puts are last-writer-wins replaces too.
 */

export interface CatalogStoreOptions {
  readonly database: CatalogDatabase;
  /**
   * Called with the slug before a cluster is deleted; throw to refuse (for instance, when runs
   * still target it or runners still serve it).
   */
  readonly beforeDelete?: (slug: string) => Promise<void>;
  /** The generated part of a cluster slug. @defaultValue 6 random characters from `[a-z0-9]` */
  readonly slugSuffix?: () => string;
}

type DefinitionDocument = {
  _id: string;
  kind: TaskKind;
  funcName: string;
  /** Encoded JSON: user keys may hold `.` or start with `$`. */
  args: string;
  schedule: string | null;
  pauseSec: number;
  timeToResolve: number | null;
  maxAttempts: number | null;
  delay: number | null;
  delayFactor: number | null;
  timeout: number | null;
  priority: number;
  cluster: string;
  tag: string | null;
  /** Absent in documents stored before runtimes existed: read as null. */
  runtime?: Runtime | null;
  runTimeout?: number | null;
  source: DefinitionSource;
  updatedAt: Date;
};

type VersionDocument = { _id: string; value: string; at: Date };

const VERSION_ID = 'definitions';

function toDocument(definition: TaskDefinition, args: string): DefinitionDocument {
  const { name, args: _decoded, ...fields } = definition;
  return { _id: name, ...fields, args };
}

/** Fields in `compileDefinition`'s order, so `sameDefinition` compares like with like. */
function fromDocument(doc: DefinitionDocument): TaskDefinition {
  let args: JsonValue;
  try {
    args = JSON.parse(doc.args) as JsonValue;
  } catch (error) {
    throw new TaskplaneError('INTERNAL', `stored definition '${doc._id}' has unreadable args`, { cause: error });
  }
  return Object.freeze({
    name: doc._id,
    kind: doc.kind,
    funcName: doc.funcName,
    args,
    schedule: doc.schedule,
    pauseSec: doc.pauseSec,
    timeToResolve: doc.timeToResolve,
    maxAttempts: doc.maxAttempts,
    delay: doc.delay,
    delayFactor: doc.delayFactor,
    timeout: doc.timeout,
    priority: doc.priority,
    cluster: doc.cluster,
    tag: doc.tag,
    runtime: doc.runtime ?? null,
    runTimeout: doc.runTimeout ?? null,
    source: doc.source,
    updatedAt: doc.updatedAt,
  });
}

/** A validated definition with its args encoded once, ready to store. */
interface PreparedDefinition {
  readonly definition: TaskDefinition;
  readonly args: string;
}

function prepare(input: DefinitionInput, source: DefinitionSource, field: string, now: Date): PreparedDefinition {
  const parsed = parseInput(definitionSchema, input, field);
  const args = encodePayload(parsed.args ?? [], `${field}.args`);
  // What a read returns: args as they come back from their encoding.
  const definition = Object.freeze({ ...compileDefinition(parsed, source, now), args: JSON.parse(args) as JsonValue });
  return { definition, args };
}

export class CatalogStore implements Catalog {
  readonly engine: string;
  readonly #database: CatalogDatabase;
  readonly #definitions: CatalogCollection<DefinitionDocument>;
  readonly #clusters: ClusterStore;
  readonly #meta: CatalogCollection<VersionDocument>;
  readonly #groups: WorkerGroupStore;
  readonly #audit: AuditLogStore;
  #started: Promise<void> | null = null;

  constructor(options: CatalogStoreOptions) {
    this.#database = options.database;
    this.engine = options.database.engine;
    this.#definitions = options.database.collection('definitions');
    this.#clusters = new ClusterStore(options.database.collection('clusters'), options);
    this.#meta = options.database.collection('catalog_meta');
    this.#groups = new WorkerGroupStore(options.database.collection('worker_groups'));
    this.#audit = new AuditLogStore(options.database.collection('audit_log'));
  }

  /** Connects and makes sure the default cluster and a version mark exist. Idempotent. */
  start(): Promise<void> {
    this.#started ??= this.#start().catch((error: unknown) => {
      this.#started = null;
      throw error;
    });
    return this.#started;
  }

  async #start(): Promise<void> {
    await this.#database.connect();
    const now = new Date();
    await this.#clusters.ensureDefault(now);
    await insertUnlessPresent(this.#meta, { _id: VERSION_ID, value: randomUUID(), at: now });
  }

  recordAudit(entry: AuditEntryInput): Promise<void> {
    return this.#audit.record(entry);
  }

  listAudit(first: number, actor?: string): Promise<AuditEntry[]> {
    return this.#audit.list(first, actor);
  }

  async close(): Promise<void> {
    this.#started = null;
    await this.#database.close();
  }

  async listDefinitions(): Promise<TaskDefinition[]> {
    const docs = await this.#definitions.findAll();
    return docs.map(fromDocument).sort((a, b) => compare(a.name, b.name));
  }

  async getDefinition(name: string): Promise<TaskDefinition | null> {
    const doc = await this.#definitions.findOne(name);
    return doc ? fromDocument(doc) : null;
  }

  async putDefinition(input: DefinitionInput, source: DefinitionSource): Promise<TaskDefinition> {
    const { definition, args } = prepare(input, source, 'definition', new Date());
    await this.#definitions.replaceOne(definition.name, toDocument(definition, args), true);
    await this.#bumpVersion();
    return definition;
  }

  async removeDefinition(name: string): Promise<boolean> {
    const removed = await this.#definitions.deleteOne(name);
    if (removed) await this.#bumpVersion();
    return removed;
  }

  async applyConfigDefinitions(inputs: readonly DefinitionInput[]): Promise<ApplyResult> {
    const now = new Date();
    const wanted = new Map<string, PreparedDefinition>();
    inputs.forEach((input, index) => {
      const name: unknown = (input as { name?: unknown } | null)?.name;
      const field = `tasks.${typeof name === 'string' && name !== '' ? name : index}`;
      const prepared = prepare(input, 'config', field, now);
      if (wanted.has(prepared.definition.name)) throw new ValidationError(field, 'is defined more than once');
      wanted.set(prepared.definition.name, prepared);
    });

    const existing = new Map((await this.listDefinitions()).map((definition) => [definition.name, definition]));
    const result = { added: [] as string[], updated: [] as string[], removed: [] as string[], unchanged: [] as string[] };
    for (const [name, { definition, args }] of wanted) {
      const current = existing.get(name);
      if (current && current.source === 'config' && sameDefinition(current, definition)) {
        result.unchanged.push(name);
        continue;
      }
      // A config definition takes over an API one of the same name: the file is the authority.
      await this.#definitions.replaceOne(name, toDocument(definition, args), true);
      (current ? result.updated : result.added).push(name);
    }
    for (const current of existing.values()) {
      if (current.source === 'config' && !wanted.has(current.name) && (await this.#definitions.deleteOne(current.name))) {
        result.removed.push(current.name);
      }
    }
    if (result.added.length + result.updated.length + result.removed.length > 0) await this.#bumpVersion();
    return {
      added: result.added.sort(compare),
      updated: result.updated.sort(compare),
      removed: result.removed.sort(compare),
      unchanged: result.unchanged.sort(compare),
    };
  }

  async version(): Promise<string> {
    return (await this.#meta.findOne(VERSION_ID))?.value ?? 'initial';
  }

  async #bumpVersion(): Promise<void> {
    await this.#meta.replaceOne(VERSION_ID, { _id: VERSION_ID, value: randomUUID(), at: new Date() }, true);
  }


  listClusters(): Promise<Cluster[]> {
    return this.#clusters.list();
  }

  getCluster(slug: string): Promise<Cluster | null> {
    return this.#clusters.get(slug);
  }

  createCluster(input: { name: string; slug?: string; description?: string }): Promise<Cluster> {
    return this.#clusters.create(input);
  }

  updateCluster(slug: string, changes: { name?: string; description?: string | null }): Promise<Cluster | null> {
    return this.#clusters.update(slug, changes);
  }

  deleteCluster(slug: string): Promise<boolean> {
    return this.#clusters.delete(slug);
  }

  listWorkerGroups(): Promise<WorkerGroupConfig[]> {
    return this.#groups.list();
  }

  getWorkerGroup(name: string): Promise<WorkerGroupConfig | null> {
    return this.#groups.get(name);
  }

  putWorkerGroup(input: WorkerGroupInput): Promise<WorkerGroupConfig> {
    return this.#groups.put(input);
  }

  deleteWorkerGroup(name: string): Promise<boolean> {
    return this.#groups.delete(name);
  }
}

async function insertUnlessPresent<T extends { _id: string }>(collection: CatalogCollection<T>, doc: T): Promise<void> {
  try {
    await collection.insertOne(doc);
  } catch (error) {
    if (!(error instanceof DuplicateDocumentError)) throw error;
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
