import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Coordinator } from '../../src/coordination/contract.js';
import { leaseOf } from '../../src/core/types.js';
import { eventually, openHarness, subscribe, type Harness } from './harness.js';

/** Subscriptions over SSE, in-process; events travel through the coordinator as they would through Redis. */

const RUNNER = { id: 'runner-1', cluster: 'default', tags: ['default'], handlers: ['mod.work'] };

/** The coordinator with a count of live `subscribe` registrations. */
function counting(coordinator: Coordinator): { coordinator: Coordinator; live: () => number } {
  let live = 0;
  const wrapped = Object.create(coordinator) as Coordinator;
  wrapped.subscribe = (channel, listener) => {
    const off = coordinator.subscribe(channel, listener);
    live++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      live--;
      off();
    };
  };
  return { coordinator: wrapped, live: () => live };
}

describe('subscriptions', () => {
  let h: Harness;
  let subscribers: () => number;

  beforeEach(async () => {
    h = await openHarness({
      wrapCoordinator: (c) => {
        const { coordinator, live } = counting(c);
        subscribers = live;
        return coordinator;
      },
    });
  });
  afterEach(() => h.close());

  async function completeOne(id: string): Promise<void> {
    const { runs } = await h.deps.store.take(RUNNER, 10);
    const run = runs.find((r) => r.id === id);
    if (!run) throw new Error(`run ${id} was not claimed`);
    await h.deps.store.complete(leaseOf(run), 'done');
  }

  it('taskUpdated delivers a run completed through the store, with fields beyond the event', async () => {
    const id: string = (await h.gql('mutation { task { create(funcName: "mod.work", args: [1]) } }')).data!.task.create;
    const sub = await subscribe(h, `subscription { taskUpdated(id: "${id}", status: COMPLETED) { id status result attempt funcName job { id } } }`);
    try {
      await completeOne(id);
      const event = await sub.next();
      expect(event.data!.taskUpdated).toEqual({ id, status: 'COMPLETED', result: 'done', attempt: 1, funcName: 'mod.work', job: { id } });
    } finally {
      await sub.close();
    }
  });

  it('filters server-side by name, job and status', async () => {
    const sub = await subscribe(h, 'subscription { taskUpdated(name: "wanted", status: [PENDING]) { name status } }');
    try {
      await h.deps.store.create({ funcName: 'mod.work', name: 'other' });
      await h.deps.store.create({ funcName: 'mod.work', name: 'wanted' });
      expect((await sub.next()).data!.taskUpdated).toEqual({ name: 'wanted', status: 'PENDING' });
    } finally {
      await sub.close();
    }
  });

  it('a bad filter is answered with BAD_USER_INPUT on the stream', async () => {
    const sub = await subscribe(h, 'subscription { taskUpdated(id: "not-a-uuid") { id } }');
    try {
      const event = await sub.next();
      expect(event.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'id' });
    } finally {
      await sub.close();
    }
    expect(subscribers()).toBe(0);
  });

  it('unsubscribes from the coordinator when the client disconnects', async () => {
    expect(subscribers()).toBe(0);
    const first = await subscribe(h, 'subscription { taskUpdated { id } }');
    const second = await subscribe(h, 'subscription { taskUpdated { status } }');
    await h.deps.store.create({ funcName: 'mod.work' });
    await first.next();
    await second.next();
    // One coordinator subscription serves every subscriber of this api instance.
    expect(subscribers()).toBe(1);
    await first.close();
    await second.close();
    await eventually(() => subscribers() === 0);
  });

  it('close() ends open streams and drops the coordinator subscription', async () => {
    const sub = await subscribe(h, 'subscription { taskUpdated { id } }');
    await h.deps.store.create({ funcName: 'mod.work' });
    await sub.next();
    await h.api.close();
    await expect(sub.next(2000)).rejects.toThrow(/ended|completed/);
    expect(subscribers()).toBe(0);
  });

  it('statistics emits the counts, then again after a change', async () => {
    const sub = await subscribe(h, 'subscription { statistics { pending completed total } }');
    try {
      expect((await sub.next()).data!.statistics).toEqual({ pending: 0, completed: 0, total: 0 });
      const run = await h.deps.store.create({ funcName: 'mod.work' });
      expect((await sub.next()).data!.statistics).toEqual({ pending: 1, completed: 0, total: 1 });
      await completeOne(run.id);
      const next = (await sub.next()).data!.statistics;
      expect(next).toEqual({ pending: 0, completed: 1, total: 1 });
    } finally {
      await sub.close();
    }
    await eventually(() => subscribers() === 0);
  });

  it('statistics emits at most once per second', async () => {
    const sub = await subscribe(h, 'subscription { statistics { total } }');
    try {
      await sub.next();
      const started = Date.now();
      for (let i = 0; i < 20; i++) await h.deps.store.create({ funcName: 'mod.work' });
      const counted: number[] = [];
      while (counted.at(-1) !== 20) counted.push((await sub.next()).data!.statistics.total);
      // 20 changes folded into at most two reads (one may land between creates).
      expect(counted.length).toBeLessThanOrEqual(2);
      expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    } finally {
      await sub.close();
    }
  });
});
