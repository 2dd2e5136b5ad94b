import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LIMITS } from '../../src/core/limits.js';
import type { TaskStore } from '../../src/storage/contract.js';
import { createTaskStore } from '../../src/storage/create-store.js';
import { runner } from './conformance.js';
import { openMongoStore } from './mongo-store.js';

const engines: Array<[string, () => Promise<{ store: TaskStore; dispose(): Promise<void> }>]> = [
  ['embedded', async () => {
    const store = createTaskStore({ embedded: { shards: 3 } });
    await store.start();
    return { store, dispose: () => store.close() };
  }],
  ['mongodb', () => openMongoStore('bad_input')],
];

describe.each(engines)('bad input is refused before anything is written (%s)', (_engine, open) => {
  let store: TaskStore;
  let dispose: () => Promise<void>;
  beforeAll(async () => {
    ({ store, dispose } = await open());
    await store.create({ funcName: 'mod.work', name: 'existing' });
  });
  afterAll(() => dispose());

  const refusals: Array<[string, () => Promise<unknown>, RegExp]> = [
    ['args over the size limit', () => store.create({ funcName: 'mod.work', args: 'x'.repeat(LIMITS.payloadBytes) }), /args: encodes to \d+ bytes, over the limit of 1048576 bytes/],
    ['args that are not JSON', () => store.create({ funcName: 'mod.work', args: { big: 10n } as never }), /args: is not JSON-serialisable/],
    ['an empty name', () => store.create({ funcName: 'mod.work', name: '' }), /name: must not be empty/],
    ['an over-long name', () => store.create({ funcName: 'mod.work', name: 'n'.repeat(201) }), /name: must be at most 200 characters/],
    ['a bad handler name', () => store.create({ funcName: '../etc/passwd' }), /funcName: must be a handler name/],
    ['an unknown option', () => store.create({ funcName: 'mod.work', colour: 'red' } as never), /unknown key\(s\) 'colour'/],
    ['a negative delay', () => store.create({ funcName: 'mod.work', delay: -1 }), /delay must not be negative/],
    ['a fractional maxAttempts', () => store.create({ funcName: 'mod.work', maxAttempts: 1.5 }), /maxAttempts must be an integer/],
    ['a bad cluster slug', () => store.create({ funcName: 'mod.work', cluster: 'Not A Slug' }), /cluster: must be a slug/],
    ['a subtask without its job', () => store.create({ funcName: 'mod.work', parentId: '7b0f8a56-3d0e-4b8c-9f2f-1a2b3c4d5e6f' }), /jobId: is required with parentId/],
    ['one bad run in a batch', () => store.createMany([{ funcName: 'mod.work' }, { funcName: 'mod.work', name: '' }]), /runs\[1\]\.name: must not be empty/],
    ['a batch over the limit', () => store.createMany(Array.from({ length: LIMITS.createBatch + 1 }, () => ({ funcName: 'mod.work' }))), /at most 10000 runs per call/],
    ['an unknown status filter', () => store.select({ status: 'finished' as never }), /filter\.status: unknown status/],
    ['an unknown filter key', () => store.select({ colour: 'red' } as never), /unknown key\(s\) 'colour'/],
    ['a malformed id', () => store.get('not-a-uuid'), /id: must be a UUID/],
    ['a malformed id to stop', () => store.stop('123'), /id: must be a UUID/],
    ['a malformed cursor', () => store.select({}, { after: 'bm90IGEgY3Vyc29y' }), /after: is not a valid cursor/],
    ['a cursor with bad characters', () => store.select({}, { after: '{"v":1}' }), /after: is not a valid cursor \(malformed\)/],
    ['a forged cursor position', () => store.select({}, { after: Buffer.from(JSON.stringify({ v: 1, p: { 'shard-0': [1, 'x'] } })).toString('base64url') }), /bad position for shard shard-0/],
    ['a page too large', () => store.select({}, { first: 100_000 }), /first: must be an integer from 1 to 1000/],
    ['a claim batch too large', () => store.take(runner(), 100_000), /limit: must be an integer from 1 to 1000/],
  ];

  it.each(refusals)('refuses %s with a BAD_USER_INPUT error naming the field', async (_what, call, message) => {
    const before = (await store.statistics()).total.total;
    const error = await call().then(
      () => null,
      (thrown: unknown) => thrown,
    );
    expect(error).toMatchObject({ code: 'BAD_USER_INPUT', name: 'ValidationError' });
    expect((error as Error).message).toMatch(message);
    expect((await store.statistics()).total.total).toBe(before);
  });
});
