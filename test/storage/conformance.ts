import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { leaseOf, type Run, type RunnerIdentity } from '../../src/core/types.js';
import type { TaskStore } from '../../src/storage/contract.js';

/**
 * The storage conformance suite: every engine must pass it unchanged. Each test gets a fresh,
 * empty store with three shards from `makeStore`.
 */
export type StoreFactory = () => Promise<{ store: TaskStore; dispose(): Promise<void> }>;

export function runner(overrides: Partial<RunnerIdentity> = {}): RunnerIdentity {
  return { id: 'runner-a', cluster: 'default', tags: ['default'], handlers: ['mod.work'], ...overrides };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function describeConformance(engine: string, makeStore: StoreFactory): void {
  describe(`storage conformance: ${engine}`, () => {
    let store: TaskStore;
    let dispose: () => Promise<void>;

    beforeEach(async () => {
      ({ store, dispose } = await makeStore());
      await store.start();
    });
    afterEach(async () => {
      await dispose();
    });

    async function takeOne(who = runner()): Promise<Run> {
      const { runs } = await store.take(who, 1);
      expect(runs).toHaveLength(1);
      return runs[0]!;
    }

    it('creates a pending run with defaults and returns it by id', async () => {
      const run = await store.create({ funcName: 'mod.work', args: ['x'] });
      expect(run).toMatchObject({
        status: 'pending', attempt: 0, name: 'mod.work', kind: 'anonymous', cluster: 'default', tag: 'default',
        maxAttempts: 1, timeToResolve: 60, args: ['x'], result: null, jobId: run.id, parentId: null,
      });
      expect(store.shards).toContain(run.shard);
      expect(await store.get(run.id)).toEqual(run);
      expect(await store.get('00000000-0000-4000-8000-000000000000')).toBeNull();
    });

    it('keeps payloads whose keys hold dots and dollars and whose arrays nest', async () => {
      const args = { 'a.b': 1, $where: 'x', nested: [[1, [2]], { 'c.d': null }], unicode: 'é✓\u0001' };
      const run = await store.create({ funcName: 'mod.work', args });
      expect((await store.get(run.id))?.args).toEqual(args);
    });

    it('refuses a second run with the same id, and reports duplicates in createMany', async () => {
      const run = await store.create({ funcName: 'mod.work', id: '7b0f8a56-3d0e-4b8c-9f2f-1a2b3c4d5e6f' });
      await expect(store.create({ funcName: 'mod.work', id: run.id })).rejects.toMatchObject({ code: 'CONFLICT' });
      const results = await store.createMany([{ funcName: 'mod.work', id: run.id }, { funcName: 'mod.work' }]);
      expect(results.map((r) => r.created)).toEqual([false, true]);
      expect((await store.statistics()).total.total).toBe(2);
    });

    it('puts every run of a job on the job’s shard', async () => {
      const root = await store.create({ funcName: 'mod.work' });
      const children = await store.createMany(
        Array.from({ length: 20 }, () => ({ funcName: 'mod.work', jobId: root.id, parentId: root.id })),
      );
      for (const child of children) expect(child.shard).toBe(root.shard);
      const fetched = await store.getMany(children.map((c) => c.id));
      expect(fetched.map((r) => r?.shard)).toEqual(children.map(() => root.shard));
      expect(fetched.every((r) => r?.jobId === root.id && r.parentId === root.id)).toBe(true);
    });

    it('spreads root runs over all shards and returns getMany in the asked order', async () => {
      const created = await store.createMany(Array.from({ length: 60 }, (_, i) => ({ funcName: 'mod.work', args: [i] })));
      expect(new Set(created.map((c) => c.shard)).size).toBe(store.shards.length);
      const ids = [created[5]!.id, '00000000-0000-4000-8000-000000000000', created[0]!.id];
      const runs = await store.getMany(ids);
      expect(runs.map((r) => r?.args ?? null)).toEqual([[5], null, [0]]);
    });

    it('selects newest first with filters and stable cursor pages while new runs arrive', async () => {
      for (let i = 0; i < 25; i++) {
        await store.create({ funcName: 'mod.work', name: i % 2 ? 'odd' : 'even', args: [i], cluster: i < 5 ? 'gpu-x1' : 'default' });
        // Distinct creation times, so the time-range filter below has runs on both sides.
        await sleep(2);
      }
      const all = (await store.select({}, { first: 100 })).runs;
      const newestFirst = [...all].sort(
        (a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? 1 : -1),
      );
      expect(all.map((r) => r.id)).toEqual(newestFirst.map((r) => r.id));
      expect(all[0]!.createdAt.getTime()).toBeGreaterThanOrEqual(all[24]!.createdAt.getTime());

      const page1 = await store.select({}, { first: 10 });
      expect(page1.hasNextPage).toBe(true);
      await sleep(2);
      for (let i = 0; i < 5; i++) await store.create({ funcName: 'mod.work', name: 'late' });
      const page2 = await store.select({}, { first: 10, after: page1.endCursor });
      const page3 = await store.select({}, { first: 10, after: page2.endCursor });
      const paged = [...page1.runs, ...page2.runs, ...page3.runs].map((r) => r.id);
      expect(paged).toEqual(all.map((r) => r.id));
      expect(page3.runs).toHaveLength(5);
      expect(page3.hasNextPage).toBe(false);

      expect((await store.select({ name: 'odd' }, { first: 100 })).runs).toHaveLength(12);
      expect((await store.select({ cluster: 'gpu-x1' }, { first: 100 })).runs).toHaveLength(5);
      expect((await store.select({ status: ['pending', 'running'] }, { first: 100 })).runs).toHaveLength(30);
      expect((await store.select({ status: 'completed' }, { first: 100 })).runs).toHaveLength(0);
      const middle = all[12]!.createdAt;
      const older = await store.select({ createdBefore: middle, name: 'even' }, { first: 100 });
      expect(older.runs.length).toBeGreaterThan(0);
      expect(older.runs.every((r) => r.createdAt < middle && r.name === 'even')).toBe(true);
    });

    it('claims only what the runner can run: cluster, tag, handler, due and not expired', async () => {
      await store.createMany([
        { funcName: 'mod.work', name: 'ok' },
        { funcName: 'mod.work', cluster: 'other-c1' },
        { funcName: 'mod.work', tag: 'gpu' },
        { funcName: 'mod.other' },
        { funcName: 'mod.work', runAfter: new Date(Date.now() + 60_000) },
      ]);
      const { runs } = await store.take(runner(), 10);
      expect(runs.map((r) => r.name)).toEqual(['ok']);
      expect(runs[0]).toMatchObject({ status: 'running', runner: 'runner-a', attempt: 1 });
      expect(runs[0]!.deadline!.getTime() - runs[0]!.startedAt!.getTime()).toBe(60_000);
      const gpu = await store.take(runner({ id: 'runner-g', tags: ['gpu'] }), 10);
      expect(gpu.runs.map((r) => r.tag)).toEqual(['gpu']);
      expect((await store.take(runner({ cluster: 'other-c1' }), 10)).runs).toHaveLength(1);
    });

    it('with a lookahead, also claims runs due that soon; they start, and their lease counts, from their due time', async () => {
      const soon = new Date(Date.now() + 3000);
      await store.createMany([
        { funcName: 'mod.work', name: 'soon', runAfter: soon },
        { funcName: 'mod.work', name: 'later', runAfter: new Date(Date.now() + 60_000) },
      ]);
      expect((await store.take(runner(), 10)).runs).toHaveLength(0);
      const { runs } = await store.take(runner({ lookaheadMs: 5000 }), 10);
      expect(runs.map((r) => r.name)).toEqual(['soon']);
      expect(runs[0]!.startedAt).toEqual(soon);
      expect(runs[0]!.deadline!.getTime()).toBe(soon.getTime() + 60_000);
      expect((await store.take(runner({ id: 'runner-b', lookaheadMs: 5000 }), 10)).runs).toHaveLength(0);
    });

    it('claims highest priority first, then oldest due', async () => {
      const now = Date.now();
      await store.createMany([
        { funcName: 'mod.work', name: 'low-old', priority: 1, runAfter: new Date(now - 3000) },
        { funcName: 'mod.work', name: 'high-new', priority: 5, runAfter: new Date(now - 1000) },
        { funcName: 'mod.work', name: 'high-old', priority: 5, runAfter: new Date(now - 2000) },
        { funcName: 'mod.work', name: 'none', priority: 0, runAfter: new Date(now - 5000) },
      ]);
      const order: string[] = [];
      for (let i = 0; i < 4; i++) order.push((await takeOne()).name);
      expect(order).toEqual(['high-old', 'high-new', 'low-old', 'none']);
    });

    it('completes once: a second or stale report is refused', async () => {
      await store.create({ funcName: 'mod.work' });
      const run = await takeOne();
      expect(await store.complete(leaseOf(run), { answer: 42 })).toBe(true);
      expect(await store.complete(leaseOf(run), { answer: 43 })).toBe(false);
      expect(await store.fail(leaseOf(run), new Error('late'))).toBe(false);
      const done = await store.get(run.id);
      expect(done).toMatchObject({ status: 'completed', result: { answer: 42 }, attempt: 1 });
      expect(done?.history).toHaveLength(1);
      expect(done?.history[0]).toMatchObject({ attempt: 1, runner: 'runner-a', outcome: 'completed' });
    });

    it('retries a failed attempt after the backoff, then ends failed with the error kept', async () => {
      await store.create({ funcName: 'mod.work', maxAttempts: 2, delay: 0.05 });
      const first = await takeOne();
      const failedAt = Date.now();
      expect(await store.fail(leaseOf(first), new TypeError('first'))).toBe(true);
      const pending = await store.get(first.id);
      expect(pending).toMatchObject({ status: 'pending', attempt: 1, error: { message: 'first', name: 'TypeError' } });
      expect(pending!.runAfter.getTime()).toBeGreaterThanOrEqual(failedAt + 50);
      await sleep(60);
      const second = await takeOne();
      expect(second.attempt).toBe(2);
      expect(await store.fail(leaseOf(second), 'a string, not an Error')).toBe(true);
      const failed = await store.get(first.id);
      expect(failed).toMatchObject({ status: 'failed', attempt: 2 });
      expect(failed?.error?.message).toContain('a string, not an Error');
      expect(failed?.history.map((h) => h.outcome)).toEqual(['retry', 'failed']);
    });

    it('records a result that is not JSON-serialisable as a failure', async () => {
      await store.create({ funcName: 'mod.work' });
      const run = await takeOne();
      const cyclic: Record<string, unknown> = {};
      cyclic.self = cyclic;
      expect(await store.complete(leaseOf(run), cyclic as never)).toBe(true);
      const stored = await store.get(run.id);
      expect(stored?.status).toBe('failed');
      expect(stored?.error?.message).toMatch(/result: is not JSON-serialisable/);
    });

    it('renews a held lease, reports a lost one and a stop request', async () => {
      await store.createMany([{ funcName: 'mod.work' }, { funcName: 'mod.work' }]);
      const [a, b] = (await store.take(runner(), 2)).runs;
      await sleep(5);
      const stale = { ...leaseOf(b!), attempt: 7 };
      await store.stop(a!.id);
      const results = await store.renew([leaseOf(a!), stale]);
      expect(results[0]).toMatchObject({ id: a!.id, state: 'renewed', stopRequested: true });
      expect(results[0]!.state === 'renewed' && results[0]!.deadline.getTime()).toBeGreaterThan(a!.deadline!.getTime());
      expect(results[1]).toEqual({ id: b!.id, state: 'lost' });
    });

    it('stops a pending run at once and a running one through its runner', async () => {
      const pending = await store.create({ funcName: 'mod.work', name: 'p' });
      expect(await store.stop(pending.id)).toEqual({ id: pending.id, state: 'stopped' });
      expect((await store.get(pending.id))?.status).toBe('stopped');
      await expect(store.stop(pending.id)).rejects.toMatchObject({ code: 'CONFLICT' });
      await expect(store.stop('11111111-1111-4111-8111-111111111111')).rejects.toMatchObject({ code: 'NOT_FOUND' });

      await store.create({ funcName: 'mod.work', name: 'r' });
      const running = await takeOne();
      expect(await store.stop(running.id, 'no longer needed')).toEqual({ id: running.id, state: 'stopping' });
      expect((await store.get(running.id))?.stopRequested).toBe(true);
      expect((await store.settle([{ lease: leaseOf(running), outcome: { status: 'stopped' } }]))[0]).toMatchObject({
        accepted: true,
        status: 'stopped',
      });
    });

    it('lets a stop request win over a retry', async () => {
      await store.create({ funcName: 'mod.work', maxAttempts: 3, delay: 0 });
      const run = await takeOne();
      await store.stop(run.id);
      const [result] = await store.settle([{ lease: leaseOf(run), outcome: { status: 'failed', error: new Error('x') } }]);
      expect(result).toMatchObject({ accepted: true, status: 'stopped' });
      expect((await store.take(runner(), 1)).runs).toHaveLength(0);
    });

    it('hands a released run back without spending its attempt', async () => {
      await store.create({ funcName: 'mod.work', maxAttempts: 1 });
      const run = await takeOne();
      const [result] = await store.settle([{ lease: leaseOf(run), outcome: { status: 'released' } }]);
      expect(result).toMatchObject({ accepted: true, status: 'pending' });
      expect(await store.get(run.id)).toMatchObject({ status: 'pending', attempt: 0 });
      expect((await takeOne()).attempt).toBe(1);
    });

    it('waits until a run ends, or returns it as it is at the timeout', async () => {
      const run = await store.create({ funcName: 'mod.work' });
      const early = await store.wait(run.id, 50);
      expect(early.status).toBe('pending');
      const claimed = await takeOne();
      const waiting = store.wait(run.id, 5000);
      setTimeout(() => void store.complete(leaseOf(claimed), 'done'), 30);
      expect(await waiting).toMatchObject({ status: 'completed', result: 'done' });
    });

    it('forgets finished runs only', async () => {
      const run = await store.create({ funcName: 'mod.work' });
      await expect(store.forget(run.id)).rejects.toMatchObject({ code: 'CONFLICT' });
      await store.stop(run.id);
      await store.forget(run.id);
      expect(await store.get(run.id)).toBeNull();
      await expect(store.forget(run.id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    });

    it('retries a finished run with a fresh attempt budget', async () => {
      await store.create({ funcName: 'mod.work' });
      const run = await takeOne();
      await store.fail(leaseOf(run), new Error('nope'));
      const again = await store.retry(run.id);
      expect(again).toMatchObject({ status: 'pending', attempt: 0, error: null });
      expect(again.history).toHaveLength(1);
      expect((await takeOne()).attempt).toBe(1);
      await expect(store.retry(run.id)).rejects.toMatchObject({ code: 'CONFLICT' });
    });

    it('counts by status per shard and in total, grouped by name or cluster', async () => {
      await store.createMany([
        ...Array.from({ length: 6 }, () => ({ funcName: 'mod.work', name: 'a' })),
        ...Array.from({ length: 3 }, () => ({ funcName: 'mod.work', name: 'b', cluster: 'c2-x' })),
      ]);
      const run = await takeOne();
      await store.complete(leaseOf(run), null);
      const stats = await store.statistics();
      expect(stats.total).toMatchObject({ total: 9, pending: 8, completed: 1, running: 0 });
      expect(stats.unavailable).toEqual([]);
      expect(stats.shards.map((s) => s.shard)).toEqual([...store.shards]);
      expect(stats.shards.reduce((sum, s) => sum + (s.counts?.total ?? 0), 0)).toBe(9);
      const byName = await store.statistics({ groupBy: 'name' });
      expect(byName.groups.map((g) => [g.key, g.counts.total])).toEqual([['a', 6], ['b', 3]]);
      expect((await store.statistics({ cluster: 'c2-x' })).total.total).toBe(3);
    });

    it('sweeps expired leases into retries or lost, and expired pending runs into did not start', async () => {
      await store.createMany([
        { funcName: 'mod.work', name: 'retry', timeToResolve: 0.1, maxAttempts: 2, delay: 0 },
        { funcName: 'mod.work', name: 'last', timeToResolve: 0.1, maxAttempts: 1 },
      ]);
      const taken = (await store.take(runner(), 2)).runs;
      await store.create({ funcName: 'mod.nobody', name: 'expires', timeout: 0.1 });
      await sleep(150);
      expect(await store.sweep()).toMatchObject({ retried: 1, lost: 1, didNotStart: 1, unavailable: [] });
      const byName = Object.fromEntries((await store.select({}, { first: 10 })).runs.map((r) => [r.name, r]));
      expect(byName.retry).toMatchObject({ status: 'pending', attempt: 1 });
      expect(byName.last).toMatchObject({ status: 'lost', attempt: 1 });
      expect(byName.last?.reason).toMatch(/lease expired/);
      expect(byName.expires).toMatchObject({ status: 'did not start' });
      for (const run of taken) expect(await store.complete(leaseOf(run), 'late')).toBe(false);
    });

    it('answers health for every shard', async () => {
      const health = await store.health();
      expect(health.map((h) => h.shard)).toEqual([...store.shards]);
      expect(health.every((h) => h.ok && h.latencyMs !== null)).toBe(true);
    });
  });
}
