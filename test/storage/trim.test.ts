import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { leaseOf, type Run } from '../../src/core/types.js';
import type { TaskStore } from '../../src/storage/contract.js';
import { runner } from './conformance.js';
import { openMongoStore } from './mongo-store.js';

const KEEP = 4;

function countBy(runs: readonly Run[], key: (run: Run) => string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const run of runs) counts.set(key(run), (counts.get(key(run)) ?? 0) + 1);
  return counts;
}

async function allRuns(store: TaskStore): Promise<Run[]> {
  const runs: Run[] = [];
  let after: string | null = null;
  do {
    const page = await store.select({}, { first: 1000, after });
    runs.push(...page.runs);
    after = page.hasNextPage ? page.endCursor : null;
  } while (after);
  return runs;
}

describe('trim on MongoDB shards', () => {
  let store: TaskStore;
  let dispose: () => Promise<void>;
  beforeAll(async () => {
    ({ store, dispose } = await openMongoStore('trim'));
  });
  afterAll(() => dispose());

  it(`keeps exactly the newest ${KEEP} finished runs per name per shard and never touches live runs`, async () => {
    for (const name of ['alpha', 'beta']) {
      await store.createMany(Array.from({ length: 36 }, (_, i) => ({ funcName: 'mod.work', name, args: [i] })));
    }
    // Finish all of them, in several batches so finish times differ.
    for (;;) {
      const { runs } = await store.take(runner(), 12);
      if (runs.length === 0) break;
      await store.settle(runs.map((run) => ({ lease: leaseOf(run), outcome: { status: 'completed', result: null } })));
    }
    // Live runs of the same names: pending and running.
    await store.createMany(Array.from({ length: 6 }, () => ({ funcName: 'mod.live', name: 'alpha' })));
    const running = (await store.take(runner({ handlers: ['mod.live'] }), 3)).runs;
    expect(running).toHaveLength(3);

    const before = await allRuns(store);
    const finishedBefore = before.filter((run) => run.status === 'completed');
    const perShardName = countBy(finishedBefore, (run) => `${run.shard}/${run.name}`);
    expect([...perShardName.values()].some((n) => n > KEEP)).toBe(true);

    const result = await store.trim(KEEP);
    const expectedDeleted = [...perShardName.values()].reduce((sum, n) => sum + Math.max(0, n - KEEP), 0);
    expect(result).toEqual({ deleted: expectedDeleted, unavailable: [] });

    const after = await allRuns(store);
    const finishedAfter = after.filter((run) => run.status === 'completed');
    for (const [key, n] of perShardName) {
      const kept = finishedAfter.filter((run) => `${run.shard}/${run.name}` === key);
      expect(kept).toHaveLength(Math.min(n, KEEP));
      // The kept ones are the newest of their shard and name.
      const newest = finishedBefore
        .filter((run) => `${run.shard}/${run.name}` === key)
        .sort((a, b) => b.finishedAt!.getTime() - a.finishedAt!.getTime() || (a.id < b.id ? 1 : -1))
        .slice(0, KEEP)
        .map((run) => run.id)
        .sort();
      expect(kept.map((run) => run.id).sort()).toEqual(newest);
    }
    expect(after.filter((run) => run.status === 'pending')).toHaveLength(3);
    expect(after.filter((run) => run.status === 'running').map((run) => run.id).sort()).toEqual(running.map((run) => run.id).sort());
    expect((await store.trim(KEEP)).deleted).toBe(0);
  });
});
