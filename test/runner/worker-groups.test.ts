import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { CatalogStore } from '../../src/catalog/catalog-store.js';
import type { WorkerGroupConfig } from '../../src/catalog/contract.js';
import { createCatalog } from '../../src/catalog/create-catalog.js';
import { WORKER_GROUPS_CHANNEL } from '../../src/catalog/worker-groups.js';
import { MemoryCoordinator } from '../../src/coordination/memory-coordinator.js';
import type { Handler } from '../../src/core/handler.js';
import { UnknownClusterError } from '../../src/runner/check-cluster.js';
import { effectiveRouting } from '../../src/runner/effective-routing.js';
import { InitCommandError } from '../../src/runner/init-command.js';
import { Runner, type RunnerOptions } from '../../src/runner/runner.js';
import { createTaskStore } from '../../src/storage/create-store.js';
import { eventually } from '../nodes/cluster-fixture.js';

/**
 * A runner following its worker group's config, in one process over the embedded engine, the
 * in-process coordinator and a memory catalog: the rules without the cost of processes. The
 * multi-process file (test/nodes/routing.test.ts) proves the same across real processes.
 */

const group = (config: Partial<WorkerGroupConfig>): WorkerGroupConfig => ({
  name: 'g', tags: [], tagPriorities: [], dedicatedHandler: null, initCommand: null, updatedAt: new Date(0), ...config,
});

describe('effective routing', () => {
  const own = { tags: ['mine', 'default'], ownTags: ['mine'], handlers: ['m.a', 'm.b'] };

  it('uses the runner\'s own tags and handlers without a config, or a config without tags', () => {
    expect(effectiveRouting(own, null)).toEqual({ tags: ['mine', 'default'], levels: [['mine', 'default']], handlers: ['m.a', 'm.b'], dedicatedHandler: null, problem: null });
    expect(effectiveRouting(own, group({})).tags).toEqual(['mine', 'default']);
  });

  it('takes the group\'s tags plus explicitly set own tags, never the implied default', () => {
    expect(effectiveRouting(own, group({ tags: ['x', 'mine'] })).tags).toEqual(['x', 'mine']);
    expect(effectiveRouting({ ...own, tags: ['default'], ownTags: null }, group({ tags: ['x'] })).tags).toEqual(['x']);
    expect(effectiveRouting({ ...own, tags: ['default'], ownTags: ['default'] }, group({ tags: ['x'] })).tags).toEqual(['x', 'default']);
  });

  it('orders claim levels by tag priority, one level when priorities do not differ', () => {
    const tags = ['a', 'b', 'c', 'd'];
    const own = { tags: ['default'], ownTags: null, handlers: ['m.a'] };
    expect(effectiveRouting(own, group({ tags, tagPriorities: [{ tag: 'c', priority: 5 }, { tag: 'a', priority: -1 }, { tag: 'b', priority: 5 }] })).levels).toEqual([['b', 'c'], ['d'], ['a']]);
    expect(effectiveRouting(own, group({ tags, tagPriorities: [{ tag: 'z', priority: 9 }] })).levels).toEqual([tags]);
    expect(effectiveRouting(own, group({ tags: ['a'], tagPriorities: [{ tag: 'a', priority: 3 }] })).levels).toEqual([['a']]);
  });

  it('registers only the dedicated handler, or none with a problem when the runner lacks it', () => {
    expect(effectiveRouting(own, group({ dedicatedHandler: 'm.b' }))).toMatchObject({ handlers: ['m.b'], dedicatedHandler: 'm.b', problem: null });
    const missing = effectiveRouting(own, group({ dedicatedHandler: 'm.c' }));
    expect(missing).toMatchObject({ handlers: [], dedicatedHandler: 'm.c' });
    expect(missing.problem).toBe(
      "worker group 'g' dedicates its runners to handler 'm.c', which this runner does not have (its handlers: m.a, m.b); it registers no handlers and claims nothing until the group's config or the runner's modules change",
    );
  });
});

