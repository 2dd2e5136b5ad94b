import type { ParsedRunFilter } from '../core/run-input.js';
import type { RunDocument } from './run-document.js';
import { decodeCursor, encodeCursor, type ShardPosition } from './page-cursor.js';
import type { RunFilterDoc, ShardCollection } from './shard-collection.js';
import type { ShardSet } from './shard-set.js';

/** The MongoDB filter for a validated `RunFilter`. */
export function runFilterDoc(filter: ParsedRunFilter): RunFilterDoc {
  const doc: RunFilterDoc = {};
  if (filter.name !== undefined) doc.name = filter.name;
  if (filter.status !== undefined) doc.status = Array.isArray(filter.status) ? { $in: filter.status } : filter.status;
  if (filter.cluster !== undefined) doc.cluster = filter.cluster;
  if (filter.tag !== undefined) doc.tag = filter.tag;
  if (filter.jobId !== undefined) doc.jobId = filter.jobId;
  if (filter.parentId !== undefined) doc.parentId = filter.parentId;
  if (filter.runner !== undefined) doc.runner = filter.runner;
  if (filter.funcName !== undefined) doc.funcName = filter.funcName;
  if (filter.createdAfter !== undefined || filter.createdBefore !== undefined) {
    doc.createdAt = {
      ...(filter.createdAfter !== undefined ? { $gte: filter.createdAfter } : {}),
      ...(filter.createdBefore !== undefined ? { $lt: filter.createdBefore } : {}),
    };
  }
  return doc;
}

function olderThan(position: ShardPosition): RunFilterDoc {
  if (position === null) return {};
  const createdAt = new Date(position[0]);
  return { $or: [{ createdAt: { $lt: createdAt } }, { createdAt, _id: { $lt: position[1] } }] };
}

function newerFirst(a: Entry, b: Entry): number {
  return b.doc.createdAt.getTime() - a.doc.createdAt.getTime() || (a.doc._id < b.doc._id ? 1 : a.doc._id > b.doc._id ? -1 : 0);
}

interface Entry {
  readonly doc: RunDocument;
  readonly collection: ShardCollection;
}

/**
 * One page of runs, newest first, merged from every shard. Each shard is asked for `first + 1`
 * runs older than its cursor position, so a page costs one query per shard.
 */
export async function selectRuns(
  shards: ShardSet,
  filter: ParsedRunFilter,
  first: number,
  after: string | null,
): Promise<{ entries: Entry[]; hasNextPage: boolean; endCursor: string | null; unavailable: string[] }> {
  const positions = after ? decodeCursor(after) : new Map<string, ShardPosition>();
  const base = runFilterDoc(filter);
  const { results, unavailable } = await shards.scatter((collection) =>
    collection.find(
      { $and: [base, olderThan(positions.get(collection.shard) ?? null)] },
      { sort: { createdAt: -1, _id: -1 }, limit: first + 1 },
    ),
  );
  const merged: Entry[] = results.flatMap(({ collection, value }) => value.map((doc) => ({ doc, collection })));
  merged.sort(newerFirst);
  const entries = merged.slice(0, first);
  const last = entries.at(-1);
  if (!last) return { entries, hasNextPage: false, endCursor: null, unavailable };

  // A shard that answered moves to the last run it gave, or — if it gave none on this page — to
  // the page's last run (everything it holds above that has been shown). A shard that did not
  // answer keeps its position.
  const next = new Map<string, ShardPosition>();
  const lastPosition: ShardPosition = [last.doc.createdAt.getTime(), last.doc._id];
  for (const collection of shards.collections) {
    next.set(collection.shard, unavailable.includes(collection.shard) ? (positions.get(collection.shard) ?? null) : lastPosition);
  }
  for (const entry of entries) next.set(entry.collection.shard, [entry.doc.createdAt.getTime(), entry.doc._id]);
  return { entries, hasNextPage: merged.length > first, endCursor: encodeCursor(next), unavailable };
}
