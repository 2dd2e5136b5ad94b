import { FINAL_STATUSES, RUN_STATUSES, type RunStatus } from '../core/types.js';
import type { Statistics, StatisticsQuery, StatusCounts, TrimResult } from './contract.js';
import type { ShardCollection } from './shard-collection.js';
import type { ShardSet } from './shard-set.js';
import { countExactly, countIn } from './run-counts.js';
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

/**
 * Counts by status, merged into per-shard, per-group and total counts. Read from each shard's
 * run counts (`run-counts.ts`: a few small documents), or — with `exact` — counted from the runs
 * themselves (one aggregation per shard, which reads every run).
 */
export async function countRuns(shards: ShardSet, query: StatisticsQuery): Promise<Statistics> {
  const { results, unavailable } = await shards.scatter((collection) => (query.exact ? countExactly(collection) : collection.readCounts()));

  const total = emptyCounts();
  const groups = new Map<string, StatusCounts>();
  const perShard = new Map<string, StatusCounts>();
  for (const { collection, value } of results) {
    const counts = emptyCounts();
    for (const record of value) {
      if (query.name !== undefined && record.name !== query.name) continue;
      if (query.cluster !== undefined && record.cluster !== query.cluster) continue;
      const key = query.groupBy ? record[query.groupBy] : null;
      for (const status of RUN_STATUSES) {
        const n = countIn(record, status);
        if (n === 0) continue;
        addTo(counts, status, n);
        addTo(total, status, n);
        if (key !== null) {
          const group = groups.get(key) ?? emptyCounts();
          addTo(group, status, n);
          groups.set(key, group);
        }
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
