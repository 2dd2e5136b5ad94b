import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Coordinator, RunEvent } from '../../src/coordination/contract.js';
import { MemoryCoordinator } from '../../src/coordination/memory-coordinator.js';
import { withRunEvents } from '../../src/coordination/publishing-store.js';
import { leaseOf, type JsonValue, type RunnerIdentity } from '../../src/core/types.js';
import type { TaskStore } from '../../src/storage/contract.js';
import { createTaskStore } from '../../src/storage/create-store.js';
import { collect, eventually } from './conformance.js';

const runner: RunnerIdentity = { id: 'runner-a', cluster: 'default', tags: ['default'], handlers: ['mod.work'] };

describe('withRunEvents', () => {
  let raw: TaskStore;
  let store: TaskStore;
  let coordinator: Coordinator;
  let runs: ReturnType<typeof collect>;
  let work: ReturnType<typeof collect>;

  /** Every `runs` message so far, flattened. */
  const events = () => runs.messages.flatMap((message) => message as unknown as RunEvent[]);

  beforeEach(async () => {
    raw = createTaskStore({ embedded: { shards: 2 } });
    coordinator = new MemoryCoordinator();
    store = withRunEvents(raw, coordinator);
    await store.start();
    await coordinator.start();
    runs = collect(coordinator, 'runs');
    work = collect(coordinator, 'work:default');
  });
  afterEach(async () => {
    await store.close();
    await coordinator.close();
  });

  it('announces a created run as pending and wakes its cluster', async () => {
    const run = await store.create({ funcName: 'mod.work', name: 'nightly' });
    await runs.count(1);
    await work.count(1);
    expect(runs.messages[0]).toEqual([
      { id: run.id, name: 'nightly', jobId: run.jobId, cluster: 'default', status: 'pending', attempt: 0, at: expect.any(String) },
    ]);
    expect(Number.isNaN(Date.parse(events()[0]!.at))).toBe(false);
    expect(work.messages).toEqual([{ count: 1 }]);
  });

  it('announces a claim as running and a completion as completed, with the run’s facts', async () => {
    const run = await store.create({ funcName: 'mod.work', name: 'nightly' });
    const [taken] = (await store.take(runner, 1)).runs;
    expect(taken?.id).toBe(run.id);
    expect(await store.complete(leaseOf(taken!), { ok: true })).toBe(true);
    await runs.count(3);
    expect(events().map(({ status, attempt, name, cluster }) => ({ status, attempt, name, cluster }))).toEqual([
      { status: 'pending', attempt: 0, name: 'nightly', cluster: 'default' },
      { status: 'running', attempt: 1, name: 'nightly', cluster: 'default' },
      { status: 'completed', attempt: 1, name: 'nightly', cluster: 'default' },
    ]);
    expect((await store.get(run.id))?.result).toEqual({ ok: true });
  });

  it('announces a stopped pending run, and asks the runner of a running one to stop', async () => {
    const pending = await store.create({ funcName: 'mod.work' });
    expect(await store.stop(pending.id)).toEqual({ id: pending.id, state: 'stopped' });
    await eventually(() => events().some((event) => event.status === 'stopped'));
    expect(events().find((event) => event.status === 'stopped')).toMatchObject({ id: pending.id, name: 'mod.work', jobId: pending.jobId, attempt: 0 });

    const stops = collect(coordinator, 'stop');
    const running = await store.create({ funcName: 'mod.work' });
    await store.take(runner, 1);
    expect(await store.stop(running.id)).toEqual({ id: running.id, state: 'stopping' });
    await stops.count(1);
    expect(stops.messages).toEqual([{ id: running.id }]);
  });

  it('announces a failure with attempts left as pending again and wakes the cluster; retry and forget too', async () => {
    const run = await store.create({ funcName: 'mod.work', maxAttempts: 2, delay: 0 });
    const [taken] = (await store.take(runner, 1)).runs;
    expect(await store.fail(leaseOf(taken!), new Error('boom'))).toBe(true);
    await runs.count(3);
    expect(events()[2]).toMatchObject({ id: run.id, status: 'pending', attempt: 1 });
    await work.count(2);

    const [again] = (await store.take(runner, 1)).runs;
    expect(await store.fail(leaseOf(again!), new Error('boom'))).toBe(true);
    await runs.count(5);
    expect(events()[4]).toMatchObject({ id: run.id, status: 'failed', attempt: 2 });

    await store.retry(run.id);
    await runs.count(6);
    expect(events()[5]).toMatchObject({ id: run.id, status: 'pending', attempt: 0, cluster: 'default' });
    await work.count(3);

    const [third] = (await store.take(runner, 1)).runs;
    await store.settle([{ lease: leaseOf(third!), outcome: { status: 'stopped' } }]);
    await store.forget(run.id);
    await runs.count(9);
    expect(events().slice(7).map((event) => [event.status, event.name])).toEqual([['stopped', 'mod.work'], ['forgotten', 'mod.work']]);
  });

  it('announces a release as pending with the attempt handed back', async () => {
    await store.create({ funcName: 'mod.work' });
    const [taken] = (await store.take(runner, 1)).runs;
    const [result] = await store.settle([{ lease: leaseOf(taken!), outcome: { status: 'released' } }]);
    expect(result).toMatchObject({ accepted: true, status: 'pending' });
    await runs.count(3);
    expect(events()[2]).toMatchObject({ status: 'pending', attempt: 0 });
    await work.count(2);
  });

  it('reads the facts of a run it did not see, in the background', async () => {
    const run = await raw.create({ funcName: 'mod.work', name: 'elsewhere', cluster: 'gpu-a1' });
    const [taken] = (await raw.take({ ...runner, cluster: 'gpu-a1' }, 1)).runs;
    const gpu = collect(coordinator, 'work:gpu-a1');
    expect(await store.settle([{ lease: leaseOf(taken!), outcome: { status: 'released' } }])).toMatchObject([{ accepted: true }]);
    await runs.count(1);
    expect(runs.messages[0]).toEqual([
      { id: run.id, name: 'elsewhere', jobId: run.jobId, cluster: 'gpu-a1', status: 'pending', attempt: 0, at: expect.any(String) },
    ]);
    await gpu.count(1);
    expect(work.messages).toEqual([]);

    // A forgotten run is gone: what was not remembered stays empty rather than costing a read.
    const unseen = await raw.create({ funcName: 'mod.work', name: 'unseen' });
    await raw.stop(unseen.id);
    await store.forget(unseen.id);
    await runs.count(2);
    expect(runs.messages[1]).toEqual([{ id: unseen.id, name: '', jobId: '', cluster: '', status: 'forgotten', attempt: 0, at: expect.any(String) }]);
  });

  it('publishes once per createMany, plus one wake-up per cluster, and nothing for duplicates', async () => {
    const publish = vi.spyOn(coordinator, 'publish');
    const inputs = Array.from({ length: 100 }, (_, i) => ({ funcName: 'mod.work', args: [i], ...(i % 4 === 0 ? { cluster: 'gpu-a1' } : {}) }));
    const results = await store.createMany(inputs);
    expect(publish.mock.calls.map(([channel]) => channel).sort()).toEqual(['runs', 'work:default', 'work:gpu-a1']);
    const [, message] = publish.mock.calls.find(([channel]) => channel === 'runs')!;
    const announced = message as unknown as RunEvent[];
    expect(announced).toHaveLength(100);
    expect(announced.map((event) => event.id)).toEqual(results.map((result) => result.id));
    expect(announced.filter((event) => event.cluster === 'gpu-a1')).toHaveLength(25);
    expect(publish.mock.calls.find(([channel]) => channel === 'work:gpu-a1')?.[1]).toEqual({ count: 25 });

    publish.mockClear();
    const duplicate = await store.createMany([{ funcName: 'mod.work', id: results[0]!.id }]);
    expect(duplicate[0]?.created).toBe(false);
    expect(publish).not.toHaveBeenCalled();
  });

  it('never fails a store call because publishing failed', async () => {
    const broken: Coordinator = Object.assign(new MemoryCoordinator(), {
      publish: (): Promise<void> => {
        throw new Error('coordinator bug');
      },
    });
    const rejecting: Coordinator = Object.assign(new MemoryCoordinator(), {
      publish: (_channel: string, _message: JsonValue): Promise<void> => Promise.reject(new Error('coordinator bug')),
    });
    for (const coordinatorUnderTest of [broken, rejecting]) {
      const decorated = withRunEvents(raw, coordinatorUnderTest);
      const run = await decorated.create({ funcName: 'mod.work' });
      expect(await decorated.stop(run.id)).toEqual({ id: run.id, state: 'stopped' });
      await coordinatorUnderTest.close();
    }
    expect(store.engine).toBe('embedded');
    expect(store.shards).toEqual(raw.shards);
  });
});
