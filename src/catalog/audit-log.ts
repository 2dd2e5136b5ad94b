import { randomBytes } from 'node:crypto';
import type { CatalogCollection } from './catalog-collection.js';
import type { AuditEntry, AuditEntryInput } from './contract.js';

/**
 * The audit log: one entry per mutation an api node executed (who, what, when, how it ended), in
 * the catalog's `audit_log` collection. Ids sort by time (`<ISO instant>~<random>`), so the
 * newest entries are the last ids. The log keeps the newest `keep` entries; older ones are
 * deleted every `trimEvery` writes of a node, so it stays bounded whatever the traffic.
 */

type AuditDocument = AuditEntryInput & { _id: string };

export interface AuditLogOptions {
  /** @defaultValue 10000 */
  readonly keep?: number;
  /** @defaultValue 100 */
  readonly trimEvery?: number;
}

export class AuditLogStore {
  readonly #collection: CatalogCollection<AuditDocument>;
  readonly #keep: number;
  readonly #trimEvery: number;
  #writes = 0;

  constructor(collection: CatalogCollection<AuditDocument>, options: AuditLogOptions = {}) {
    this.#collection = collection;
    this.#keep = options.keep ?? 10_000;
    this.#trimEvery = options.trimEvery ?? 100;
  }

  async record(entry: AuditEntryInput): Promise<void> {
    const id = `${entry.at.toISOString()}~${randomBytes(6).toString('hex')}`;
    await this.#collection.insertOne({ ...entry, _id: id });
    if (++this.#writes % this.#trimEvery === 0) await this.#trim();
  }

  /** Newest first: one sorted, limited query (the server sorts by `_id`; nothing else is read). */
  async list(first: number, actor?: string): Promise<AuditEntry[]> {
    const docs = await this.#collection.findNewest(actor === undefined ? {} : { actor }, first);
    return docs.map(({ _id, ...entry }) => ({ id: _id, ...entry }));
  }

  /** Deletes what is older than the newest `keep` entries: one query for the cut, one delete. */
  async #trim(): Promise<void> {
    const [oldestKept] = await this.#collection.findNewest({}, 1, this.#keep - 1);
    if (oldestKept) await this.#collection.deleteBelow(oldestKept._id);
  }
}
