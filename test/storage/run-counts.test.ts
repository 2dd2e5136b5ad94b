import { MongoClient } from 'mongodb';
import { afterEach, describe, expect, it } from 'vitest';
import { leaseOf } from '../../src/core/types.js';
import type { TaskStore } from '../../src/storage/contract.js';
import { createTaskStore } from '../../src/storage/create-store.js';
import { MongoCollection } from '../../src/storage/mongo-collection.js';
import { recountWhenQuiet } from '../../src/storage/run-counts.js';
import { dropDatabases, testMongoUrls } from '../services/context.js';
import { runner } from './conformance.js';

/**
 * `statistics` reads the shards' run counts (src/storage/run-counts.ts), not the runs. These
 * tests check the counts against a real count (`exact: true`) where FerretDB makes it hard —
 * several writers on one shard at once — and that a storage node repairs counts that drifted.
 */
describe('run counts', () => {
  let cleanup: Array<() => Promise<void>> = [];
  afterEach(async () => {
    await Promise.all(cleanup.map((fn) => fn()));
    cleanup = [];
  });

  async function mongoStores(label: string, count: number): Promise<{ stores: TaskStore[]; urls: string[] }> {
    const urls = testMongoUrls(label).slice(0, 1);
    const stores = Array.from({ length: count }, () => createTaskStore({ mongo: { shards: urls } }));
    cleanup.push(async () => {
      await Promise.all(stores.map((store) => store.close()));
      await dropDatabases(urls);
    });
    await Promise.all(stores.map((store) => store.start()));
    return { stores, urls };
  }

  it('stay exact while three stores with their own connections claim and settle on one FerretDB shard', { timeout: 240_000 }, async () => {
    const { stores } = await mongoStores('counts-writers', 3);
    await stores[0]!.createMany(Array.from({ length: 300 }, (_, i) => ({ funcName: i % 2 ? 'mod.a' : 'mod.b', args: [i] })));
    await Promise.all(
      stores.map(async (store, index) => {
        const me = runner({ id: `writer-${index}`, handlers: ['mod.a', 'mod.b'] });
        for (let empty = 0; empty < 2; ) {
          const { runs } = await store.take(me, 25);
          if (runs.length === 0) {
            empty++;
            continue;
          }
          empty = 0;
          await store.settle(
            runs.map((run, i) => ({
              lease: leaseOf(run),
              outcome: i % 3 === 0 ? { status: 'failed' as const, error: new Error('no') } : { status: 'completed' as const, result: null },
            })),
          );
        }
      }),
    );
    const counted = await stores[1]!.statistics({ groupBy: 'name' });
    const exact = await stores[2]!.statistics({ groupBy: 'name', exact: true });
    expect(exact.total.total).toBe(300);
    expect(exact.total.pending + exact.total.running).toBe(0);
    expect(exact.total.failed).toBeGreaterThan(0);
    expect(counted.total).toEqual(exact.total);
    expect(counted.groups).toEqual(exact.groups);
  });

  it('drifted counts are repaired by a recount once the shard is quiet', { timeout: 120_000 }, async () => {
    const { stores, urls } = await mongoStores('counts-drift', 1);
    const store = stores[0]!;
    const created = await store.createMany(Array.from({ length: 20 }, (_, i) => ({ funcName: 'mod.a', args: [i] })));
    // A writer that died between writing runs and adding their deltas: the runs changed, the counts did not.
    const client = new MongoClient(urls[0]!);
    try {
      await client.db().collection('runs').updateMany({ _id: { $in: created.slice(0, 5).map((c) => c.id) } as never }, { $set: { status: 'stopped' } });
    } finally {
      await client.close();
    }
    expect((await store.statistics()).total.pending).toBe(20);
    expect((await store.statistics({ exact: true })).total.pending).toBe(15);

    const result = await store.recount!();
    expect(result).toEqual({ corrected: 1, folded: 0, busy: [], unavailable: [] });
    const repaired = await store.statistics({ name: 'mod.a' });
    expect(repaired.total.pending).toBe(15);
    expect(repaired.total.stopped).toBe(5);
    expect(await store.recount!()).toEqual({ corrected: 0, folded: 0, busy: [], unavailable: [] });
    // Counting goes on from the corrected figures.
    const { runs } = await store.take(runner({ handlers: ['mod.a'] }), 3);
    await store.settle(runs.map((run) => ({ lease: leaseOf(run), outcome: { status: 'completed', result: 1 } })));
    expect((await store.statistics()).total).toEqual((await store.statistics({ exact: true })).total);
  });

  it('a recount that overlaps a change corrects nothing and says the shard was busy', { timeout: 120_000 }, async () => {
    const store = createTaskStore({ embedded: { shards: 1 } });
    cleanup.push(() => store.close());
    await store.start();
    await store.createMany(Array.from({ length: 5 }, () => ({ funcName: 'mod.a' })));
    const recount = store.recount!();
    // Lands while the recount waits for the shard to settle.
    await new Promise((resolve) => setTimeout(resolve, 100));
    await store.create({ funcName: 'mod.a' });
    expect(await recount).toEqual({ corrected: 0, folded: 0, busy: [store.shards[0]], unavailable: [] });
    expect((await store.statistics()).total.pending).toBe(6);
  });

  it('records of writers gone idle are folded into one record per (cluster, name), and the sums stay exact', { timeout: 120_000 }, async () => {
    const { stores, urls } = await mongoStores('counts-fold', 3);
    // Three writers (one per store, as three processes would be), each with records of its own.
    for (const [index, store] of stores.entries()) {
      await store.createMany(Array.from({ length: 4 }, (_, i) => ({ funcName: i % 2 ? 'mod.a' : 'mod.b', args: [index, i] })));
      const { runs } = await store.take(runner({ id: `w${index}`, handlers: ['mod.a', 'mod.b'] }), 2);
      await store.settle(runs.map((run) => ({ lease: leaseOf(run), outcome: { status: 'completed', result: null } })));
    }
    const client = new MongoClient(urls[0]!);
    cleanup.push(() => client.close());
    const records = client.db().collection('run_counts');
    // A record from before records carried `at` counts as idle too.
    await records.insertOne({ _id: JSON.stringify(['default', 'mod.a', 'old-writer']), cluster: 'default', name: 'mod.a', writer: 'old-writer', pending: 2 } as never);
    await stores[0]!.createMany([{ funcName: 'mod.a' }, { funcName: 'mod.a' }].map((input, i) => ({ ...input, args: ['old', i] })));
    await records.updateOne({ _id: JSON.stringify(['default', 'mod.a', 'old-writer']) } as never, { $inc: { pending: -2 } });
    const before = await stores[0]!.statistics({ groupBy: 'name' });
    expect(before.total).toEqual((await stores[0]!.statistics({ exact: true })).total);
    expect(await records.countDocuments()).toBe(7);

    // With the default hour, only the record without `at` is idle; the writers' fresh records stay.
    const collection = new MongoCollection({ name: 'shard-0', url: urls[0]! });
    cleanup.push(() => collection.close());
    await collection.connect();
    expect(await recountWhenQuiet(collection, 10)).toMatchObject({ quiet: true, corrected: 0, folded: 1 });
    expect(await records.countDocuments({ writer: 'old-writer' })).toBe(0);
    // With no idle time, every writer's record is idle.
    const result = await recountWhenQuiet(collection, 10, 0);
    expect(result).toMatchObject({ quiet: true, corrected: 0, folded: 6 });
    const left = await records.find({}).toArray();
    expect(left.map((record) => record['writer'])).toEqual(['correction', 'correction']);
    const after = await stores[1]!.statistics({ groupBy: 'name' });
    expect(after.total).toEqual(before.total);
    expect(after.groups).toEqual(before.groups);

    // A writer whose records were folded writes new ones, and the sums go on from the folded figures.
    const { runs } = await stores[2]!.take(runner({ id: 'w2', handlers: ['mod.a'] }), 2);
    expect(runs).toHaveLength(2);
    await stores[2]!.settle(runs.map((run) => ({ lease: leaseOf(run), outcome: { status: 'failed', error: new Error('no') } })));
    expect(await records.countDocuments()).toBe(3);
    expect((await stores[0]!.statistics()).total).toEqual((await stores[0]!.statistics({ exact: true })).total);
  });
});
