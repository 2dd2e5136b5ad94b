import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RunnerInfo } from '../../src/core/members.js';
import { leaseOf } from '../../src/core/types.js';
import { NODE, onlyError, openHarness, type Harness } from './harness.js';

/** Definitions, runners, worker groups, nodes, leases, shards, jobs, and why a run waits. */

function runnerInfo(overrides: Partial<RunnerInfo> = {}): RunnerInfo {
  return {
    id: 'runner-a', node: NODE.id, cluster: 'default', group: 'default', tags: ['default'], handlers: ['mod.work'],
    capacity: 2, load: 0, state: 'running', startedAt: new Date(0).toISOString(), ...overrides,
  };
}

describe('operator views', () => {
  let h: Harness;

  beforeEach(async () => {
    h = await openHarness();
  });
  afterEach(() => h.close());

  const heartbeat = (info: RunnerInfo) => h.coordinator.heartbeat('runner', info.id, { ...info, tags: [...info.tags], handlers: [...info.handlers] }, 60_000);

  it('defines, lists, updates and removes task definitions', async () => {
    const defined = await h.gql(`mutation { task { define(input: {name: "tick", kind: PERIODICAL, funcName: "mod.work", schedule: "*/5 * * * * *", args: {x: 1}}) { name kind schedule source nextFireAt } } }`);
    expect(defined.errors).toBeUndefined();
    expect(defined.data!.task.define).toMatchObject({ name: 'tick', kind: 'PERIODICAL', source: 'API' });
    const next = new Date(defined.data!.task.define.nextFireAt).getTime();
    expect(next).toBeGreaterThan(Date.now() - 1000);
    expect(next).toBeLessThanOrEqual(Date.now() + 5000);

    const started = (await h.gql('mutation { task { start(name: "tick") } }')).data!.task.start;
    const listed = await h.gql('{ taskDefinitions { name args lastRun { id args } counts { pending total } } }');
    expect(listed.data!.taskDefinitions).toEqual([{ name: 'tick', args: { x: 1 }, lastRun: { id: started, args: { x: 1 } }, counts: { pending: 1, total: 1 } }]);

    const updated = await h.gql('mutation { task { update(name: "tick", patch: {kind: SINGLE_SHOT, priority: 7}) { kind schedule priority nextFireAt funcName } } }');
    expect(updated.data!.task.update).toEqual({ kind: 'SINGLE_SHOT', schedule: null, priority: 7, nextFireAt: null, funcName: 'mod.work' });

    const refused = onlyError(await h.gql('mutation { task { update(name: "tick", patch: {kind: PERIODICAL}) { name } } }'));
    expect(refused.extensions!['code']).toBe('BAD_USER_INPUT');
    expect(refused.message).toMatch(/schedule/);

    expect((await h.gql('mutation { task { remove(name: "tick") } }')).data).toEqual({ task: { remove: true } });
    expect(onlyError(await h.gql('mutation { task { remove(name: "tick") } }')).extensions!['code']).toBe('NOT_FOUND');
  });

  it('refuses to change a definition that comes from the config file', async () => {
    await h.deps.catalog.putDefinition({ name: 'from_file', kind: 'single_shot', funcName: 'mod.work' }, 'config');
    const error = onlyError(await h.gql('mutation { task { remove(name: "from_file") } }'));
    expect(error.extensions!['code']).toBe('CONFLICT');
    expect(error.message).toMatch(/config file/);
  });

  it('says why a pending run waits, from the live runners', async () => {
    const id = (await h.gql('mutation { task { create(funcName: "mod.work") } }')).data!.task.create;
    const reason = async () => (await h.gql(`{ task(id: "${id}") { waitingReason } }`)).data!.task.waitingReason as string | null;
    expect(await reason()).toMatch(/^no live runner in cluster default;/);
    await heartbeat(runnerInfo({ handlers: ['other.fn'] }));
    expect(await reason()).toMatch(/^no live runner in cluster default registers handler mod\.work/);
    await heartbeat(runnerInfo({ load: 2 }));
    expect(await reason()).toBe('all 1 matching runners are busy (2 of 2 slots in use)');
    await heartbeat(runnerInfo({ load: 1 }));
    expect(await reason()).toBeNull();

    const later = (await h.gql(`mutation { task { create(funcName: "mod.work", options: {runAfter: "2999-01-01T00:00:00Z"}) } }`)).data!.task.create;
    expect((await h.gql(`{ task(id: "${later}") { waitingReason } }`)).data!.task.waitingReason).toBe('due at 2999-01-01T00:00:00.000Z (delayed start)');
  });

  it('lists runners, worker groups, nodes with leases, and shards with buckets, health and counts', async () => {
    await heartbeat(runnerInfo());
    await heartbeat(runnerInfo({ id: 'runner-b', group: 'gpu', tags: ['gpu'], load: 1 }));
    await h.coordinator.acquireLease('scheduler', NODE.id, 10_000);
    await h.deps.store.create({ funcName: 'mod.work' });
    const answer = await h.gql(`{
      runners { id group load }
      workerGroups { name cluster capacity load tags }
      nodes { id roles leases { name holder } runners { id } }
      shards { name engine bucketCount bucketRanges { from to } health { ok } counts { total } }
      clusters { slug runners { id } workerGroups { name } counts { pending } }
    }`);
    expect(answer.errors).toBeUndefined();
    const data = answer.data!;
    expect(data.runners).toEqual([{ id: 'runner-a', group: 'default', load: 0 }, { id: 'runner-b', group: 'gpu', load: 1 }]);
    expect(data.workerGroups).toEqual([
      { name: 'default', cluster: 'default', capacity: 2, load: 0, tags: ['default'] },
      { name: 'gpu', cluster: 'default', capacity: 2, load: 1, tags: ['gpu'] },
    ]);
    expect(data.nodes).toEqual([{ id: NODE.id, roles: ['API'], leases: [{ name: 'scheduler', holder: NODE.id }], runners: [{ id: 'runner-a' }, { id: 'runner-b' }] }]);
    expect(data.shards.map((s: { bucketRanges: unknown }) => s.bucketRanges)).toEqual([[{ from: 0, to: 341 }], [{ from: 342, to: 682 }], [{ from: 683, to: 1023 }]]);
    expect(data.shards.every((s: { engine: string; health: { ok: boolean } }) => s.engine === 'embedded' && s.health.ok)).toBe(true);
    expect(data.shards.reduce((sum: number, s: { counts: { total: number } }) => sum + s.counts.total, 0)).toBe(1);
    expect(data.clusters).toEqual([{ slug: 'default', runners: [{ id: 'runner-a' }, { id: 'runner-b' }], workerGroups: [{ name: 'default' }, { name: 'gpu' }], counts: { pending: 1 } }]);
  });

  it('shows a job with its root, runs, parents, children and attempt history', async () => {
    const root = await h.deps.store.create({ funcName: 'mod.work', name: 'root' });
    const child = await h.deps.store.create({ funcName: 'mod.work', name: 'child', jobId: root.id, parentId: root.id, maxAttempts: 2, delay: 0 });
    const { runs } = await h.deps.store.take({ id: 'runner-a', cluster: 'default', tags: ['default'], handlers: ['mod.work'] }, 10);
    const claimed = runs.find((r) => r.id === child.id)!;
    await h.deps.store.fail(leaseOf(claimed), new Error('boom'));
    const answer = await h.gql(`{
      job(id: "${root.id}") { id shard { name } root { name } runs { nodes { name } } }
      task(id: "${child.id}") { status parent { id name children { nodes { id } } } job { id } history { attempt runner outcome error } shard { name } }
    }`);
    expect(answer.errors).toBeUndefined();
    expect(answer.data!.job).toMatchObject({ id: root.id, shard: { name: root.shard }, root: { name: 'root' } });
    expect(answer.data!.job.runs.nodes.map((n: { name: string }) => n.name).sort()).toEqual(['child', 'root']);
    expect(answer.data!.task).toEqual({
      status: 'PENDING',
      parent: { id: root.id, name: 'root', children: { nodes: [{ id: child.id }] } },
      job: { id: root.id },
      history: [{ attempt: 1, runner: 'runner-a', outcome: 'RETRY', error: 'boom' }],
      shard: { name: root.shard },
    });
  });
});
