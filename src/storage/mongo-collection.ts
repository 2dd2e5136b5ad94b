import { randomUUID } from 'node:crypto';
import {
  MongoBulkWriteError,
  MongoClient,
  MongoNetworkError,
  MongoNotConnectedError,
  MongoServerSelectionError,
  MongoTopologyClosedError,
  type Collection,
  type Document,
  type MongoClientOptions,
  type OptionalUnlessRequiredId,
} from 'mongodb';
import { ShardUnavailableError, TaskplaneError } from '../core/errors.js';
import { countKey, sumByKey, type CountDelta, type CountRecord } from './run-counts.js';
import type { RunDocument } from './run-document.js';
import {
  MARKER_INDEXES,
  RUN_INDEXES,
  type FindOptions,
  type RevisionMarker,
  type RunFilterDoc,
  type RunUpdateDoc,
  type ShardCollection,
} from './shard-collection.js';

export interface MongoShardOptions {
  /** Shard name shown in errors and statistics. */
  readonly name: string;
  /** Connection string; its path names the database (`mongodb://host:27017/taskplane`). */
  readonly url: string;
  /** How long an operation waits for an unreachable shard before it fails. @defaultValue 2000 */
  readonly serverSelectionTimeoutMs?: number;
  /** A command with no answer for this long fails as `SHARD_UNAVAILABLE` instead of hanging. @defaultValue 60000 */
  readonly socketTimeoutMs?: number;
  /** Called with every command the driver sends (for command counting in benchmarks and tests). */
  readonly onCommand?: (commandName: string) => void;
}

const DUPLICATE_KEY = 11000;
/**
 * FerretDB 1.24 keeps one SQLite connection open per statement of an `update` command until the
 * command ends, and its pool holds 100: an update of 100 statements — or concurrent updates
 * adding up to 100 — waits forever. Bulk updates to a FerretDB shard therefore go in small
 * sequential chunks (so a claim of k runs there costs ceil(k/16) update commands). MongoDB takes
 * up to 100,000 statements per command.
 */
const FERRETDB_STATEMENTS_PER_UPDATE = 16;

/** One MongoDB shard (a database, possibly on a replica set or behind mongos). */
export class MongoCollection implements ShardCollection {
  readonly shard: string;
  readonly #client: MongoClient;
  readonly #collection: Collection<RunDocument>;
  readonly #markers: Collection<RevisionMarker>;
  readonly #counts: Collection<Document>;
  /** This instance's own count records (see `run-counts.ts`): `[cluster, name, writerId]`. */
  readonly #writerId = randomUUID();
  readonly #pendingCounts = new Map<string, { cluster: string; name: string; by: Record<string, number> }>();
  #countWrites: Promise<void> = Promise.resolve();
  /** Statements per `update` command, once the server is known (FerretDB takes fewer). */
  #statementsPerUpdate: number | null = null;

  constructor(options: MongoShardOptions) {
    this.shard = options.name;
    const clientOptions: MongoClientOptions = {
      serverSelectionTimeoutMS: options.serverSelectionTimeoutMs ?? 2000,
      connectTimeoutMS: options.serverSelectionTimeoutMs ?? 2000,
      // Claims and settlements are conditional writes: a blind driver-level retry after an
      // unknown outcome could claim twice, so the storage logic decides what to retry.
      socketTimeoutMS: options.socketTimeoutMs ?? 60_000,
      retryWrites: false,
      maxPoolSize: 32,
      monitorCommands: options.onCommand !== undefined,
    };
    this.#client = new MongoClient(options.url, clientOptions);
    if (options.onCommand) {
      const onCommand = options.onCommand;
      this.#client.on('commandStarted', (event) => onCommand(event.commandName));
    }
    this.#collection = this.#client.db().collection<RunDocument>('runs');
    this.#markers = this.#client.db().collection<RevisionMarker>('run_revisions');
    this.#counts = this.#client.db().collection('run_counts');
  }

