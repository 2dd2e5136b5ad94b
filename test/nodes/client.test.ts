import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TaskplaneClient, TaskplaneClientError } from '../../src/client/taskplane-client.js';
import { createNode } from '../../src/node/create-node.js';
import type { TaskplaneNode } from '../../src/node/taskplane-node.js';

/** The programmatic API end to end: `createNode` with handlers in code, driven by `TaskplaneClient`. */

let node: TaskplaneNode;
let client: TaskplaneClient;

beforeAll(async () => {
  node = createNode({
    node: { roles: ['api', 'scheduler', 'storage', 'runner'], listen: '127.0.0.1:0', runner: { poll_ms: 100 } },
    tasks: { greet: { kind: 'single_shot', func_name: 'greet', args: ['world'] } },
    handlers: {
      greet: (args) => `hello ${Array.isArray(args) ? String(args[0]) : 'nobody'}`,
      wait: (_args, ctx) => new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(new Error('stopped')))),
    },
    logger: pino({ level: 'silent' }),
  });
  await node.start();
  client = new TaskplaneClient({ url: `http://${node.address}/graphql` });
});

afterAll(() => node.close());

async function until(id: string, status: string): Promise<NonNullable<Awaited<ReturnType<TaskplaneClient['task']>>>> {
  for (let i = 0; i < 100; i++) {
    const task = await client.task(id);
    if (task?.status === status) return task;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`run ${id} never reached ${status}`);
}

describe('createNode + TaskplaneClient', () => {
  it('starts a defined task and an anonymous one and reads their results', async () => {
    const started = await until(await client.start('greet', ['Ada']), 'COMPLETED');
    expect(started.result).toBe('hello Ada');
    expect(started.kind).toBe('SINGLE_SHOT');
    const created = await until(await client.create('greet', ['Bob'], { maxAttempts: 2 }), 'COMPLETED');
    expect(created.result).toBe('hello Bob');
    expect((await client.statistics()).completed).toBeGreaterThanOrEqual(2);
  });

  it('stops a running run, retries and forgets it', async () => {
    const id = await client.create('wait');
    await until(id, 'RUNNING');
    expect(await client.stop(id)).toBe(id);
    await until(id, 'STOPPED');
    expect(await client.retry(id)).toBe(id);
    await until(id, 'RUNNING');
    await client.stop(id);
    await until(id, 'STOPPED');
    expect(await client.forget(id)).toBe(true);
    expect(await client.task(id)).toBeNull();
  });

  it('reports server errors with their code', async () => {
    await expect(client.start('no_such_task')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(client.stop('not-a-uuid')).rejects.toBeInstanceOf(TaskplaneClientError);
    await expect(client.stop('not-a-uuid')).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
  });

  it('refuses a config whose task names a module that is not listed', () => {
    expect(() => createNode({ tasks: { t: { kind: 'single_shot', func_name: 'missing.fn' } }, logger: pino({ level: 'silent' }) })).toThrow(/not listed under modules/);
  });
});
