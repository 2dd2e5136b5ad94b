import { MongoClient, type Collection, type Document, type Filter, type OptionalUnlessRequiredId } from 'mongodb';
import { ShardUnavailableError, TaskplaneError } from '../core/errors.js';
import { isUnreachable } from '../storage/mongo-collection.js';
import {
  DuplicateDocumentError,
  type CatalogCollection,
  type CatalogCollectionName,
  type CatalogDatabase,
  type CatalogDocument,
  type CatalogFilter,
} from './catalog-collection.js';

export interface MongoCatalogOptions {
  /** Name of the shard that holds the catalog, shown in errors (`shard-0`). */
  readonly shard: string;
  /** Connection string; its path names the database. */
  readonly url: string;
  /** How long an operation waits for an unreachable server before it fails. @defaultValue 2000 */
  readonly serverSelectionTimeoutMs?: number;
}

/** Catalog documents are keyed by strings, not ObjectIds. */
interface StringIdDocument extends Document {
  _id: string;
}

const DUPLICATE_KEY = 11000;

function isDuplicateKey(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === DUPLICATE_KEY;
}

/** Runs a driver call, turning "cannot reach the server" into `ShardUnavailableError`. */
async function call<T>(shard: string, operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    if (isUnreachable(error)) throw new ShardUnavailableError(shard, { cause: error });
    if (error instanceof TaskplaneError) throw error;
    throw new TaskplaneError('INTERNAL', `shard ${shard} (catalog): ${(error as Error).message}`, { cause: error });
  }
}

export class MongoCatalogCollection<T extends CatalogDocument> implements CatalogCollection<T> {
  readonly #shard: string;
  readonly #collection: Collection<StringIdDocument>;

  constructor(shard: string, collection: Collection<StringIdDocument>) {
    this.#shard = shard;
    this.#collection = collection;
  }

  findAll(filter: CatalogFilter<T> = {}): Promise<T[]> {
    return call(this.#shard, async () => (await this.#collection.find(filter as Filter<StringIdDocument>).toArray()) as unknown as T[]);
  }

  findOne(id: string): Promise<T | null> {
    return call(this.#shard, async () => (await this.#collection.findOne({ _id: id })) as unknown as T | null);
  }

  findNewest(filter: CatalogFilter<T>, limit: number, skip = 0): Promise<T[]> {
    return call(
      this.#shard,
      async () => (await this.#collection.find(filter as Filter<StringIdDocument>).sort({ _id: -1 }).skip(skip).limit(limit).toArray()) as unknown as T[],
    );
  }

  deleteBelow(id: string): Promise<number> {
    return call(this.#shard, async () => (await this.#collection.deleteMany({ _id: { $lt: id } })).deletedCount);
  }

  insertOne(doc: T): Promise<void> {
    return call(this.#shard, async () => {
      try {
        await this.#collection.insertOne({ ...doc } as OptionalUnlessRequiredId<StringIdDocument>);
      } catch (error) {
        if (isDuplicateKey(error)) throw new DuplicateDocumentError(this.#collection.collectionName, doc._id, { cause: error });
        throw error;
      }
    });
  }

  replaceOne(id: string, doc: T, upsert: boolean): Promise<boolean> {
    const { _id: _ignored, ...replacement } = doc;
    const filter = { _id: id };
    return call(this.#shard, async () => {
      try {
        const result = await this.#collection.replaceOne(filter, replacement, { upsert });
        return result.matchedCount > 0 || result.upsertedCount > 0;
      } catch (error) {
        // Two upserts of a new id can race; the loser's insert is refused. Last writer wins, so
        // the loser replaces what the winner wrote.
        if (!upsert || !isDuplicateKey(error)) throw error;
        return (await this.#collection.replaceOne(filter, replacement)).matchedCount > 0;
      }
    });
  }

  deleteOne(id: string): Promise<boolean> {
    return call(this.#shard, async () => (await this.#collection.deleteOne({ _id: id })).deletedCount > 0);
  }
}

/** The catalog's database on one MongoDB shard: one client, the database named by the URL. */
export class MongoCatalogDatabase implements CatalogDatabase {
  readonly engine = 'mongodb';
  readonly #shard: string;
  readonly #client: MongoClient;

  constructor(options: MongoCatalogOptions) {
    this.#shard = options.shard;
    const timeout = options.serverSelectionTimeoutMs ?? 2000;
    this.#client = new MongoClient(options.url, {
      serverSelectionTimeoutMS: timeout,
      connectTimeoutMS: timeout,
      // Catalog writes are inserts that must be refused on a duplicate and last-writer-wins
      // replaces; a blind driver retry after an unknown outcome would turn an insert that
      // succeeded into a reported duplicate.
      retryWrites: false,
      maxPoolSize: 4,
    });
  }

  collection<T extends CatalogDocument>(name: CatalogCollectionName): CatalogCollection<T> {
    return new MongoCatalogCollection<T>(this.#shard, this.#client.db().collection(name));
  }

  connect(): Promise<void> {
    return call(this.#shard, async () => {
      await this.#client.connect();
      await this.#client.db().command({ ping: 1 });
    });
  }

  async close(): Promise<void> {
    await this.#client.close();
  }
}