  connect(): Promise<void> {
    return this.#call(async () => {
      await this.#client.connect();
      await this.#updateBatchSize();
    });
  }

  async #updateBatchSize(): Promise<number> {
    if (this.#statementsPerUpdate === null) {
      const info = await this.#client.db().admin().command({ buildInfo: 1 });
      this.#statementsPerUpdate = typeof info.ferretdbVersion === 'string' ? FERRETDB_STATEMENTS_PER_UPDATE : 100_000;
    }
    return this.#statementsPerUpdate;
  }

  ensureIndexes(): Promise<void> {
    return this.#call(async () => {
      await this.#collection.createIndexes(RUN_INDEXES.map((index) => ({ name: index.name, key: index.key })));
      await this.#markers.createIndexes(MARKER_INDEXES.map((index) => ({ name: index.name, key: index.key })));
    });
  }

  ping(): Promise<void> {
    return this.#call(async () => {
      await this.#client.db().command({ ping: 1 });
    });
  }

  async close(): Promise<void> {
    await this.#client.close();
  }

  insertMany(docs: readonly RunDocument[]): Promise<{ duplicates: Set<string> }> {
    return this.#call(() => insertReportingDuplicates(this.#collection, docs));
  }

  insertMarkers(markers: readonly RevisionMarker[]): Promise<{ duplicates: Set<string> }> {
    return this.#call(() => insertReportingDuplicates(this.#markers, markers));
  }

  findMarkers(ids: readonly string[]): Promise<RevisionMarker[]> {
    return this.#call(() => this.#markers.find({ _id: { $in: [...ids] } }).toArray());
  }

  deleteMarkers(before: Date): Promise<number> {
    return this.#call(async () => (await this.#markers.deleteMany({ at: { $lt: before } })).deletedCount);
  }

  find(filter: RunFilterDoc, options: FindOptions = {}): Promise<RunDocument[]> {
    return this.#call(() => {
      let cursor = this.#collection.find(filter);
      if (options.projection) cursor = cursor.project(options.projection);
      if (options.sort) cursor = cursor.sort(options.sort);
      if (options.skip) cursor = cursor.skip(options.skip);
      if (options.limit) cursor = cursor.limit(options.limit);
      return cursor.toArray() as Promise<RunDocument[]>;
    });
  }

  updateOne(filter: RunFilterDoc, update: RunUpdateDoc): Promise<number> {
    return this.#call(async () => (await this.#collection.updateOne(filter, update)).matchedCount);
  }

  updateMany(filter: RunFilterDoc, update: RunUpdateDoc): Promise<number> {
    return this.#call(async () => (await this.#collection.updateMany(filter, update)).matchedCount);
  }

  bulkUpdate(ops: ReadonlyArray<{ filter: RunFilterDoc; update: RunUpdateDoc }>, sendBefore = Infinity): Promise<{ matched: number; sent: number }> {
    return this.#call(async () => {
      const size = await this.#updateBatchSize();
      let matched = 0;
      let sent = 0;
      // On FerretDB a chunk can take seconds on a large collection, so the deadline is checked
      // before each one, not only before the first.
      while (sent < ops.length && Date.now() < sendBefore) {
        const chunk = ops.slice(sent, sent + size);
        const result = await this.#collection.bulkWrite(
          chunk.map((op) => ({ updateOne: { filter: op.filter, update: op.update } })),
          { ordered: false },
        );
        matched += result.matchedCount;
        sent += chunk.length;
      }
      return { matched, sent };
    });
  }

  deleteMany(filter: RunFilterDoc): Promise<number> {
    return this.#call(async () => (await this.#collection.deleteMany(filter)).deletedCount);
  }

  aggregate<T>(pipeline: readonly object[]): Promise<T[]> {
    return this.#call(async () => (await this.#collection.aggregate(pipeline as object[]).toArray()) as T[]);
  }

  addCounts(deltas: readonly CountDelta[]): Promise<void> {
    for (const delta of deltas) {
      const key = countKey(delta.cluster, delta.name);
      const pending = this.#pendingCounts.get(key) ?? { cluster: delta.cluster, name: delta.name, by: {} };
      for (const [field, n] of Object.entries(delta.by)) pending.by[field] = (pending.by[field] ?? 0) + n;
      this.#pendingCounts.set(key, pending);
    }
    // Group commit: one write at a time; each takes every delta that arrived before it started.
    const write = this.#countWrites.then(() => this.#writePendingCounts());
    this.#countWrites = write.catch(() => undefined);
    return write;
  }

  async #writePendingCounts(): Promise<void> {
    const batch = [...this.#pendingCounts.values()];
    this.#pendingCounts.clear();
    if (batch.length === 0) return;
    try {
      await this.#incrementCounts(batch, this.#writerId);
    } catch (error) {
      // Kept for the next write (merged with what arrives meanwhile), so a short outage loses nothing.
      for (const delta of batch) {
        const key = countKey(delta.cluster, delta.name);
        const pending = this.#pendingCounts.get(key) ?? { cluster: delta.cluster, name: delta.name, by: {} };
        for (const [field, n] of Object.entries(delta.by)) pending.by[field] = (pending.by[field] ?? 0) + n;
        this.#pendingCounts.set(key, pending);
      }
      throw error;
    }
  }

  #incrementCounts(deltas: readonly CountDelta[], writer: string): Promise<void> {
    return this.#call(async () => {
      await this.#counts.bulkWrite(
        deltas.map((delta) => ({
          updateOne: {
            filter: { _id: JSON.stringify([delta.cluster, delta.name, writer]) as unknown as Document['_id'] },
            // `at`: when the writer last wrote it, so the records of writers long gone can be folded.
            update: { $inc: { ...delta.by }, $set: { at: new Date() }, $setOnInsert: { cluster: delta.cluster, name: delta.name, writer } },
            upsert: true,
          },
        })),
        { ordered: true },
      );
    });
  }

  readCounts(): Promise<CountRecord[]> {
    return this.#call(async () => (await this.#counts.find({}).toArray()) as unknown as CountRecord[]);
  }

  correctCounts(deltas: readonly CountDelta[]): Promise<void> {
    return this.#incrementCounts(deltas, 'correction');
  }

  /**
   * Adds the idle writers' records to the correction records, then deletes them. Without
   * transactions the two steps can be split by a failure (counted twice) or by an increment of
   * an idle-but-alive writer landing in between (lost): either way the counts drift and the next
   * recount repairs them. A live writer whose record was folded writes a new one on its next
   * change. Records written before `at` existed count as idle.
   */
  async foldCounts(idleSince: Date): Promise<number> {
    const records = await this.readCounts();
    const idle = records.filter((record) => {
      const { writer, at } = record as unknown as { writer?: unknown; at?: unknown };
      return writer !== 'correction' && !(at instanceof Date && at >= idleSince);
    });
    if (idle.length === 0) return 0;
    const deltas = [...sumByKey(idle).values()].filter((delta) => Object.keys(delta.by).length > 0);
    if (deltas.length > 0) await this.correctCounts(deltas);
    await this.#call(() => this.#counts.deleteMany({ _id: { $in: idle.map((record) => record._id) } as Document['_id'] }));
    return idle.length;
  }

  /** Runs a driver call, turning "cannot reach the server" into `ShardUnavailableError`. */
  async #call<T>(operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      if (isUnreachable(error)) throw new ShardUnavailableError(this.shard, { cause: error });
      if (error instanceof TaskplaneError) throw error;
      throw new TaskplaneError('INTERNAL', `shard ${this.shard}: ${(error as Error).message}`, { cause: error });
    }
  }
}

