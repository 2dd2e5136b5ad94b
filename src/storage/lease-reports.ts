import { ShardUnavailableError } from '../core/errors.js';
import { parseRunId } from '../core/run-input.js';
import type { Lease, Run } from '../core/types.js';
import type { RenewResult, Settlement, SettleResult } from './contract.js';
import { decideEach } from './decide-changes.js';
import type { RunDocument } from './run-document.js';
import type { RunWaiters } from './run-waiters.js';
import { holdsLease, renewWrite, settlementWrite } from './run-writes.js';
import type { ShardCollection } from './shard-collection.js';
import type { ShardSet } from './shard-set.js';
import type { SnapshotCache } from './snapshot-cache.js';

/**
 * What runners report on the runs they hold: lease renewals and settlements, in batches.
 *
 * A report counts only while its lease is still the run's (`holdsLease`: same attempt, same
 * runner, still running); otherwise nothing is written (a renewal answers `lost`, a settlement
 * is not accepted). A batch's leases are decided per shard in parallel (`decide-changes.ts`),
 * and a down shard answers `unavailable` for its own leases only.
 */

/** Groups leases by shard and runs `write` per shard in parallel; `onUnavailable` per lease of a down shard. */
async function perShard(
  shards: ShardSet,
  leases: readonly Lease[],
  write: (collection: ShardCollection, leases: Lease[]) => Promise<void>,
  onUnavailable: (lease: Lease, shard: string) => void,
): Promise<void> {
  const byShard = shards.groupByShard(leases, (lease) => shards.forRun(parseRunId(lease.id, 'lease.id')));
  await Promise.all(
    [...byShard].map(async ([collection, shardLeases]) => {
      try {
        await write(collection, shardLeases);
      } catch (error) {
        if (!(error instanceof ShardUnavailableError)) throw error;
        for (const lease of shardLeases) onUnavailable(lease, collection.shard);
      }
    }),
  );
}

export async function renewLeases(shards: ShardSet, snapshots: SnapshotCache, leases: readonly Lease[]): Promise<RenewResult[]> {
  const results = new Map<string, RenewResult>();
  await perShard(shards, leases, async (collection, shardLeases) => {
    const byId = new Map(shardLeases.map((lease) => [lease.id, lease]));
    const decided = await decideEach<RenewResult>(snapshots, collection, [...byId.keys()], (id, doc, now) =>
      holdsLease(doc, byId.get(id)!)
        ? {
            change: renewWrite(doc, now),
            onCommit: (after) => ({ id, state: 'renewed', deadline: after.deadline!, stopRequested: after.stopRequested }),
          }
        : { done: { id, state: 'lost' } },
    );
    for (const [id, result] of decided) results.set(id, result);
  }, (lease, shard) => results.set(lease.id, { id: lease.id, state: 'unavailable', shard }));
  return leases.map((lease) => results.get(lease.id) ?? { id: lease.id, state: 'lost' });
}

/**
 * Settles runs whose leases still hold. `followUp` applies what their final statuses mean for
 * their jobs; the runs it touched are reported as each settlement's `related`.
 */
export async function settleLeases(
  shards: ShardSet,
  snapshots: SnapshotCache,
  waiters: RunWaiters,
  reports: readonly Settlement[],
  followUp: (collection: ShardCollection, docs: readonly RunDocument[]) => Promise<Map<string, Run[]>>,
): Promise<SettleResult[]> {
  const results = new Map<string, SettleResult>();
  const outcomes = new Map(reports.map((report) => [report.lease.id, report.outcome]));
  await perShard(shards, reports.map((report) => report.lease), async (collection, shardLeases) => {
    const byId = new Map(shardLeases.map((lease) => [lease.id, lease]));
    const followUps: RunDocument[] = [];
    const decided = await decideEach<SettleResult>(snapshots, collection, [...byId.keys()], (id, doc, now) => {
      if (!holdsLease(doc, byId.get(id)!)) return { done: { id, accepted: false, status: null } };
      const { write, status } = settlementWrite(doc, outcomes.get(id)!, now);
      return {
        change: write,
        onCommit: (after) => {
          if (after.followUp) followUps.push(after);
          return { id, accepted: true, status };
        },
      };
    });
    for (const [id, result] of decided) results.set(id, result);
    for (const [id, related] of await followUp(collection, followUps)) {
      results.set(id, { ...results.get(id)!, related });
    }
  }, (lease, shard) => results.set(lease.id, { id: lease.id, accepted: false, status: null, unavailable: shard }));
  for (const result of results.values()) if (result.accepted) waiters.wake(result.id);
  return reports.map((report) => results.get(report.lease.id) ?? { id: report.lease.id, accepted: false, status: null });
}
