import { existsSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterFixture, eventually } from './cluster-fixture.js';

/**
 * Jobs across clusters with real processes: node A (api, scheduler, storage) and runner
 * processes in two clusters, on the test FerretDB shards and Redis. A run never leaves its
 * cluster; a job's subtask waits for a runner of its own cluster; a flow passes results forward,
 * stops after a failed step and resumes on retry; a run nobody takes expires.
 */
describe('jobs across clusters, with runner processes', () => {
  const fixture = new ClusterFixture('jobs');
  let url = '';
  let testing = '';
  let other = '';

  async function gql<T = Record<string, any>>(query: string, variables: object = {}): Promise<{ data: T; errors?: Array<{ message: string; extensions?: { code?: string } }> }> {
    const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) });
    return (await response.json()) as never;
  }

  async function ok<T = Record<string, any>>(query: string, variables: object = {}): Promise<T> {
    const answer = await gql<T>(query, variables);
    if (answer.errors) throw new Error(JSON.stringify(answer.errors));
    return answer.data;
  }

  const JOB = `query ($id: ID!) { job(id: $id) { status progress { pending running completed failed stopped total }
    runs(first: 50) { edges { node { id step status result reason cluster runnerId waitingReason inputs parent { id } } } } } }`;
  type JobView = {
    status: string;
    progress: Record<string, number>;
    runs: { edges: Array<{ node: { id: string; step: string | null; status: string; result: unknown; reason: string | null; cluster: string; runnerId: string | null; waitingReason: string | null; inputs: unknown; parent: { id: string } | null } }> };
  };
  const job = async (id: string) => (await ok<{ job: JobView }>(JOB, { id })).job;
  const runsOf = (view: JobView) => view.runs.edges.map((edge) => edge.node);

  beforeAll(async () => {
    await fixture.start();
    const a = await fixture.startNode('A', { roles: ['api', 'scheduler', 'storage'], listen: '127.0.0.1:0' });
    url = a.graphqlUrl();
    testing = (await ok<{ cluster: { create: { slug: string } } }>('mutation { cluster { create(name: "testing") { slug } } }')).cluster.create.slug;
    other = (await ok<{ cluster: { create: { slug: string } } }>('mutation { cluster { create(name: "other-cluster") { slug } } }')).cluster.create.slug;
    expect(testing).toMatch(/^testing-/);
    expect(other).toMatch(/^other-cluster-/);
    await fixture.startNode('T', { roles: ['runner'], runner: { cluster: testing, capacity: 4 } });
  }, 120_000);

  afterAll(async () => {
    await fixture.close();
  });

  it('a subtask spawned for another cluster waits there, says why, and runs when a runner joins that cluster', async () => {
    const file = fixture.file('multi-cluster');
    const rootId = (await ok<{ task: { create: string } }>(
      'mutation ($args: JSON, $cluster: String) { task { create(funcName: "handlers.parent", args: $args, options: { cluster: $cluster }) } }',
      { args: { file, cluster: other }, cluster: testing },
    )).task.create;

    // The root ran on T; its subtask targets the other cluster, where no runner lives yet.
    const waiting = await eventually(async () => {
      const runs = runsOf(await job(rootId));
      const child = runs.find((run) => run.id !== rootId);
      return runs.find((run) => run.id === rootId)?.status === 'COMPLETED' && child ? child : undefined;
    }, 30_000, 'the root to complete and its subtask to exist');
    expect(waiting).toMatchObject({ status: 'PENDING', cluster: other, parent: { id: rootId } });
    expect(waiting.waitingReason).toContain(`no live runner in cluster ${other}`);

    // T has handlers.touch too, but a run never leaves its cluster.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    expect((await job(rootId)).status).toBe('RUNNING');
    expect(fixture.records('multi-cluster').map((line) => line.runId)).toEqual([rootId]);

    await fixture.startNode('O', { roles: ['runner'], runner: { cluster: other, capacity: 4 } });
    const done = await eventually(async () => {
      const view = await job(rootId);
      return view.status === 'COMPLETED' ? view : undefined;
    }, 30_000, 'the job to complete once a runner joined the other cluster');
    expect(done.progress).toMatchObject({ completed: 2, total: 2 });
    expect(runsOf(done).find((run) => run.id === waiting.id)?.runnerId).toBe('O');
    expect(fixture.records('multi-cluster').map((line) => line.runId).sort()).toEqual([rootId, waiting.id].sort());
  }, 120_000);

  it('a three-step flow passes results forward, stops after a failed step, and a job retry finishes it', async () => {
    const file = fixture.file('flow');
    const unless = fixture.file('flow-fixed');
    const submitted = await ok<{ job: { submit: { id: string } } }>(
      `mutation ($steps: [FlowStepInput!]!) { job { submit(steps: $steps) { id } } }`,
      {
        steps: [
          { step: 'one', funcName: 'handlers.step', args: { file, add: 1 }, cluster: testing },
          { step: 'two', funcName: 'handlers.fail_unless', args: { file, add: 10, unless }, dependsOn: ['one'], cluster: testing },
          { step: 'three', funcName: 'handlers.step', args: { file, add: 100 }, dependsOn: ['two'], cluster: testing },
        ],
      },
    );
    const jobId = submitted.job.submit.id;
    const failed = await eventually(async () => {
      const view = await job(jobId);
      return view.status === 'FAILED' ? view : undefined;
    }, 30_000, 'the flow to fail at step two');
    const byStep = new Map(runsOf(failed).map((run) => [run.step, run]));
    expect(byStep.get('one')).toMatchObject({ status: 'COMPLETED', result: 1 });
    expect(byStep.get('two')).toMatchObject({ status: 'FAILED', inputs: { one: 1 } });
    expect(byStep.get('three')).toMatchObject({ status: 'STOPPED', reason: 'dependency two ended failed' });
    expect(fixture.records('flow').filter((line) => line.runId === byStep.get('three')!.id)).toEqual([]);

    writeFileSync(unless, 'fixed');
    expect(existsSync(unless)).toBe(true);
    await ok('mutation ($id: ID!) { job { retry(id: $id) { id } } }', { id: jobId });
    const done = await eventually(async () => {
      const view = await job(jobId);
      return view.status === 'COMPLETED' ? view : undefined;
    }, 30_000, 'the retried flow to complete');
    const after = new Map(runsOf(done).map((run) => [run.step, run]));
    expect(after.get('three')).toMatchObject({ status: 'COMPLETED', result: 111, inputs: { two: 11 } });
    // Step one completed before the failure and was not run again.
    expect(fixture.records('flow').filter((line) => line.runId === after.get('one')!.id)).toHaveLength(1);
  }, 90_000);

  it('cancelling a job aborts its running step and stops the rest', async () => {
    const file = fixture.file('cancel');
    const submitted = await ok<{ job: { submit: { id: string } } }>(
      `mutation ($steps: [FlowStepInput!]!) { job { submit(steps: $steps) { id } } }`,
      {
        steps: [
          { step: 'long', funcName: 'handlers.work', args: { file, ms: 60_000 }, cluster: testing },
          { step: 'after', funcName: 'handlers.touch', args: { file }, dependsOn: ['long'], cluster: testing },
        ],
      },
    );
    const jobId = submitted.job.submit.id;
    await eventually(async () => ((await job(jobId)).status === 'RUNNING' ? true : undefined), 20_000, 'the long step to start');
    const answer = await ok<{ job: { cancel: { status: string } } }>('mutation ($id: ID!) { job { cancel(id: $id) { status } } }', { id: jobId });
    expect(answer.job.cancel.status).toBe('CANCELLED');
    const cancelled = await eventually(async () => {
      const view = await job(jobId);
      return view.progress.stopped === 2 ? view : undefined;
    }, 20_000, 'both steps to be stopped');
    expect(runsOf(cancelled).map((run) => run.reason)).toEqual(['job cancelled', 'job cancelled']);
    // The running handler's signal fired (it wrote the .aborted file); the dependent never ran.
    expect(existsSync(`${file}.aborted`)).toBe(true);
    expect(fixture.records('cancel')).toHaveLength(1);
  }, 60_000);

  it('a run that no runner takes becomes DID_NOT_START at its expiry; a finished one keeps its status', async () => {
    const create = async (funcName: string, timeout: number, file?: string) =>
      (await ok<{ task: { create: string } }>(
        'mutation ($f: String!, $args: JSON, $o: TaskOptions) { task { create(funcName: $f, args: $args, options: $o) } }',
        { f: funcName, args: file ? { file } : [], o: { cluster: testing, timeout } },
      )).task.create;
    const neverTaken = await create('handlers.nobody_has_this', 2);
    const quick = await create('handlers.touch', 3, fixture.file('expiry'));
    const expired = await eventually(async () => {
      const { task } = await ok<{ task: { status: string; reason: string | null } }>('query ($id: ID!) { task(id: $id) { status reason } }', { id: neverTaken });
      return task.status === 'DID_NOT_START' ? task : undefined;
    }, 20_000, 'the untaken run to expire');
    expect(expired.reason).toContain('expiry');
    // Past the quick run's own expiry and a few sweeps later, its final status stands.
    await new Promise((resolve) => setTimeout(resolve, 6000));
    const { task } = await ok<{ task: { status: string } }>('query ($id: ID!) { task(id: $id) { status } }', { id: quick });
    expect(task.status).toBe('COMPLETED');
  }, 60_000);

  it('refuses bad jobs with clear errors and creates nothing', async () => {
    const total = async () => (await ok<{ statistics: { total: number } }>('{ statistics { total } }')).statistics.total;
    const before = await total();
    const submit = (steps: object[]) => gql('mutation ($steps: [FlowStepInput!]!) { job { submit(steps: $steps) { id } } }', { steps });
    const cases: Array<[object[], string]> = [
      [[{ step: 'a', funcName: 'handlers.touch', cluster: 'no-such-cluster' }], "no cluster has slug 'no-such-cluster'"],
      [[{ step: 'a', funcName: 'handlers.touch', dependsOn: ['b'] }, { step: 'b', funcName: 'handlers.touch', dependsOn: ['a'] }], 'cycle'],
      [[{ step: 'a', funcName: 'handlers.touch', dependsOn: ['ghost'] }], "unknown step 'ghost'"],
      [[{ step: 'a', funcName: 'handlers.touch' }, { step: 'b', task: 'no_such_definition' }], "no task definition is named 'no_such_definition'"],
    ];
    for (const [steps, message] of cases) {
      const answer = await submit(steps);
      expect(answer.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      expect(answer.errors?.[0]?.message).toContain(message);
    }
    // A deleted cluster: runs can no longer target it; a cluster with pending runs cannot be deleted.
    const gone = (await ok<{ cluster: { create: { slug: string } } }>('mutation { cluster { create(name: "short-lived") { slug } } }')).cluster.create.slug;
    await ok('mutation ($slug: String!) { cluster { delete(slug: $slug) } }', { slug: gone });
    const late = await gql('mutation ($c: String) { task { create(funcName: "handlers.touch", options: { cluster: $c }) } }', { c: gone });
    expect(late.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(late.errors?.[0]?.message).toContain(`no cluster has slug '${gone}'`);
    expect(await total()).toBe(before);

    const busy = (await ok<{ cluster: { create: { slug: string } } }>('mutation { cluster { create(name: "busy") { slug } } }')).cluster.create.slug;
    await ok('mutation ($c: String) { task { create(funcName: "handlers.touch", options: { cluster: $c }) } }', { c: busy });
    const refused = await gql('mutation ($slug: String!) { cluster { delete(slug: $slug) } }', { slug: busy });
    expect(refused.errors?.[0]?.extensions?.code).toBe('CONFLICT');
    expect(refused.errors?.[0]?.message).toContain('pending or running');
    expect((await ok<{ cluster: { slug: string } | null }>('query ($s: String!) { cluster(slug: $s) { slug } }', { s: busy })).cluster?.slug).toBe(busy);
  }, 60_000);
});