/** Unordered insert; duplicate-key refusals are reported, any other failure thrown. */
async function insertReportingDuplicates<T extends { _id: string }>(
  collection: Collection<T>,
  docs: readonly T[],
): Promise<{ duplicates: Set<string> }> {
  const duplicates = new Set<string>();
  if (docs.length === 0) return { duplicates };
  try {
    await collection.insertMany(docs as OptionalUnlessRequiredId<T>[], { ordered: false });
  } catch (error) {
    if (!(error instanceof MongoBulkWriteError)) throw error;
    const writeErrors = Array.isArray(error.writeErrors) ? error.writeErrors : [error.writeErrors];
    for (const writeError of writeErrors) {
      const doc = docs[writeError.index];
      if (writeError.code !== DUPLICATE_KEY || !doc) throw error;
      duplicates.add(doc._id);
    }
    // A bulk error can also carry a failure that is not per document (the connection dropped
    // mid-batch): then the counts do not add up, and nothing may be reported as written.
    if (error.insertedCount + duplicates.size !== docs.length) throw error;
  }
  return { duplicates };
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTCONN', 'ERR_SOCKET_CLOSED']);

/**
 * Whether an error means the server could not be reached. The driver nests the real reason:
 * in `cause`, or — for bulk writes — in `errorResponse`.
 */
export function isUnreachable(error: unknown, depth = 0): boolean {
  if (!(error instanceof Error) || depth > 5) return false;
  if (
    error instanceof MongoNetworkError ||
    error instanceof MongoServerSelectionError ||
    error instanceof MongoNotConnectedError ||
    error instanceof MongoTopologyClosedError
  ) {
    return true;
  }
  const code = (error as NodeJS.ErrnoException).code;
  if (typeof code === 'string' && NETWORK_CODES.has(code)) return true;
  return isUnreachable(error.cause, depth + 1) || isUnreachable((error as { errorResponse?: unknown }).errorResponse, depth + 1);
}
