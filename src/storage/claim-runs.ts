import { randomUUID } from 'node:crypto';
import type { RunnerIdentity } from '../core/types.js';
import type { RunDocument } from './run-document.js';
import type { RunFilterDoc, ShardCollection } from './shard-collection.js';
import type { ShardSet } from './shard-set.js';

/**
 * Claiming runs: three round trips per shard, whatever the batch size.
 *
 * 1. Every shard, in parallel, lists its best candidates (ids and sort keys only).
 * 2. The candidates are merged — highest priority first, then oldest due — and the best `limit`
 *    are chosen. Each shard holding chosen runs gets one conditional `updateMany` (one per
 *    distinct `timeToResolve` in the batch, since the lease deadline depends on it — usually one)
 *    that re-checks the claim conditions, so a run another claimer took in between is skipped,
 *    never claimed twice. The update stamps a token unique to this call.
 * 3. One find by that token reads back exactly the runs this call won.
 *
 * If a shard fails between steps 2 and 3 the runs it gave us stay `running` under our name
 * until their lease expires; the sweep then retries them. Nothing is lost.
 */

export interface ClaimedDocs {
  readonly collection: ShardCollection;
  readonly docs: RunDocument[];
}

export function claimFilter(runner: RunnerIdentity, now: Date): RunFilterDoc {
  return {
    status: 'pending',
    cluster: runner.cluster,
    tag: { $in: [...runner.tags] },
    funcName: { $in: [...runner.handlers] },
    runAfter: { $lte: now },
    expiresAt: { $gt: now },
  };
}

type Candidate = Pick<RunDocument, '_id' | 'priority' | 'runAfter' | 'timeToResolve'> & { collection: ShardCollection };

function compareCandidates(a: Candidate, b: Candidate): number {
  return (
    b.priority - a.priority ||
    a.runAfter.getTime() - b.runAfter.getTime() ||
    (a._id < b._id ? -1 : a._id > b._id ? 1 : 0)
  );
}

export async function claimRuns(
  shards: ShardSet,
  runner: RunnerIdentity,
  limit: number,
  now: Date,
): Promise<{ claimed: ClaimedDocs[]; unavailable: string[] }> {
  const filter = claimFilter(runner, now);
  const listed = await shards.scatter((collection) =>
    collection.find(filter, {
      sort: { priority: -1, runAfter: 1 },
      limit,
      projection: { _id: 1, priority: 1, runAfter: 1, timeToResolve: 1 },
    }),
  );
  const candidates: Candidate[] = listed.results.flatMap(({ collection, value }) =>
    value.map((doc) => ({ _id: doc._id, priority: doc.priority, runAfter: doc.runAfter, timeToResolve: doc.timeToResolve, collection })),
  );
  candidates.sort(compareCandidates);
  const chosen = new Map<ShardCollection, Candidate[]>();
  for (const candidate of candidates.slice(0, limit)) {
    const list = chosen.get(candidate.collection) ?? [];
    list.push(candidate);
    chosen.set(candidate.collection, list);
  }

  const claimed = await shards.scatter(async (collection) => {
    const token = randomUUID();
    const byLease = new Map<number, string[]>();
    for (const candidate of chosen.get(collection) ?? []) {
      const ids = byLease.get(candidate.timeToResolve) ?? [];
      ids.push(candidate._id);
      byLease.set(candidate.timeToResolve, ids);
    }
    const ops = [...byLease].map(([timeToResolve, ids]) => ({
      filter: { ...filter, _id: { $in: ids } },
      update: {
        $set: {
          status: 'running' as const,
          runner: runner.id,
          claim: token,
          startedAt: now,
          deadline: new Date(now.getTime() + timeToResolve * 1000),
          stopRequested: false,
          updatedAt: now,
        },
        $inc: { attempt: 1 },
      },
    }));
    const matched = ops.length === 1 ? await collection.updateMany(ops[0]!.filter, ops[0]!.update) : await bulkUpdateMany(collection, ops);
    if (matched === 0) return [];
    return collection.find({ claim: token, status: 'running', runner: runner.id });
  }, [...chosen.keys()]);

  return {
    claimed: claimed.results.map(({ collection, value }) => ({ collection, docs: value })),
    unavailable: [...new Set([...listed.unavailable, ...claimed.unavailable])],
  };
}

/** Several `updateMany`s on one shard. Rare (mixed lease lengths in one batch), so sent in parallel. */
async function bulkUpdateMany(
  collection: ShardCollection,
  ops: ReadonlyArray<{ filter: RunFilterDoc; update: Parameters<ShardCollection['updateMany']>[1] }>,
): Promise<number> {
  const counts = await Promise.all(ops.map((op) => collection.updateMany(op.filter, op.update)));
  return counts.reduce((sum, count) => sum + count, 0);
}
