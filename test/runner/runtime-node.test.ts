import { existsSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TaskplaneClient } from '../../src/client/taskplane-client.js';
import { ClusterFixture, eventually } from '../nodes/cluster-fixture.js';
import { startNodeProcess, type NodeProcess } from '../nodes/node-process.js';
import { BAD_MODULE, processAlive } from './runtime-stand.js';

/**
 * Runtimes end to end, the way an operator uses them: a real node process whose config file
 * names `runtime` and `run_timeout` per task and node-wide, on the test FerretDB shards and
 * Redis, driven through GraphQL. Proves the keys travel from the file (or a `task.create`
 * option) through the definition and the stored run to the runner, and that SIGTERM's drain
 * kills a child that ignores its signal.
 */

const fixture = new ClusterFixture('runtimes');
let node: NodeProcess;
let client: TaskplaneClient;
let nodeConfig: object;
const notePids = (name: string) =>
  existsSync(fixture.file(name)) ? readFileSync(fixture.file(name), 'utf8').split('\n').filter(Boolean).map((line) => Number(line.split(' ').at(-1))) : [];

beforeAll(async () => {
  await fixture.start();
  fixture.tasks = {
    stuck: { kind: 'single_shot', func_name: 'bad.hang', runtime: 'process', run_timeout: 1, args: { file: fixture.file('stuck') } },
    plain: { kind: 'single_shot', func_name: 'bad.pid' },
  };
  nodeConfig = {
    ...fixture.config({ id: 'rt-1', roles: ['api', 'scheduler', 'storage', 'runner'], listen: '127.0.0.1:0', runner: { abort_grace_ms: 500, drain_grace_ms: 200 } }),
    modules: { bad: BAD_MODULE },
    task_runner: { runtime: 'inline', run_timeout: 30 },
  };
  node = await startNodeProcess({ name: 'rt-1', config: nodeConfig });
  fixture.nodes.set('rt-1', node);
  client = new TaskplaneClient({ url: node.graphqlUrl() });
}, 120_000);

afterAll(async () => {
  await fixture.close();
});

const TASK = `query($id: ID!) { task(id: $id) { status error runtime runTimeout result attempt } }`;
type TaskAnswer = { task: { status: string; error: string | null; runtime: string | null; runTimeout: number | null; result: unknown; attempt: number } };

async function final(id: string): Promise<TaskAnswer['task']> {
  const stored = await fixture.store.wait(id, 30_000);
  if (stored.status === 'pending' || stored.status === 'running') throw new Error(`run ${id} still ${stored.status}:\n${node.logs().slice(-3000)}`);
  return (await client.request<TaskAnswer>(TASK, { id })).task;
}

describe('handler runtimes in a node process', () => {
  it('reads runtime and run_timeout from a task in the config file, and applies them to its runs', async () => {
    const { taskDefinition } = await client.request<{ taskDefinition: { runtime: string | null; runTimeout: number | null } }>(
      'query { taskDefinition(name: "stuck") { runtime runTimeout } }',
    );
    expect(taskDefinition).toEqual({ runtime: 'PROCESS', runTimeout: 1 });
    const id = await client.start('stuck');
    const task = await final(id);
    expect(task).toMatchObject({ status: 'FAILED', runtime: 'PROCESS', runTimeout: 1 });
    expect(task.error).toMatch(/^run_timeout of 1 s passed; its handler was aborted and it ignored its AbortSignal for 500 ms; its child process \(pid \d+\) was killed with SIGKILL$/);
    // As stored on the shard, not only as the API shows it.
    expect(await fixture.store.get(id)).toMatchObject({ runtime: 'process', runTimeout: 1 });
    const [pid] = notePids('stuck');
    expect(pid).not.toBe(node.pid);
    expect(task.error).toContain(`(pid ${pid})`);
    expect(processAlive(pid!)).toBe(false);
  });

  it('takes the node-wide runtime when a run names none, and task.create options override it', async () => {
    const plain = await final(await client.start('plain'));
    expect(plain).toMatchObject({ status: 'COMPLETED', runtime: null, runTimeout: null, result: { pid: node.pid } });
    const inChild = await final(await client.create('bad.pid', {}, { runtime: 'PROCESS' }));
    expect(inChild).toMatchObject({ status: 'COMPLETED', runtime: 'PROCESS' });
    expect((inChild.result as { pid: number }).pid).not.toBe(node.pid);

    const timedOut = await final(await client.create('bad.stubborn', { ms: 20_000 }, { runTimeout: 0.5 }));
    expect(timedOut).toMatchObject({ status: 'FAILED', runtime: null, runTimeout: 0.5 });
    expect(timedOut.error).toMatch(/^run_timeout of 0\.5 s passed; .* the inline runtime cannot kill it/);
  });

  it('drains on SIGTERM: a child that ignores its signal is killed and its run handed back', async () => {
    const id = await client.create('bad.stubborn', { ms: 600_000, file: fixture.file('drain') }, { runtime: 'PROCESS', runTimeout: 600 });
    const [pid] = await eventually(() => (notePids('drain').length > 0 ? notePids('drain') : undefined), 20_000, 'the handler to start');
    expect(processAlive(pid!)).toBe(true);
    const exit = await node.stop('SIGTERM', 30_000);
    expect(exit).toEqual({ code: 0, signal: null });
    expect(processAlive(pid!)).toBe(false);
    const run = await fixture.store.get(id);
    expect(run).toMatchObject({ status: 'pending', attempt: 0 });
    expect(run?.history.at(-1)?.outcome).toBe('released');
    expect(node.logs()).toMatch(/handler ignored its AbortSignal \(runner shutting down\) for 500 ms; its child process \(pid \d+\) was killed with SIGKILL/);
  });

  it('leaves no child behind when the runner is killed, even one whose handler blocks its event loop', async () => {
    const second = await startNodeProcess({ name: 'rt-2', config: { ...nodeConfig, node: { ...(nodeConfig as { node: object }).node, id: 'rt-2' } } });
    fixture.nodes.set('rt-2', second);
    const secondClient = new TaskplaneClient({ url: second.graphqlUrl() });
    await secondClient.create('bad.spin', { file: fixture.file('spin') }, { runtime: 'PROCESS' });
    const [pid] = await eventually(() => (notePids('spin').length > 0 ? notePids('spin') : undefined), 20_000, 'the busy loop to start');
    expect(processAlive(pid!)).toBe(true);
    await second.stop('SIGKILL', 5000);
    // The child's watchdog thread sees its parent change within a second.
    await eventually(() => (processAlive(pid!) ? undefined : true), 5000, `child ${pid} to exit`, 100);
  });
});
