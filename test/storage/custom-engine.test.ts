import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadStorageEngine } from '../../src/storage/load-engine.js';

const fixtures = fileURLToPath(new URL('../fixtures/', import.meta.url));

describe('custom storage engines', () => {
  it('loads a module that exports createTaskStore and uses it through the contract', async () => {
    const store = await loadStorageEngine('./custom-engine.ts', {}, fixtures);
    expect(store.engine).toBe('custom-test');
    await store.start();
    const run = await store.create({ funcName: 'mod.work', args: { via: 'custom' } });
    expect((await store.get(run.id))?.args).toEqual({ via: 'custom' });
    expect(store.shards).toEqual(['shard-0', 'shard-1']);
    await store.close();
  });

  it('refuses a module that does not implement the contract, naming what is missing', async () => {
    await expect(loadStorageEngine('./broken-engine.ts', {}, fixtures)).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      message: expect.stringMatching(/does not implement the storage contract: missing methods close, create, createMany/),
    });
  });

  it('refuses a module that cannot be loaded or exports no factory', async () => {
    await expect(loadStorageEngine('./missing-engine.js', {}, fixtures)).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      message: expect.stringMatching(/could not be loaded/),
    });
    await expect(loadStorageEngine('../services/free-port.ts', {}, fixtures)).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      message: expect.stringMatching(/does not export a createTaskStore/),
    });
  });
});
