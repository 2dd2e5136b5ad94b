import { TaskplaneError } from '../core/errors.js';

/**
 * The few document operations the catalog needs, so `CatalogStore` is written once over MongoDB
 * and over memory.
 *
 * Only two guarantees are relied on, because FerretDB 1.24 gives no more: an insert of an `_id`
 * that exists is refused (`DuplicateDocumentError`), and a replace is last-writer-wins. Updates
 * there are read-filter-write, not compare-and-swap, so nothing here offers a conditional update.
 */

/** Every catalog document is keyed by a string `_id` (a definition's name, a cluster's slug …). */
export interface CatalogDocument {
  readonly _id: string;
}

/** Equality on top-level fields; `null` is left out because MongoDB also matches missing fields with it. */
export type CatalogFilter<T> = { readonly [K in keyof T]?: Extract<T[K], string | number | boolean> };

export interface CatalogCollection<T extends CatalogDocument> {
  /** Documents matching every field of `filter`, in no particular order. */
  findAll(filter?: CatalogFilter<T>): Promise<T[]>;
  findOne(id: string): Promise<T | null>;
  /** The `limit` documents matching `filter` with the greatest `_id`s, greatest first, after skipping `skip` of them. */
  findNewest(filter: CatalogFilter<T>, limit: number, skip?: number): Promise<T[]>;
  /** Deletes every document whose `_id` sorts before `id`; returns how many. */
  deleteBelow(id: string): Promise<number>;
  /** Throws `DuplicateDocumentError` when `doc._id` exists. */
  insertOne(doc: T): Promise<void>;
  /** Replaces the document `id` (inserting it when missing and `upsert`); false when nothing matched or was inserted. */
  replaceOne(id: string, doc: T, upsert: boolean): Promise<boolean>;
  /** False when there was none. */
  deleteOne(id: string): Promise<boolean>;
}

export type CatalogCollectionName = 'definitions' | 'clusters' | 'worker_groups' | 'catalog_meta' | 'audit_log';

/** Where the catalog's collections live, with its lifecycle. */
export interface CatalogDatabase {
  /** `mongodb` or `memory`. */
  readonly engine: string;
  collection<T extends CatalogDocument>(name: CatalogCollectionName): CatalogCollection<T>;
  /** Connects. Throws `ShardUnavailableError` when the server cannot be reached. */
  connect(): Promise<void>;
  close(): Promise<void>;
}

/** An insert refused because the `_id` exists: the catalog's one atomic primitive. */
export class DuplicateDocumentError extends TaskplaneError {
  readonly collection: string;
  readonly id: string;

  constructor(collection: string, id: string, options?: { cause?: unknown }) {
    super('CONFLICT', `${collection} already holds '${id}'`, options);
    this.collection = collection;
    this.id = id;
  }
}
