import { afterEach, describe, expect, it } from 'vitest';
import type { Handler } from '../../src/core/handler.js';
import { eventually } from '../nodes/cluster-fixture.js';
import { startStand, type Stand } from './runtime-stand.js';

/**
 * A runner with a lookahead claims runs due soon and begins them at their due time: the run is
 * `running` (its slot held) before the handler is called, the handler is called at the due time
 * or after, never before, and a stop or a drain while it waits ends it without calling it.
 */
describe('runner lookahead', () => {
  let stand: Stand | null = null;
  const calls: Array<{ runId: string; at: number }> = [];
  const handlers = new Map<string, Handler>([
    ['direct.fn', (_args, ctx) => {
      calls.push({ runId: ctx.runId, at: Date.now() });
      return 'ran';
    }],
  ]);

  afterEach(async () => {
    await stand?.close();
    stand = null;
    calls.length = 0;
  });

  const until = <T>(probe: () => Promise<T | undefined>, what: string): Promise<T> => eventually(probe, 10_000, what, 20);

  it('claims a run due within the lookahead at once and calls its handler at the due time', async () => {
    stand = await startStand({ handlers, lookaheadMs: 3000 });
    const dueAt = new Date(Date.now() + 1500);
    const run = await stand.store.create({ funcName: 'direct.fn', runAfter: dueAt });
    const running = await until(async () => {
      const current = await stand!.store.get(run.id);
      return current?.status === 'running' ? current : undefined;
    }, 'the run to be claimed');
    // Claimed ahead: running, not called yet, its start (and lease) set to the due time.
    expect(calls).toHaveLength(0);
    expect(running.startedAt).toEqual(dueAt);
    expect(running.deadline!.getTime()).toBe(dueAt.getTime() + running.timeToResolve * 1000);
    const done = await stand.store.wait(run.id, 10_000);
    expect(done.status).toBe('completed');
    expect(calls).toHaveLength(1);
    expect(calls[0]!.at).toBeGreaterThanOrEqual(dueAt.getTime());
  });

  it('does not claim a run due later than the lookahead', async () => {
    stand = await startStand({ handlers, lookaheadMs: 500 });
    const run = await stand.store.create({ funcName: 'direct.fn', runAfter: new Date(Date.now() + 60_000) });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect((await stand.store.get(run.id))?.status).toBe('pending');
  });

  it('a stop while the run waits for its due time ends it stopped without calling the handler', async () => {
    stand = await startStand({ handlers, lookaheadMs: 8000 });
    const run = await stand.store.create({ funcName: 'direct.fn', runAfter: new Date(Date.now() + 6000) });
    await until(async () => ((await stand!.store.get(run.id))?.status === 'running' ? true : undefined), 'the run to be claimed');
    expect((await stand.store.stop(run.id)).state).toBe('stopping');
    // Stop requests reach a runner through the lease check (no coordinator message in this stand).
    const done = await stand.store.wait(run.id, 5000);
    expect(done.status).toBe('stopped');
    expect(calls).toHaveLength(0);
  });

  it('a drain while the run waits hands it back unspent', async () => {
    stand = await startStand({ handlers, lookaheadMs: 8000 });
    const run = await stand.store.create({ funcName: 'direct.fn', runAfter: new Date(Date.now() + 6000) });
    await until(async () => ((await stand!.store.get(run.id))?.status === 'running' ? true : undefined), 'the run to be claimed');
    await stand.runner.drain(0);
    const back = await stand.store.get(run.id);
    expect(back).toMatchObject({ status: 'pending', attempt: 0 });
    expect(back!.history.at(-1)?.outcome).toBe('released');
    expect(calls).toHaveLength(0);
  });
});
