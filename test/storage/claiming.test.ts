import { afterEach, describe, expect, it } from 'vitest';
import { leaseOf } from '../../src/core/types.js';
import { createTaskStore } from '../../src/storage/create-store.js';
import type { TaskStore } from '../../src/storage/contract.js';
import { dropDatabases, testMongoUrls } from '../services/context.js';
import { runner } from './conformance.js';

const RUNS = 3000;
const CLAIMERS = 4;

/**
 * Claimers race for the same runs until none are left; each records what it won. Every run
 * must be won exactly once.
 */
async function race(stores: readonly TaskStore[]): Promise<string[][]> {
  return Promise.all(
    stores.map(async (store, index) => {
      const won: string[] = [];
      const me = runner({ id: `claimer-${index}` });
      for (let empty = 0; empty < 3; ) {
        const { runs, unavailable } = await store.take(me, 100);
        expect(unavailable).toEqual([]);
        if (runs.length === 0) {
          empty++;
          continue;
        }
        empty = 0;
        for (const run of runs) expect(run.runner).toBe(me.id);
        won.push(...runs.map((run) => run.id));
        // Complete some so claims and settlements interleave.
        await store.settle(runs.filter((_, i) => i % 4 === 0).map((run) => ({ lease: leaseOf(run), outcome: { status: 'completed', result: null } })));
      }
      return won;
    }),
  );
}

describe('exactly-once claiming', () => {
  let cleanup: Array<() => Promise<void>> = [];
  afterEach(async () => {
    await Promise.all(cleanup.map((fn) => fn()));
    cleanup = [];
  });

  // FerretDB on SQLite scans its table for every single-document write (its `_id` index is not
  // used by its own queries), so this test takes a while there; real MongoDB is quick.
  it(`${CLAIMERS} claimers with their own connections take ${RUNS} runs over 3 MongoDB shards exactly once`, { timeout: 300_000 }, async () => {
    const urls = testMongoUrls('claiming');
    const stores = Array.from({ length: CLAIMERS }, () => createTaskStore({ mongo: { shards: urls } }));
    cleanup.push(async () => {
      await Promise.all(stores.map((store) => store.close()));
      await dropDatabases(urls);
    });
    await Promise.all(stores.map((store) => store.start()));
    const created = await stores[0]!.createMany(Array.from({ length: RUNS }, (_, i) => ({ funcName: 'mod.work', args: [i] })));
    expect(new Set(created.map((c) => c.shard)).size).toBe(3);

    const won = await race(stores);
    const all = won.flat();
    expect(all).toHaveLength(RUNS);
    expect(new Set(all).size).toBe(RUNS);
    expect(won.filter((list) => list.length > 0).length).toBeGreaterThan(1);
    const stats = await stores[0]!.statistics();
    expect(stats.total.pending).toBe(0);
    expect(stats.total.running + stats.total.completed).toBe(RUNS);
  });

  it(`${CLAIMERS} concurrent claimers take ${RUNS} runs from 3 embedded shards exactly once`, async () => {
    const store = createTaskStore({ embedded: { shards: 3 } });
    cleanup.push(() => store.close());
    await store.start();
    await store.createMany(Array.from({ length: RUNS }, (_, i) => ({ funcName: 'mod.work', args: [i] })));
    const all = (await race(Array.from({ length: CLAIMERS }, () => store))).flat();
    expect(all).toHaveLength(RUNS);
    expect(new Set(all).size).toBe(RUNS);
  });

  it('claims and settles a batch larger than one FerretDB update command takes, on a single shard', async () => {
    const urls = testMongoUrls('big_batch').slice(0, 1);
    const store = createTaskStore({ mongo: { shards: urls } });
    cleanup.push(async () => {
      await store.close();
      await dropDatabases(urls);
    });
    await store.start();
    await store.createMany(Array.from({ length: 250 }, (_, i) => ({ funcName: 'mod.work', args: [i] })));
    const { runs } = await store.take(runner(), 250);
    expect(runs).toHaveLength(250);
    const settled = await store.settle(runs.map((run) => ({ lease: leaseOf(run), outcome: { status: 'completed', result: null } })));
    expect(settled.every((result) => result.accepted && result.status === 'completed')).toBe(true);
    expect((await store.statistics()).total).toMatchObject({ completed: 250, total: 250 });
  });
});
