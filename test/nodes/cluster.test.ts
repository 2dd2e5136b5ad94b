import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scheduledRunId } from '../../src/core/run-ids.js';
import type { Run } from '../../src/core/types.js';
import { ClusterFixture, eventually } from './cluster-fixture.js';

/**
 * A whole cluster of real processes on 3 FerretDB shards and Redis:
 * A (api + scheduler), E (a second scheduler), B (storage), runners C and D.
 * The scenarios share the cluster and run in order; each checks its own runs.
 */

const fixture = new ClusterFixture('cluster');
fixture.tasks = {
  every_second: { kind: 'periodical', func_name: 'handlers.tick', schedule: '* * * * * *', args: { file: fixture.file('ticks.log') } },
  keep_going: { kind: 'continuous', func_name: 'handlers.touch', pause_sec: 1, args: { file: fixture.file('continuous.log') } },
};

const runnerC = { roles: ['runner'], runner: { capacity: 50 } };
const runnerD = { roles: ['runner'], runner: { capacity: 50 } };

beforeAll(async () => {
  await fixture.start();
  await fixture.startNode('node-a', { roles: ['scheduler'] });
  await Promise.all([
    fixture.startNode('node-e', { roles: ['scheduler'] }),
    fixture.startNode('node-b', { roles: ['storage'] }),
    fixture.startNode('runner-c', runnerC),
    fixture.startNode('runner-d', runnerD),
  ]);
}, 120_000);

afterAll(async () => {
  await fixture.close();
}, 60_000);

async function runsNamed(name: string): Promise<Run[]> {
  const runs: Run[] = [];
  let after: string | null = null;
  for (;;) {
    const page = await fixture.store.select({ name }, { first: 1000, after });
    runs.push(...page.runs);
    if (!page.hasNextPage) return runs;
    after = page.endCursor;
  }
}

function wholeSecond(ms: number): Date {
  return new Date(Math.floor(ms / 1000) * 1000);
}

