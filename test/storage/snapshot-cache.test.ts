import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { leaseOf } from '../../src/core/types.js';
import { createTaskStore } from '../../src/storage/create-store.js';
import type { TaskStore } from '../../src/storage/contract.js';
import type { RunDocument } from '../../src/storage/run-document.js';
import { SNAPSHOT_MAX_AGE_MS, SnapshotCache } from '../../src/storage/snapshot-cache.js';
import { dropDatabases, testMongoUrls } from '../services/context.js';
import { runner } from './conformance.js';

const doc = (id: string, status: RunDocument['status'], rev = 1) => ({ _id: id, status, rev }) as RunDocument;

describe('snapshot cache', () => {
  it('returns what was remembered, drops finished runs, expired and forgotten entries', () => {
    const cache = new SnapshotCache();
    cache.remember([doc('a', 'running'), doc('b', 'pending'), doc('c', 'completed')], 1000);
    expect([...cache.lookup(['a', 'b', 'c', 'd'], 2000).keys()]).toEqual(['a', 'b']);
    cache.remember([doc('a', 'failed')], 3000);
    expect(cache.lookup(['a'], 3000).size).toBe(0);
    cache.forget(['b']);
    expect(cache.lookup(['b'], 3000).size).toBe(0);
    cache.remember([doc('e', 'running', 7)], 10_000);
    expect(cache.lookup(['e'], 10_000 + SNAPSHOT_MAX_AGE_MS).get('e')?.rev).toBe(7);
    expect(cache.lookup(['e'], 10_001 + SNAPSHOT_MAX_AGE_MS).size).toBe(0);
    expect(cache.size).toBe(0);
  });

  it('is bounded: the oldest writes go first', () => {
    const cache = new SnapshotCache(3);
    cache.remember(['a', 'b', 'c', 'd'].map((id) => doc(id, 'running')), 1);
    cache.remember([doc('b', 'running', 2)], 2);
    cache.remember([doc('e', 'running')], 3);
    expect([...cache.lookup(['a', 'b', 'c', 'd', 'e'], 3).keys()]).toEqual(['b', 'd', 'e']);
  });
});

/**
 * Two stores with their own connections on the same FerretDB shard: A claims (and so remembers
 * its claim), B changes the run behind A's back. A's renewal and settle, decided on its stale
 * snapshot, must see B's change — through the refused revision marker — never overwrite it.
 */
describe('stale snapshots on a FerretDB shard', () => {
  const urls = testMongoUrls('snapshots').slice(0, 1);
  let a: TaskStore;
  let b: TaskStore;
  beforeAll(async () => {
    a = createTaskStore({ mongo: { shards: urls } });
    b = createTaskStore({ mongo: { shards: urls } });
    await Promise.all([a.start(), b.start()]);
  });
  afterAll(async () => {
    await Promise.all([a.close(), b.close()]);
    await dropDatabases(urls);
  });

  it('a stop written by another store reaches the holder on its next renewal, and the run ends stopped', async () => {
    const created = await a.create({ funcName: 'mod.work', timeToResolve: 30 });
    const [run] = (await a.take(runner(), 1)).runs;
    expect(run?.id).toBe(created.id);
    expect((await b.stop(created.id)).state).toBe('stopping');
    const [renewed] = await a.renew([leaseOf(run!)]);
    expect(renewed).toMatchObject({ state: 'renewed', stopRequested: true });
    const [settled] = await a.settle([{ lease: leaseOf(run!), outcome: { status: 'stopped' } }]);
    expect(settled).toMatchObject({ accepted: true, status: 'stopped' });
    expect((await b.get(created.id))?.status).toBe('stopped');
  });

  it('a lease swept by another store is refused to the holder: its late completion is not recorded', async () => {
    const created = await a.create({ funcName: 'mod.work', timeToResolve: 0.2, maxAttempts: 2, delay: 60 });
    const [run] = (await a.take(runner(), 1)).runs;
    expect(run?.id).toBe(created.id);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await b.sweep()).retried).toBeGreaterThanOrEqual(1);
    expect((await a.renew([leaseOf(run!)]))[0]).toMatchObject({ state: 'lost' });
    const [settled] = await a.settle([{ lease: leaseOf(run!), outcome: { status: 'completed', result: 'late' } }]);
    expect(settled?.accepted).toBe(false);
    const stored = await b.get(created.id);
    expect(stored).toMatchObject({ status: 'pending', attempt: 1, result: null });
    expect(stored!.history.at(-1)?.outcome).toBe('retry');
  });
});
