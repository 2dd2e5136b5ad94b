import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { leaseOf, type Run } from '../../src/core/types.js';
import { ShardUnavailableError } from '../../src/core/errors.js';
import type { TaskStore } from '../../src/storage/contract.js';
import { createTaskStore } from '../../src/storage/create-store.js';
import { dropDatabases, testMongoUrls } from '../services/context.js';
import { withDatabase } from '../services/database-url.js';
import { startFerretDb, type FerretDbProcess } from '../services/processes.js';
import { runner } from './conformance.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Two shards on the shared test servers and a third on a FerretDB process of this file's own,
 * which the test kills with SIGKILL and restarts.
 */
describe('a shard process killed mid-test', () => {
  let ferret: FerretDbProcess;
  let store: TaskStore;
  let urls: string[];

  beforeAll(async () => {
    ferret = await startFerretDb();
    urls = [...testMongoUrls('outage').slice(0, 2), withDatabase(ferret.url, 'tp_outage_own')];
    store = createTaskStore({ mongo: { shards: urls, serverSelectionTimeoutMs: 800 } });
    await store.start();
  });
  afterAll(async () => {
    await store.close();
    await dropDatabases(urls.slice(0, 2));
    await ferret.stop();
  });

  async function completeAll(batch: readonly Run[]): Promise<void> {
    const results = await store.settle(batch.map((run) => ({ lease: leaseOf(run), outcome: { status: 'completed', result: run.args } })));
    expect(results.every((r) => r.accepted)).toBe(true);
  }

  it('fails its operations with ShardUnavailable, keeps the others serving, and loses nothing after restart', async () => {
    const created = await store.createMany(Array.from({ length: 90 }, (_, i) => ({ funcName: 'mod.work', args: [i] })));
    const onDead = created.filter((c) => c.shard === 'shard-2');
    expect(onDead.length).toBeGreaterThan(5);
    await completeAll((await store.take(runner(), 30)).runs);

    await ferret.kill('SIGKILL');

    const lookup = await store.get(onDead[0]!.id).then(() => null, (error: unknown) => error);
    expect(lookup).toBeInstanceOf(ShardUnavailableError);
    expect(lookup).toMatchObject({ code: 'SHARD_UNAVAILABLE', shard: 'shard-2' });
    await expect(store.stop(onDead[1]!.id)).rejects.toMatchObject({ code: 'SHARD_UNAVAILABLE', shard: 'shard-2' });

    const stats = await store.statistics();
    expect(stats.unavailable).toEqual(['shard-2']);
    expect(stats.shards.find((s) => s.shard === 'shard-2')?.counts).toBeNull();
    expect(stats.total.total).toBe(90 - onDead.length);

    const page = await store.select({}, { first: 1000 });
    expect(page.unavailable).toEqual(['shard-2']);
    expect(page.runs).toHaveLength(90 - onDead.length);

    const during = await store.createMany(Array.from({ length: 30 }, (_, i) => ({ funcName: 'mod.work', args: [100 + i] })));
    const refused = during.filter((c) => c.unavailable === "shard-2");
    expect(refused.length).toBeGreaterThan(0);
    expect(refused.every((c) => !c.created)).toBe(true);
    expect(during.filter((c) => c.shard !== 'shard-2').every((c) => c.created)).toBe(true);

    const claimed = await store.take(runner(), 200);
    expect(claimed.unavailable).toEqual(['shard-2']);
    expect(claimed.runs.length).toBeGreaterThan(0);
    expect(claimed.runs.every((run) => run.shard !== 'shard-2')).toBe(true);
    await completeAll(claimed.runs);
    expect((await store.health()).map((h) => [h.shard, h.ok])).toEqual([['shard-0', true], ['shard-1', true], ['shard-2', false]]);

    await ferret.restart();
    for (let i = 0; i < 50 && !(await store.health()).every((h) => h.ok); i++) await sleep(100);

    for (;;) {
      const { runs, unavailable } = await store.take(runner(), 200);
      expect(unavailable).toEqual([]);
      if (runs.length === 0) break;
      await completeAll(runs);
    }
    const after = await store.statistics();
    const createdTotal = 90 + during.filter((c) => c.created).length;
    expect(after.unavailable).toEqual([]);
    expect(after.total).toMatchObject({ total: createdTotal, completed: createdTotal, pending: 0, running: 0 });
    const deadShardRuns = await store.getMany(onDead.map((c) => c.id));
    expect(deadShardRuns.every((run) => run?.status === 'completed')).toBe(true);
  });
});
