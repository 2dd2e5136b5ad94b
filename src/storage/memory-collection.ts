import { Query, aggregate, find, update } from 'mingo';
import type { AnyObject, Criteria } from 'mingo/types';
import type { CountDelta, CountRecord } from './run-counts.js';
import type { RunDocument } from './run-document.js';
import type { FindOptions, RevisionMarker, RunFilterDoc, RunUpdateDoc, ShardCollection } from './shard-collection.js';

/**
 * One embedded shard: documents in a Map, queried and updated by mingo with the same filter and
 * update documents the MongoDB engine sends to a server. Every method runs to completion within
 * one tick, so each update is atomic as on a server. Documents are copied in and out, so callers
 * never share state with the store.
 *
 * Embedded shards live in memory: they are for single-node use and tests, and are lost with the
 * process.
 */
function compile(filter: RunFilterDoc): Query<AnyObject> {
  return new Query<AnyObject>(filter as Criteria<AnyObject>, {});
}

/** Inserts the documents whose `_id` is new, as a unique index would; returns the others' ids. */
function insertUnique<T extends { _id: string }>(into: Map<string, T>, docs: readonly T[]): { duplicates: Set<string> } {
  const duplicates = new Set<string>();
  for (const doc of docs) {
    if (into.has(doc._id)) duplicates.add(doc._id);
    else into.set(doc._id, structuredClone(doc));
  }
  return { duplicates };
}

export class MemoryCollection implements ShardCollection {
  readonly shard: string;
  readonly #docs = new Map<string, RunDocument>();
  readonly #markers = new Map<string, RevisionMarker>();
  readonly #counts = new Map<string, Record<string, string | number>>();

  constructor(shard: string) {
    this.shard = shard;
  }

  async connect(): Promise<void> {}
  async ensureIndexes(): Promise<void> {}
  async ping(): Promise<void> {}
  async close(): Promise<void> {}

  async insertMany(docs: readonly RunDocument[]): Promise<{ duplicates: Set<string> }> {
    return insertUnique(this.#docs, docs);
  }

  async insertMarkers(markers: readonly RevisionMarker[]): Promise<{ duplicates: Set<string> }> {
    return insertUnique(this.#markers, markers);
  }

  async findMarkers(ids: readonly string[]): Promise<RevisionMarker[]> {
    return ids.flatMap((id) => {
      const marker = this.#markers.get(id);
      return marker ? [structuredClone(marker)] : [];
    });
  }

  async deleteMarkers(before: Date): Promise<number> {
    let deleted = 0;
    for (const [id, marker] of this.#markers) {
      if (marker.at < before) {
        this.#markers.delete(id);
        deleted++;
      }
    }
    return deleted;
  }

  async find(filter: RunFilterDoc, options: FindOptions = {}): Promise<RunDocument[]> {
    let cursor = find(this.#candidates(filter), filter as Criteria<AnyObject>, options.projection);
    if (options.sort) cursor = cursor.sort(options.sort);
    if (options.skip) cursor = cursor.skip(options.skip);
    if (options.limit) cursor = cursor.limit(options.limit);
    return structuredClone(cursor.all() as RunDocument[]);
  }

  async updateOne(filter: RunFilterDoc, modifier: RunUpdateDoc): Promise<number> {
    const query = compile(filter);
    for (const doc of this.#candidates(filter)) {
      if (query.test(doc as unknown as AnyObject)) {
        this.#apply(doc, modifier);
        return 1;
      }
    }
    return 0;
  }

  async updateMany(filter: RunFilterDoc, modifier: RunUpdateDoc): Promise<number> {
    const query = compile(filter);
    let matched = 0;
    for (const doc of this.#candidates(filter)) {
      if (query.test(doc as unknown as AnyObject)) {
        this.#apply(doc, modifier);
        matched++;
      }
    }
    return matched;
  }

  async bulkUpdate(ops: ReadonlyArray<{ filter: RunFilterDoc; update: RunUpdateDoc }>): Promise<{ matched: number; sent: number }> {
    let matched = 0;
    for (const op of ops) matched += await this.updateOne(op.filter, op.update);
    return { matched, sent: ops.length };
  }

  async deleteMany(filter: RunFilterDoc): Promise<number> {
    const query = compile(filter);
    let deleted = 0;
    for (const doc of this.#candidates(filter)) {
      if (query.test(doc as unknown as AnyObject)) {
        this.#docs.delete(doc._id);
        deleted++;
      }
    }
    return deleted;
  }

  async aggregate<T>(pipeline: readonly object[]): Promise<T[]> {
    return structuredClone(aggregate([...this.#docs.values()], pipeline as AnyObject[]) as T[]);
  }

  async addCounts(deltas: readonly CountDelta[]): Promise<void> {
    for (const delta of deltas) {
      const key = JSON.stringify([delta.cluster, delta.name]);
      const record = this.#counts.get(key) ?? { _id: key, cluster: delta.cluster, name: delta.name };
      for (const [field, n] of Object.entries(delta.by)) record[field] = ((record[field] as number | undefined) ?? 0) + n;
      this.#counts.set(key, record);
    }
  }

  async readCounts(): Promise<CountRecord[]> {
    return structuredClone([...this.#counts.values()]) as CountRecord[];
  }

  /** One record per (cluster, name) here: nothing to fold. */
  async foldCounts(): Promise<number> {
    return 0;
  }

  async correctCounts(deltas: readonly CountDelta[]): Promise<void> {
    await this.addCounts(deltas);
  }

  /** Documents that may match: the one named by an `_id` equality or `$in`, else all. */
  #candidates(filter: RunFilterDoc): RunDocument[] {
    const id: unknown = filter._id;
    if (typeof id === 'string') {
      const doc = this.#docs.get(id);
      return doc ? [doc] : [];
    }
    if (id && typeof id === 'object' && '$in' in id && Array.isArray(id.$in)) {
      const docs: RunDocument[] = [];
      for (const each of id.$in as unknown[]) {
        const doc = typeof each === 'string' ? this.#docs.get(each) : undefined;
        if (doc) docs.push(doc);
      }
      return docs;
    }
    return [...this.#docs.values()];
  }

  #apply(doc: RunDocument, modifier: RunUpdateDoc): void {
    // Values are cloned so an update never shares objects (dates, history entries) with the caller.
    update(doc as unknown as AnyObject, structuredClone(modifier) as AnyObject, undefined, undefined, {
      cloneMode: 'none',
    });
  }
}