describe('a cluster of node processes', () => {
  it('fires a * * * * * * periodical once per tick with two schedulers running', async () => {
    await eventually(async () => ((await runsNamed('every_second')).length >= 2 ? true : undefined), 20_000, 'the first ticks');
    const from = wholeSecond(Date.now()) ;
    await new Promise((resolve) => setTimeout(resolve, 6_000));
    const runs = await runsNamed('every_second');
    // Each of 5 whole seconds in the window has its run, with the id derived from the tick.
    for (let s = 0; s < 5; s++) {
      const tick = new Date(from.getTime() + s * 1000);
      expect(runs.map((r) => r.id), `tick ${tick.toISOString()}`).toContain(scheduledRunId('every_second', tick));
    }
    const inWindow = runs.filter((r) => r.createdAt >= from && r.createdAt < new Date(from.getTime() + 5000));
    expect(inWindow.length).toBeGreaterThanOrEqual(4);
    expect(inWindow.length).toBeLessThanOrEqual(6);
    // Every tick ran once: no run id twice in the handler's record.
    const recorded = fixture.records('ticks.log').map((r) => r.runId);
    expect(new Set(recorded).size).toBe(recorded.length);
  });

  it('restarts a continuous task pause_sec after each run', async () => {
    const runs = await eventually(async () => {
      const found = await runsNamed('keep_going');
      return found.filter((r) => r.status === 'completed').length >= 3 ? found : undefined;
    }, 30_000, 'three completed continuous runs');
    const ordered = [...runs].sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
    expect(ordered.filter((r) => r.status === 'pending' || r.status === 'running').length).toBeLessThanOrEqual(1);
    for (let i = 1; i < ordered.length; i++) {
      const previous = ordered[i - 1]!;
      const next = ordered[i]!;
      expect(previous.finishedAt, `run ${i - 1} finished before its successor was created`).not.toBeNull();
      expect(next.runAfter.getTime() - previous.finishedAt!.getTime()).toBeGreaterThanOrEqual(1000);
      if (next.startedAt) expect(next.startedAt.getTime() - previous.finishedAt!.getTime()).toBeGreaterThanOrEqual(990);
    }
  });

  it('completes 2,000 anonymous runs, each handler call recorded once', async () => {
    const file = fixture.file('anonymous.log');
    const created = [];
    for (let batch = 0; batch < 4; batch++) {
      created.push(
        ...(await fixture.store.createMany(
          Array.from({ length: 500 }, () => ({ funcName: 'handlers.touch', args: { file }, timeToResolve: 30 })),
        )),
      );
    }
    expect(created.every((c) => c.created)).toBe(true);
    const stats = await eventually(async () => {
      const s = await fixture.store.statistics({ name: 'handlers.touch' });
      return s.total.completed + s.total.failed + s.total.lost >= 2000 ? s : undefined;
    }, 240_000, '2,000 finished runs');
    expect(stats.total.completed).toBe(2000);
    expect(stats.total.failed + stats.total.lost + stats.total.pending + stats.total.running).toBe(0);
    const records = fixture.records('anonymous.log');
    expect(records).toHaveLength(2000);
    expect(new Set(records.map((r) => r.runId))).toEqual(new Set(created.map((c) => c.id)));
    // Both runners took part.
    expect(new Set(records.map((r) => r.pid)).size).toBe(2);
  }, 300_000);

  it('stops a running handler: the run ends stopped within 1 s', async () => {
    const run = await fixture.store.create({ funcName: 'handlers.work', args: { file: fixture.file('stop.log'), ms: 60_000 } });
    await eventually(async () => ((await fixture.store.get(run.id))?.status === 'running' ? true : undefined), 20_000, 'the run to start');
    const stoppedAt = Date.now();
    expect((await fixture.store.stop(run.id)).state).toBe('stopping');
    const final = await fixture.store.wait(run.id, 10_000);
    expect(final.status).toBe('stopped');
    expect(final.finishedAt!.getTime() - stoppedAt).toBeLessThan(1000);
  });

  it('moves the runs of a SIGKILLed runner to another after time_to_resolve, or ends them lost', async () => {
    const file = fixture.file('killed.log');
    // Freeze D so that C claims everything, then kill C and let D take over.
    fixture.node('runner-d').child.kill('SIGSTOP');
    let frozen = true;
    try {
      const retried = await fixture.store.createMany(
        Array.from({ length: 3 }, () => ({ funcName: 'handlers.work', args: { file, ms: 3000 }, timeToResolve: 2, maxAttempts: 2, delay: 0 })),
      );
      const single = await fixture.store.createMany(
        Array.from({ length: 2 }, () => ({ funcName: 'handlers.work', args: { file, ms: 3000 }, timeToResolve: 2, maxAttempts: 1 })),
      );
      const ids = [...retried, ...single].map((c) => c.id);
      await eventually(async () => {
        const runs = await fixture.store.getMany(ids);
        return runs.every((r) => r?.status === 'running' && r.runner === 'runner-c') ? true : undefined;
      }, 20_000, 'runner C to claim the runs');
      await fixture.node('runner-c').stop('SIGKILL');
      fixture.node('runner-d').child.kill('SIGCONT');
      frozen = false;

      for (const { id } of retried) {
        const run = await fixture.store.wait(id, 30_000);
        expect(run.status, `run ${id}`).toBe('completed');
        expect(run.attempt).toBe(2);
        expect(run.runner).toBe('runner-d');
        expect(run.history.map((h) => [h.runner, h.outcome])).toEqual([
          ['runner-c', 'retry'],
          ['runner-d', 'completed'],
        ]);
      }
      for (const { id } of single) {
        const run = await fixture.store.wait(id, 30_000);
        expect(run.status, `run ${id}`).toBe('lost');
        expect(run.attempt).toBe(1);
      }
    } finally {
      if (frozen) fixture.node('runner-d').child.kill('SIGCONT');
    }
  }, 90_000);

  it('drains a runner on SIGTERM: short handlers finish, long ones go back to pending unspent', async () => {
    const file = fixture.file('drain.log');
    const short = await fixture.store.createMany(Array.from({ length: 2 }, () => ({ funcName: 'handlers.work', args: { file, ms: 1000 } })));
    const long = await fixture.store.createMany(Array.from({ length: 2 }, () => ({ funcName: 'handlers.work', args: { file, ms: 8000 } })));
    const ids = [...short, ...long].map((c) => c.id);
    await eventually(async () => {
      const runs = await fixture.store.getMany(ids);
      return runs.every((r) => r?.status === 'running') ? true : undefined;
    }, 20_000, 'runner D to claim the runs');
    const exit = await fixture.node('runner-d').stop('SIGTERM');
    expect(exit.code).toBe(0);
    for (const { id } of short) expect((await fixture.store.get(id))?.status).toBe('completed');
    for (const { id } of long) {
      const run = await fixture.store.get(id);
      expect(run?.status).toBe('pending');
      expect(run?.attempt).toBe(0);
      expect(run?.history.at(-1)?.outcome).toBe('released');
    }
    // A fresh runner picks the handed-back runs up and finishes them on their first attempt.
    await fixture.startNode('runner-c2', runnerC);
    for (const { id } of long) {
      const run = await fixture.store.wait(id, 30_000);
      expect(run.status).toBe('completed');
      expect(run.attempt).toBe(1);
      expect(run.runner).toBe('runner-c2');
    }
  }, 90_000);

  it('hands the schedule to the standby when scheduler A is killed; no tick runs twice', async () => {
    const leader = (await fixture.coordinator.listLeases('scheduler')).find((lease) => lease.name === 'scheduler');
    expect(leader).toBeDefined();
    const killed = leader!.holder;
    const standby = killed === 'node-a' ? 'node-e' : 'node-a';
    await fixture.node(killed).stop('SIGKILL');
    const killedAt = Date.now();
    const taken = await eventually(async () => {
      const lease = (await fixture.coordinator.listLeases('scheduler')).find((l) => l.name === 'scheduler');
      return lease?.holder === standby ? lease : undefined;
    }, 10_000, 'the standby to take the scheduler lease');
    expect(taken.token).toBeGreaterThan(leader!.token);
    expect(Date.now() - killedAt).toBeLessThan(3000 + 2000);
    // Ticks resume under the new leader.
    const resumedFrom = wholeSecond(Date.now() + 1000);
    await new Promise((resolve) => setTimeout(resolve, 4_000));
    const runs = await runsNamed('every_second');
    for (let s = 0; s < 3; s++) {
      expect(runs.map((r) => r.id)).toContain(scheduledRunId('every_second', new Date(resumedFrom.getTime() + s * 1000)));
    }
    const recorded = fixture.records('ticks.log').map((r) => r.runId);
    expect(new Set(recorded).size).toBe(recorded.length);
  }, 60_000);
});
