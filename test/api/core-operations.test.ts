import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { leaseOf } from '../../src/core/types.js';
import { openHarness, subscribe, type Harness } from './harness.js';

/** Every operation of DESIGN.md's "GraphQL: the core", written exactly as there. */

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const RUNNER = { id: 'runner-1', cluster: 'default', tags: ['default'], handlers: ['my_module.cache_reload'] };

describe('the core operations of DESIGN.md', () => {
  let h: Harness;

  beforeEach(async () => {
    h = await openHarness();
    await h.deps.catalog.putDefinition(
      { name: 'my_reload', kind: 'periodical', funcName: 'my_module.cache_reload', schedule: '*/5 * * * * *', timeToResolve: 180 },
      'config',
    );
  });
  afterEach(() => h.close());

  /** Starts my_reload and completes it as a runner would. */
  async function completedRun(): Promise<string> {
    const started = await h.gql('mutation { task { start(name: "my_reload", args: ["x"]) } }');
    const { runs } = await h.deps.store.take(RUNNER, 1);
    await h.deps.store.complete(leaseOf(runs[0]!), { reloaded: true });
    return started.data!.task.start;
  }

  it('start returns the new run id', async () => {
    const answer = await h.gql('mutation { task { start(name: "my_reload", args: ["x"]) } }');
    expect(answer.errors).toBeUndefined();
    expect(answer.data!.task.start).toMatch(UUID);
    expect((await h.deps.store.get(answer.data!.task.start))?.args).toEqual(['x']);
  });

  it('create launches an anonymous run with options and returns its id', async () => {
    await h.deps.catalog.createCluster({ name: 'gpu', slug: 'gpu-ab12cd' });
    const answer = await h.gql(
      'mutation { task { create(funcName: "my_module.job", args: {a: 1}, options: {timeToResolve: 5, maxAttempts: 3, cluster: "gpu-Ab12Cd", tag: "gpu", priority: 5}) } }',
    );
    expect(answer.errors).toBeUndefined();
    const run = await h.deps.store.get(answer.data!.task.create);
    expect(run).toMatchObject({ funcName: 'my_module.job', kind: 'anonymous', args: { a: 1 }, timeToResolve: 5, maxAttempts: 3, cluster: 'gpu-ab12cd', tag: 'gpu', priority: 5 });
  });

  it('stop, retry and forget return the id, the id and true', async () => {
    const id = (await h.gql('mutation { task { start(name: "my_reload", args: ["x"]) } }')).data!.task.start;
    expect((await h.gql(`mutation { task { stop(id: "${id}") } }`)).data).toEqual({ task: { stop: id } });
    expect((await h.deps.store.get(id))?.status).toBe('stopped');
    expect((await h.gql(`mutation { task { retry(id: "${id}") } }`)).data).toEqual({ task: { retry: id } });
    expect((await h.deps.store.get(id))?.status).toBe('pending');
    await h.gql(`mutation { task { stop(id: "${id}") } }`);
    expect((await h.gql(`mutation { task { forget(id: "${id}") } }`)).data).toEqual({ task: { forget: true } });
    expect(await h.deps.store.get(id)).toBeNull();
  });

  it('task(id) returns the documented fields', async () => {
    const id = await completedRun();
    const answer = await h.gql(`query { task(id: "${id}") { id name funcName kind status attempt result error startedAt finishedAt } }`);
    expect(answer.errors).toBeUndefined();
    expect(answer.data!.task).toEqual({
      id, name: 'my_reload', funcName: 'my_module.cache_reload', kind: 'PERIODICAL', status: 'COMPLETED', attempt: 1,
      result: { reloaded: true }, error: null, startedAt: expect.stringMatching(/Z$/), finishedAt: expect.stringMatching(/Z$/),
    });
  });

  it('tasks(filter, first) is a connection', async () => {
    const id = await completedRun();
    await h.gql('mutation { task { start(name: "my_reload") } }');
    const answer = await h.gql('query { tasks(filter: {name: "my_reload", status: COMPLETED}, first: 20) { edges { node { id status } } pageInfo { hasNextPage endCursor } } }');
    expect(answer.errors).toBeUndefined();
    expect(answer.data!.tasks.edges).toEqual([{ node: { id, status: 'COMPLETED' } }]);
    expect(answer.data!.tasks.pageInfo).toEqual({ hasNextPage: false, endCursor: expect.any(String) });
  });

  it('statistics counts by status', async () => {
    await completedRun();
    await h.gql('mutation { task { start(name: "my_reload") } }');
    await h.gql('mutation { task { start(name: "nope") } }');
    const answer = await h.gql('query { statistics { pending running completed failed lost stopped didNotStart unknownTask total } }');
    expect(answer.data!.statistics).toEqual({ pending: 1, running: 0, completed: 1, failed: 0, lost: 0, stopped: 0, didNotStart: 0, unknownTask: 1, total: 3 });
  });

  it('clusters, cluster create and cluster delete', async () => {
    expect((await h.gql('query { clusters { slug name } }')).data!.clusters).toEqual([{ slug: 'default', name: 'default' }]);
    const created = await h.gql('mutation { cluster { create(name: "testing") { slug } } }');
    const slug: string = created.data!.cluster.create.slug;
    expect(slug).toMatch(/^testing-[a-z0-9]+$/);
    expect((await h.gql('query { clusters { slug name } }')).data!.clusters).toContainEqual({ slug, name: 'testing' });
    expect((await h.gql(`mutation { cluster { delete(slug: "${slug}") } }`)).data).toEqual({ cluster: { delete: true } });
    expect((await h.gql('query { clusters { slug } }')).data!.clusters).toEqual([{ slug: 'default' }]);
  });

  it('subscription taskUpdated streams changes over SSE', async () => {
    const sub = await subscribe(h, 'subscription { taskUpdated { id status } }');
    try {
      const id = await completedRun();
      const seen: string[] = [];
      while (!seen.includes('COMPLETED')) {
        const event = await sub.next();
        expect(event.data!.taskUpdated.id).toBe(id);
        seen.push(event.data!.taskUpdated.status);
      }
      expect(seen).toEqual(['PENDING', 'RUNNING', 'COMPLETED']);
    } finally {
      await sub.close();
    }
  });
});
