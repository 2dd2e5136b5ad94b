import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createCatalog } from '../../src/catalog/create-catalog.js';
import type { Catalog } from '../../src/catalog/contract.js';
import { Launcher, UnknownTaskError } from '../../src/catalog/launcher.js';
import { createTaskStore } from '../../src/storage/create-store.js';
import type { TaskStore } from '../../src/storage/contract.js';

describe('launcher', () => {
  let store: TaskStore;
  let catalog: Catalog;
  let launcher: Launcher;

  beforeEach(async () => {
    store = createTaskStore();
    catalog = createCatalog({ mongo: null });
    await Promise.all([store.start(), catalog.start()]);
    launcher = new Launcher(store, catalog);
  });
  afterEach(async () => {
    await Promise.all([store.close(), catalog.close()]);
  });

  it("starts a definition by name with the definition's fields", async () => {
    await catalog.putDefinition(
      {
        name: 'my_flush', kind: 'single_shot', funcName: 'my_module.cache_flush', args: ['a', 'b'], timeToResolve: 5,
        maxAttempts: 3, delay: 8, delayFactor: 1.5, timeout: 600, priority: 4, cluster: 'gpu-ab12cd', tag: 'gpu',
      },
      'api',
    );
    const run = await launcher.start('my_flush');
    expect(run).toMatchObject({
      name: 'my_flush', funcName: 'my_module.cache_flush', kind: 'single_shot', status: 'pending', args: ['a', 'b'],
      timeToResolve: 5, maxAttempts: 3, delay: 8, delayFactor: 1.5, timeout: 600, priority: 4, cluster: 'gpu-ab12cd', tag: 'gpu',
    });
    expect(await store.get(run.id)).toEqual(run);

    const overridden = await launcher.start('my_flush', { x: 1 }, { priority: -1, cluster: 'default', maxAttempts: 1 });
    expect(overridden).toMatchObject({ args: { x: 1 }, priority: -1, cluster: 'default', maxAttempts: 1, timeToResolve: 5 });
  });

  it('fills what the definition leaves out with the storage defaults', async () => {
    await catalog.putDefinition({ name: 'plain', kind: 'single_shot', funcName: 'm.f' }, 'api');
    expect(await launcher.start('plain')).toMatchObject({ args: [], cluster: 'default', tag: 'default', maxAttempts: 1, timeToResolve: 60 });
  });

  it('expands $args[...] in the tag', async () => {
    await catalog.putDefinition({ name: 'regional', kind: 'single_shot', funcName: 'm.f', tag: 'normal-$args[region]' }, 'api');
    expect((await launcher.start('regional', { region: 'eu' })).tag).toBe('normal-eu');
    expect((await launcher.start('regional', { region: 7 })).tag).toBe('normal-7');
    await expect(launcher.start('regional', { other: 'x' })).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    await expect(launcher.start('regional', ['eu'])).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
  });

  it('records a start of an unknown name as an unknown task run', async () => {
    const error = await launcher.start('nobody', ['x']).then(() => null, (thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(UnknownTaskError);
    expect(error).toMatchObject({ code: 'NOT_FOUND' });
    const recorded = await store.get((error as UnknownTaskError).runId);
    expect(recorded).toMatchObject({ name: 'nobody', status: 'unknown task', args: ['x'], reason: "no task definition named 'nobody'" });
    expect(recorded?.finishedAt).toBeInstanceOf(Date);
  });

  it('creates anonymous runs by handler name', async () => {
    const run = await launcher.create('my_module.job', { a: 1 }, { timeToResolve: 5, maxAttempts: 3, cluster: 'gpu-ab12cd', tag: 'gpu', priority: 5 });
    expect(run).toMatchObject({
      name: 'my_module.job', funcName: 'my_module.job', kind: 'anonymous', status: 'pending', args: { a: 1 },
      timeToResolve: 5, maxAttempts: 3, cluster: 'gpu-ab12cd', tag: 'gpu', priority: 5,
    });
    expect(await store.get(run.id)).toEqual(run);
    expect((await launcher.create('m.f')).args).toEqual([]);
  });
});
