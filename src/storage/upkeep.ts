import { FINAL_STATUSES, RUN_STATUSES, type RunStatus } from '../core/types.js';
import type { Statistics, StatisticsQuery, StatusCounts, TrimResult } from './contract.js';
import type { RunFilterDoc, ShardCollection } from './shard-collection.js';
import type { ShardSet } from './shard-set.js';
import { commitChanges } from './transitions.js';

export function emptyCounts(): StatusCounts {
  const counts = { total: 0 } as StatusCounts;
  for (const status of RUN_STATUSES) counts[status] = 0;
  return counts;
}

function addTo(counts: StatusCounts, status: RunStatus, n: number): void {
  if (!(RUN_STATUSES as readonly string[]).includes(status)) return;
  counts[status] += n;
  counts.total += n;
}

interface CountRow {
  _id: { status: RunStatus; key?: string | null };
  n: number;
}

/** Counts by status with one aggregation per shard, merged into per-shard, per-group and total counts. */
export async function countRuns(shards: ShardSet, query: StatisticsQuery): Promise<Statistics> {
  const match: RunFilterDoc = {};
  if (query.name !== undefined) match.name = query.name;
  if (query.cluster !== undefined) match.cluster = query.cluster;
  const groupId = query.groupBy ? { status: '$status', key: `$${query.groupBy}` } : { status: '$status' };
  const { results, unavailable } = await shards.scatter((collection) =>
    collection.aggregate<CountRow>([{ $match: match }, { $group: { _id: groupId, n: { $sum: 1 } } }]),
  );

  const total = emptyCounts();
  const groups = new Map<string, StatusCounts>();
  const perShard = new Map<string, StatusCounts>();
  for (const { collection, value } of results) {
    const counts = emptyCounts();
    for (const row of value) {
      addTo(counts, row._id.status, row.n);
      addTo(total, row._id.status, row.n);
      if (query.groupBy) {
        const key = String(row._id.key ?? '');
        const group = groups.get(key) ?? emptyCounts();
        addTo(group, row._id.status, row.n);
        groups.set(key, group);
      }
    }
    perShard.set(collection.shard, counts);
  }
  return {
    total,
    shards: shards.collections.map((collection) => ({ shard: collection.shard, counts: perShard.get(collection.shard) ?? null })),
    groups: [...groups].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([key, counts]) => ({ key, counts })),
    unavailable,
  };
}

const TRIM_BATCH = 1000;
const finished = { $in: [...FINAL_STATUSES] };

/**
 * Keeps the newest `keep` finished runs of each name on each shard. Pending and running runs
 * are never candidates: every query and the delete itself are restricted to final statuses.
 */
export async function trimRuns(shards: ShardSet, keep: number, targets: readonly ShardCollection[]): Promise<TrimResult> {
  const { results, unavailable } = await shards.scatter(async (collection) => {
    const crowded = await collection.aggregate<{ _id: string; n: number }>([
      { $match: { status: finished } },
      { $group: { _id: '$name', n: { $sum: 1 } } },
      { $match: { n: { $gt: keep } } },
    ]);
    let deleted = 0;
    for (const { _id: name } of crowded) {
      for (;;) {
        const excess = await collection.find(
          { name, status: finished },
          { sort: { finishedAt: -1, _id: -1 }, skip: keep, limit: TRIM_BATCH, projection: { _id: 1, rev: 1, status: 1, updatedAt: 1 } },
        );
        if (excess.length === 0) break;
        // A run retried meanwhile loses its marker and stays.
        const changes = excess.map((doc) => ({ doc, write: 'delete' as const }));
        deleted += (await commitChanges(collection, changes, new Date())).committed.length;
        if (excess.length < TRIM_BATCH) break;
      }
    }
    return deleted;
  }, targets);
  return { deleted: results.reduce((sum, { value }) => sum + value, 0), unavailable };
}
