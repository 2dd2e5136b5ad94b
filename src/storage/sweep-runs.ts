import type { SweepResult } from './contract.js';
import type { RunDocument } from './run-document.js';
import type { RunWaiters } from './run-waiters.js';
import { expiryWrite, settlementWrite } from './run-writes.js';
import type { ShardCollection } from './shard-collection.js';
import type { ShardSet } from './shard-set.js';
import { commitChanges, MARKER_RETENTION_MS } from './transitions.js';

/**
 * The storage sweep: ends what ran out of time and finishes what writers left undone. Per
 * shard, in order:
 *
 * 1. runs whose lease expired are settled `lost` (retried when attempts are left), pending runs
 *    past their expiry end `did not start` — on every pass;
 * 2. final statuses whose job follow-up was abandoned by its writer are followed up — at most
 *    once per `FOLLOW_UP_GRACE_MS` per shard;
 * 3. old revision markers are deleted — at most once per `MARKER_SWEEP_EVERY_MS` per shard.
 *
 * Steps 2 and 3 are needed far less often than the sweep runs, so each shard takes its turn at
 * them by the clock (`SweepTurns`, one per store); the comments at each step say why.
 */

const SWEEP_BATCH = 1000;
/** A final status whose job follow-up is still due this long after it was written was abandoned by its writer. */
const FOLLOW_UP_GRACE_MS = 10_000;
const MARKER_SWEEP_EVERY_MS = 60_000;

/** When each shard last took the sweep's rarer steps; one per store. */
export interface SweepTurns {
  /** When each shard was last searched for abandoned follow-ups. */
  readonly followUpScans: Map<ShardCollection, number>;
  /** When each shard's old revision markers were last deleted. */
  readonly markerSweeps: Map<ShardCollection, number>;
}

export function newSweepTurns(): SweepTurns {
  return { followUpScans: new Map(), markerSweeps: new Map() };
}

export async function sweepRuns(
  shards: ShardSet,
  targets: readonly ShardCollection[],
  turns: SweepTurns,
  waiters: RunWaiters,
  followUp: (collection: ShardCollection, docs: readonly RunDocument[]) => Promise<unknown>,
): Promise<SweepResult> {
  const counts = { retried: 0, lost: 0, didNotStart: 0 };
  const { unavailable } = await shards.scatter(async (collection) => {
    // Expired leases and expired pending runs, found by one query (on FerretDB every filtered
    // find decodes the whole collection). The documents read are the snapshots the changes are
    // decided on; a run that changed meanwhile (its runner renewed after all) loses its marker
    // and is left.
    for (;;) {
      const now = new Date();
      const found = await collection.find(
        { $or: [{ status: 'running', deadline: { $lt: now } }, { status: 'pending', expiresAt: { $lte: now } }] },
        { limit: SWEEP_BATCH },
      );
      const changes = found.map((doc) => ({
        doc,
        write: doc.status === 'running' ? settlementWrite(doc, { status: 'lost' }, now).write : expiryWrite(doc, now),
      }));
      const { committed } = await commitChanges(collection, changes, now);
      for (const after of committed) {
        if (after.status === 'did not start') counts.didNotStart++;
        else if (after.status === 'lost') counts.lost++;
        else counts.retried++;
        waiters.wake(after._id);
      }
      await followUp(collection, committed.filter((after) => after.followUp));
      if (found.length < SWEEP_BATCH) break;
    }
    // Follow-ups whose writer died before applying them (a settle is normally done within
    // milliseconds; older ones were abandoned). Rare, so looked for less often than leases
    // expire: on FerretDB every filtered find reads the whole collection.
    if (takeTurn(turns.followUpScans, collection, FOLLOW_UP_GRACE_MS)) {
      const abandoned = await collection.find(
        { followUp: true, updatedAt: { $lt: new Date(Date.now() - FOLLOW_UP_GRACE_MS) } },
        { limit: SWEEP_BATCH },
      );
      await followUp(collection, abandoned);
    }
    // Markers only need to go eventually (they are kept 15 minutes): once a minute is enough.
    if (takeTurn(turns.markerSweeps, collection, MARKER_SWEEP_EVERY_MS)) {
      await collection.deleteMarkers(new Date(Date.now() - MARKER_RETENTION_MS));
    }
  }, targets);
  return { ...counts, unavailable };
}

/** True (and noted in `last`) when `everyMs` have passed since `collection`'s last turn. */
function takeTurn(last: Map<ShardCollection, number>, collection: ShardCollection, everyMs: number): boolean {
  const now = Date.now();
  if (now - (last.get(collection) ?? 0) < everyMs) return false;
  last.set(collection, now);
  return true;
}
