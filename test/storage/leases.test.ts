import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { leaseOf, type Run } from '../../src/core/types.js';
import type { TaskStore } from '../../src/storage/contract.js';
import { runner } from './conformance.js';
import { openMongoStore } from './mongo-store.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('leases and retries on MongoDB shards', () => {
  let store: TaskStore;
  let dispose: () => Promise<void>;
  beforeAll(async () => {
    ({ store, dispose } = await openMongoStore('leases'));
  });
  afterAll(() => dispose());

  async function takeNamed(name: string): Promise<Run> {
    // Bounded by time, not tries: on a loaded machine each take can be slow.
    for (const until = Date.now() + 15_000; Date.now() < until; ) {
      const { runs } = await store.take(runner({ handlers: [`mod.${name}`] }), 1);
      if (runs[0]) return runs[0];
      await sleep(10);
    }
    throw new Error(`run ${name} never became claimable`);
  }

  it('expires an unrenewed lease into a retry after the backoff, then lost; the old holder is refused', async () => {
    const created = await store.create({ funcName: 'mod.expiry', timeToResolve: 0.2, maxAttempts: 2, delay: 2, delayFactor: 1 });
    const first = await takeNamed('expiry');
    await sleep(250);
    const sweptAt = Date.now();
    expect(await store.sweep()).toMatchObject({ retried: 1, lost: 0 });
    const retried = await store.get(created.id);
    expect(retried).toMatchObject({ status: 'pending', attempt: 1 });
    expect(retried!.runAfter.getTime()).toBeGreaterThanOrEqual(sweptAt + 2000 - 20);
    expect(retried!.runAfter.getTime()).toBeLessThanOrEqual(Date.now() + 2000);
    // Not claimable before its backoff ends (2 s leaves room for a slow machine).
    if (Date.now() < retried!.runAfter.getTime() - 200) {
      expect((await store.take(runner({ handlers: ['mod.expiry'] }), 1)).runs).toHaveLength(0);
    }
    expect(await store.complete(leaseOf(first), 'late')).toBe(false);

    const second = await takeNamed('expiry');
    expect(second.attempt).toBe(2);
    await sleep(250);
    expect(await store.sweep()).toMatchObject({ retried: 0, lost: 1 });
    const lost = await store.get(created.id);
    expect(lost).toMatchObject({ status: 'lost', attempt: 2 });
    expect(lost?.history.map((h) => h.outcome)).toEqual(['retry', 'lost']);
    expect(await store.complete(leaseOf(second), 'late')).toBe(false);
    expect((await store.get(created.id))?.status).toBe('lost');
  });

  it('schedules retries 0.2, 0.4 and 0.8 s apart for delay 0.2 s, factor 2, 4 attempts', async () => {
    const created = await store.create({ funcName: 'mod.backoff', maxAttempts: 4, delay: 0.2, delayFactor: 2 });
    const waits: number[] = [];
    for (let attempt = 1; attempt <= 4; attempt++) {
      const run = await takeNamed('backoff');
      expect(run.attempt).toBe(attempt);
      expect(await store.fail(leaseOf(run), new Error(`attempt ${attempt}`))).toBe(true);
      const after = await store.get(created.id);
      const failedAt = after!.history.at(-1)!.finishedAt.getTime();
      if (attempt < 4) waits.push((after!.runAfter.getTime() - failedAt) / 1000);
      else expect(after).toMatchObject({ status: 'failed', attempt: 4, error: { message: 'attempt 4' } });
    }
    expect(waits).toEqual([0.2, 0.4, 0.8]);
  });
});
