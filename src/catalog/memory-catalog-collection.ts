import {
  DuplicateDocumentError,
  type CatalogCollection,
  type CatalogCollectionName,
  type CatalogDatabase,
  type CatalogDocument,
  type CatalogFilter,
} from './catalog-collection.js';

/**
 * The embedded catalog: each collection is a Map. Documents are copied in and out, so callers
 * never share state with the store; every method finishes within one tick, so an insert's
 * duplicate check and its write cannot interleave with another call.
 */
export class MemoryCatalogCollection<T extends CatalogDocument> implements CatalogCollection<T> {
  readonly #name: string;
  readonly #docs = new Map<string, T>();

  constructor(name: string) {
    this.#name = name;
  }

  async findAll(filter: CatalogFilter<T> = {}): Promise<T[]> {
    const entries = Object.entries(filter) as Array<[keyof T, unknown]>;
    const matches = [...this.#docs.values()].filter((doc) => entries.every(([key, value]) => doc[key] === value));
    return structuredClone(matches);
  }

  async findOne(id: string): Promise<T | null> {
    const doc = this.#docs.get(id);
    return doc ? structuredClone(doc) : null;
  }

  async findNewest(filter: CatalogFilter<T>, limit: number, skip = 0): Promise<T[]> {
    const matches = await this.findAll(filter);
    return matches.sort((a, b) => (a._id < b._id ? 1 : a._id > b._id ? -1 : 0)).slice(skip, skip + limit);
  }

  async deleteBelow(id: string): Promise<number> {
    let deleted = 0;
    for (const key of [...this.#docs.keys()]) if (key < id && this.#docs.delete(key)) deleted++;
    return deleted;
  }

  async insertOne(doc: T): Promise<void> {
    if (this.#docs.has(doc._id)) throw new DuplicateDocumentError(this.#name, doc._id);
    this.#docs.set(doc._id, structuredClone(doc));
  }

  async replaceOne(id: string, doc: T, upsert: boolean): Promise<boolean> {
    if (!upsert && !this.#docs.has(id)) return false;
    this.#docs.set(id, structuredClone({ ...doc, _id: id }));
    return true;
  }

  async deleteOne(id: string): Promise<boolean> {
    return this.#docs.delete(id);
  }
}

/** In-process catalog collections; lost with the process, like the embedded run shards. */
export class MemoryCatalogDatabase implements CatalogDatabase {
  readonly engine = 'memory';
  readonly #collections = new Map<CatalogCollectionName, MemoryCatalogCollection<CatalogDocument>>();

  collection<T extends CatalogDocument>(name: CatalogCollectionName): CatalogCollection<T> {
    let collection = this.#collections.get(name);
    if (!collection) {
      collection = new MemoryCatalogCollection<CatalogDocument>(name);
      this.#collections.set(name, collection);
    }
    return collection as unknown as CatalogCollection<T>;
  }

  async connect(): Promise<void> {}
  async close(): Promise<void> {}
}