describe('a runner following its worker group', () => {
  const open: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const close of open.splice(0).reverse()) await close();
  });

  async function stand(handlers: Record<string, Handler>, options: Partial<RunnerOptions> = {}) {
    const store = createTaskStore({ embedded: { shards: 2 } });
    const coordinator = new MemoryCoordinator();
    const catalog: CatalogStore = createCatalog({ mongo: null });
    await Promise.all([store.start(), coordinator.start(), catalog.start()]);
    const lines: Array<Record<string, unknown>> = [];
    const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
    const runner = new Runner({
      store, coordinator, catalog, log, id: 'runner-1', node: 'node-1', cluster: 'default', group: 'g', tags: ['default'],
      handlers: new Map(Object.entries(handlers)), capacity: 1, pollMs: 100, drainGraceMs: 100, heartbeatMs: 200, groupCheckMs: 200,
      ...options,
    });
    open.push(async () => {
      await runner.close();
      await Promise.all([store.close(), coordinator.close(), catalog.close()]);
    });
    const logged = (msg: string) => lines.filter((line) => line['msg'] === msg);
    return { store, coordinator, catalog, runner, lines, logged };
  }

  const done: Handler = () => 'ok';

  it('claims runs of higher-priority tags first', async () => {
    const order: string[] = [];
    const s = await stand({ 'm.record': (args) => void order.push((args as { tag: string }).tag) });
    await s.catalog.putWorkerGroup({ name: 'g', tags: ['low', 'high'], tagPriorities: [{ tag: 'high', priority: 10 }] });
    const low = await s.store.create({ funcName: 'm.record', tag: 'low', args: { tag: 'low' } });
    const high = await s.store.create({ funcName: 'm.record', tag: 'high', args: { tag: 'high' } });
    await s.runner.start();
    expect((await s.store.wait(low.id, 5000)).status).toBe('completed');
    expect((await s.store.wait(high.id, 5000)).status).toBe('completed');
    // Capacity 1: the first claim decides the order.
    expect(order).toEqual(['high', 'low']);
  });

  it('claims only the group\'s dedicated handler, and nothing when it lacks it; the heartbeat says so', async () => {
    const s = await stand({ 'm.a': done, 'm.b': done });
    await s.catalog.putWorkerGroup({ name: 'g', dedicatedHandler: 'm.b' });
    await s.runner.start();
    const a = await s.store.create({ funcName: 'm.a' });
    const b = await s.store.create({ funcName: 'm.b' });
    expect((await s.store.wait(b.id, 5000)).status).toBe('completed');
    const info = await eventually(async () => (await s.coordinator.members('runner'))[0]?.info as Record<string, unknown> | undefined, 2000, 'a heartbeat');
    expect(info).toMatchObject({ group: 'g', handlers: ['m.b'], dedicatedHandler: 'm.b' });

    await s.catalog.putWorkerGroup({ name: 'g', dedicatedHandler: 'm.c' });
    await s.coordinator.publish(WORKER_GROUPS_CHANNEL, { name: 'g' });
    await eventually(() => (s.runner.identity.handlers.length === 0 ? true : undefined), 2000, 'no handlers');
    expect(s.logged("worker group 'g' dedicates its runners to handler 'm.c', which this runner does not have (its handlers: m.a, m.b); it registers no handlers and claims nothing until the group's config or the runner's modules change")).toHaveLength(1);
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect((await s.store.get(a.id))?.status).toBe('pending');

    await s.catalog.deleteWorkerGroup('g');
    await s.coordinator.publish(WORKER_GROUPS_CHANNEL, { name: 'g' });
    expect((await s.store.wait(a.id, 5000)).status).toBe('completed');
  });

  it('follows a change without a message, through the periodic re-read', async () => {
    const s = await stand({ 'm.a': done });
    await s.runner.start();
    expect(s.runner.identity.tags).toEqual(['default']);
    // Stored without a message: the re-read every groupCheckMs finds it.
    await s.catalog.putWorkerGroup({ name: 'g', tags: ['x'] });
    await eventually(() => (s.runner.identity.tags.join() === 'x' ? true : undefined), 2000, 'the runner to listen to x');
    const x = await s.store.create({ funcName: 'm.a', tag: 'x' });
    expect((await s.store.wait(x.id, 5000)).status).toBe('completed');
    expect(s.logged("worker group has no stored config; using the runner's own tags and handlers")).toHaveLength(1);
    expect(s.logged('following the worker group config')).toHaveLength(1);
  });

  it('refuses to start in a cluster that does not exist, naming the existing ones', async () => {
    const s = await stand({ 'm.a': done }, { cluster: 'nowhere' });
    await s.catalog.createCluster({ name: 'other', slug: 'other' });
    const error = await s.runner.start().then(() => null, (thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(UnknownClusterError);
    expect((error as Error).message).toMatch(/^runner cluster 'nowhere' \(RUNNER_CLUSTER or node\.runner\.cluster\) does not exist; existing clusters: default, other\. /);
    expect((error as UnknownClusterError).code).toBe('CONFIG_INVALID');
    expect(await s.coordinator.members('runner')).toEqual([]);
  });

  it('runs the init command once before claiming when allowed, logging its output line by line', async () => {
    const s = await stand({ 'm.a': done }, { allowInitCommand: true });
    await s.catalog.putWorkerGroup({ name: 'g', initCommand: 'echo "one $((40 + 2))"; echo two >&2' });
    await s.store.create({ funcName: 'm.a' });
    await s.runner.start();
    const output = s.logged('init command output').map((line) => [line['stream'], line['line']]);
    expect(output).toContainEqual(['stdout', 'one 42']);
    expect(output).toContainEqual(['stderr', 'two']);
    const msgs = s.lines.map((line) => line['msg']);
    expect(msgs.indexOf('init command finished')).toBeLessThan(msgs.indexOf('runner started'));
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(s.logged('running the worker group init command')).toHaveLength(1);
  });

  it('skips the init command with a warning when its config does not allow it', async () => {
    const s = await stand({ 'm.a': done });
    await s.catalog.putWorkerGroup({ name: 'g', initCommand: 'echo should-not-run' });
    await s.runner.start();
    expect(s.logged('init command output')).toEqual([]);
    expect(s.lines.some((line) => line['level'] === 40 && /names an init command, but this runner's config does not allow init commands .*skipped it/.test(String(line['msg'])))).toBe(true);
  });

  it('fails the start when the init command fails or runs too long, with the command, exit code and last lines', async () => {
    const failing = await stand({ 'm.a': done }, { allowInitCommand: true });
    await failing.catalog.putWorkerGroup({ name: 'g', initCommand: 'for i in 1 2 3; do echo "line $i"; done; exit 3' });
    const run = await failing.store.create({ funcName: 'm.a' });
    const error = await failing.runner.start().then(() => null, (thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(InitCommandError);
    expect(error).toMatchObject({ exitCode: 3, lastLines: ['line 1', 'line 2', 'line 3'] });
    expect((error as Error).message).toMatch(/^init command of worker group 'g' exited with code 3 \(command: for i in 1 2 3; do echo "line \$i"; done; exit 3\)\. Last output:\n {2}line 1\n {2}line 2\n {2}line 3\nThe runner stops\./);
    expect((await failing.store.get(run.id))?.status).toBe('pending');

    const slow = await stand({ 'm.a': done }, { allowInitCommand: true, initCommandTimeoutMs: 300 });
    await slow.catalog.putWorkerGroup({ name: 'g', initCommand: 'echo starting; sleep 30' });
    const startedAt = Date.now();
    const timeout = await slow.runner.start().then(() => null, (thrown: unknown) => thrown);
    expect((timeout as Error).message).toMatch(/^init command of worker group 'g' did not finish within 300 ms and was killed \(command: echo starting; sleep 30\)\. Last output:\n {2}starting\n/);
    expect(Date.now() - startedAt).toBeLessThan(10_000);
  });
});
