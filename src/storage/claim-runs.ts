import type { RunnerIdentity } from '../core/types.js';
import type { RunDocument } from './run-document.js';
import { claimWrite } from './run-writes.js';
import type { RunFilterDoc, ShardCollection } from './shard-collection.js';
import type { ShardSet } from './shard-set.js';
import { commitChanges } from './transitions.js';

/**
 * Claiming runs: three round trips per shard, whatever the batch size.
 *
 * 1. Every shard, in parallel, lists its best `limit` candidates.
 * 2. The candidates are merged — highest priority first, then oldest due — and the best `limit`
 *    are chosen across shards.
 * 3. Each shard holding chosen runs commits their claims (`transitions.ts`: one marker insert,
 *    one bulk update). A run another claimer changed since step 1 loses its marker and is
 *    skipped — never claimed twice. What was won is known from the markers, so nothing is read
 *    back.
 *
 * If a shard fails between the two writes of step 3, the runs it gave us are released to the
 * next claimer after `STUCK_AFTER_MS` (see `transitions.ts`). Nothing is lost.
 */

export function claimFilter(runner: RunnerIdentity, now: Date): RunFilterDoc {
  const dueBy = runner.lookaheadMs ? new Date(now.getTime() + runner.lookaheadMs) : now;
  return {
    status: 'pending',
    cluster: runner.cluster,
    tag: { $in: [...runner.tags] },
    funcName: { $in: [...runner.handlers] },
    runAfter: { $lte: dueBy },
    expiresAt: { $gt: now },
    blocked: { $ne: true },
  };
}

interface Candidate {
  readonly doc: RunDocument;
  readonly collection: ShardCollection;
}

function compareCandidates(a: Candidate, b: Candidate): number {
  return (
    b.doc.priority - a.doc.priority ||
    a.doc.runAfter.getTime() - b.doc.runAfter.getTime() ||
    (a.doc._id < b.doc._id ? -1 : a.doc._id > b.doc._id ? 1 : 0)
  );
}

export async function claimRuns(
  shards: ShardSet,
  runner: RunnerIdentity,
  limit: number,
  now: Date,
): Promise<{ claimed: Array<{ collection: ShardCollection; docs: RunDocument[] }>; unavailable: string[] }> {
  const filter = claimFilter(runner, now);
  const listed = await shards.scatter((collection) => collection.find(filter, { sort: { priority: -1, runAfter: 1 }, limit }));
  const candidates: Candidate[] = listed.results.flatMap(({ collection, value }) => value.map((doc) => ({ doc, collection })));
  candidates.sort(compareCandidates);
  const chosen = new Map<ShardCollection, RunDocument[]>();
  for (const { doc, collection } of candidates.slice(0, limit)) {
    const docs = chosen.get(collection);
    if (docs) docs.push(doc);
    else chosen.set(collection, [doc]);
  }

  // The lease starts when the claim is written, not when the candidates were read: on a slow
  // shard (FerretDB decoding a large collection) the query alone can take longer than a short
  // `time_to_resolve`, and the fault suite saw runs reach their runner with the lease already over.
  const claimedAt = new Date();
  const committed = await shards.scatter(async (collection) => {
    const changes = (chosen.get(collection) ?? []).map((doc) => ({ doc, write: claimWrite(doc, runner.id, claimedAt) }));
    return (await commitChanges(collection, changes, claimedAt)).committed;
  }, [...chosen.keys()]);

  return {
    claimed: committed.results.map(({ collection, value }) => ({ collection, docs: value })),
    unavailable: [...new Set([...listed.unavailable, ...committed.unavailable])],
  };
}
