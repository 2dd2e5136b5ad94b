import { afterEach, describe, expect, it } from 'vitest';
import type { Handler } from '../../src/core/handler.js';
import { createNode } from '../../src/node/create-node.js';
import type { TaskplaneNode } from '../../src/node/taskplane-node.js';
import { eventually } from './cluster-fixture.js';

/**
 * One embedded node in this process (in-process storage and coordination): the roles' behaviour
 * without the cost of processes. The multi-process file proves the same across real processes.
 */

let node: TaskplaneNode | null = null;

afterEach(async () => {
  await node?.close();
  node = null;
});

const quietLogger = async () => (await import('pino')).pino({ level: 'silent' });

async function startNode(handlers: Record<string, Handler>, extra: { tasks?: object; capacity?: number } = {}): Promise<TaskplaneNode> {
  node = createNode({
    node: {
      roles: ['scheduler', 'storage', 'runner'],
      runner: { poll_ms: 100, drain_grace_ms: 200, abort_grace_ms: 300, ...(extra.capacity ? { capacity: extra.capacity } : {}) },
      scheduler: { lease_ms: 600 },
      storage: { lease_ms: 600, sweep_every_ms: 100 },
    },
    ...(extra.tasks ? { tasks: extra.tasks as never } : {}),
    handlers,
    logger: await quietLogger(),
  });
  await node.start();
  return node;
}

describe('an embedded node', () => {
  it('runs anonymous runs with args and ctx, and records results', async () => {
    const seen: Array<{ args: unknown; attempt: number; name: string }> = [];
    const n = await startNode({ echo: (args, ctx) => (seen.push({ args, attempt: ctx.attempt, name: ctx.name }), { got: args }) });
    const run = await n.store.create({ funcName: 'echo', args: { a: 1 } });
    const done = await n.store.wait(run.id, 5000);
    expect(done.status).toBe('completed');
    expect(done.result).toEqual({ got: { a: 1 } });
    expect(seen).toEqual([{ args: { a: 1 }, attempt: 1, name: 'echo' }]);
  });

  it('retries a failing handler and records the last error; non-Errors and unserialisable results fail clearly', async () => {
    let calls = 0;
    const n = await startNode({
      flaky: () => {
        calls++;
        throw new Error(`boom ${calls}`);
      },
      throwsString: () => {
        throw 'just a string';
      },
      returnsBigInt: () => 10n,
    });
    const flaky = await n.store.create({ funcName: 'flaky', maxAttempts: 3, delay: 0 });
    const failed = await n.store.wait(flaky.id, 10_000);
    expect(failed.status).toBe('failed');
    expect(failed.attempt).toBe(3);
    expect(failed.error?.message).toBe('boom 3');
    expect(failed.history.map((h) => h.outcome)).toEqual(['retry', 'retry', 'failed']);

    const stringy = await n.store.wait((await n.store.create({ funcName: 'throwsString' })).id, 5000);
    expect(stringy.status).toBe('failed');
    expect(stringy.error?.message).toContain('just a string');

    const bigint = await n.store.wait((await n.store.create({ funcName: 'returnsBigInt' })).id, 5000);
    expect(bigint.status).toBe('failed');
    expect(bigint.error?.message).toMatch(/JSON/);
  });

  it('runs at most capacity handlers at once', async () => {
    let running = 0;
    let peak = 0;
    const n = await startNode(
      {
        slow: async () => {
          running++;
          peak = Math.max(peak, running);
          await new Promise((resolve) => setTimeout(resolve, 100));
          running--;
        },
      },
      { capacity: 2 },
    );
    const created = await n.store.createMany(Array.from({ length: 8 }, () => ({ funcName: 'slow' })));
    for (const { id } of created) expect((await n.store.wait(id, 10_000)).status).toBe('completed');
    expect(peak).toBe(2);
  });

  it('stops a handler that ignores its signal once the abort grace has passed, and frees its slot', async () => {
    const n = await startNode({ stubborn: () => new Promise(() => {}), quick: () => 'ok' }, { capacity: 1 });
    const stubborn = await n.store.create({ funcName: 'stubborn' });
    await eventually(async () => ((await n.store.get(stubborn.id))?.status === 'running' ? true : undefined), 5000, 'running');
    await n.store.stop(stubborn.id);
    expect((await n.store.wait(stubborn.id, 3000)).status).toBe('stopped');
    const quick = await n.store.create({ funcName: 'quick' });
    expect((await n.store.wait(quick.id, 3000)).status).toBe('completed');
  });

  it('hands running runs back to pending on close without spending the attempt', async () => {
    const n = await startNode({ forever: (_args, ctx) => new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(new Error('aborted')))) });
    const run = await n.store.create({ funcName: 'forever' });
    await eventually(async () => ((await n.store.get(run.id))?.status === 'running' ? true : undefined), 5000, 'running');
    // Keep the store readable after close: read through a second look before closing.
    const store = n.store;
    await n.runner!.drain(100);
    const after = await store.get(run.id);
    expect(after?.status).toBe('pending');
    expect(after?.attempt).toBe(0);
    expect(after?.history.at(-1)?.outcome).toBe('released');
  });

  it('fires periodical and restarts continuous definitions, and picks up a definition added at runtime', async () => {
    const n = await startNode(
      { noop: () => null },
      { tasks: { beat: { kind: 'periodical', func_name: 'noop', schedule: '* * * * * *' }, loop: { kind: 'continuous', func_name: 'noop', pause_sec: 0.2 } } },
    );
    await eventually(async () => ((await n.store.statistics({ name: 'beat' })).total.completed >= 2 ? true : undefined), 5000, 'two ticks');
    await eventually(async () => ((await n.store.statistics({ name: 'loop' })).total.completed >= 3 ? true : undefined), 5000, 'three loops');
    await n.catalog.putDefinition({ name: 'late', kind: 'periodical', funcName: 'noop', schedule: '* * * * * *' }, 'api');
    await n.coordinator.publish('definitions', {});
    await eventually(async () => ((await n.store.statistics({ name: 'late' })).total.completed >= 1 ? true : undefined), 5000, 'the new definition to fire');
  });
});
