import { describe, expect, it } from 'vitest';
import { CatalogStore } from '../../src/catalog/catalog-store.js';
import { createCatalog } from '../../src/catalog/create-catalog.js';
import { MemoryCatalogDatabase } from '../../src/catalog/memory-catalog-collection.js';
import { catalogConformance } from './conformance.js';

catalogConformance('memory', async (hooks = {}) => {
  const catalog = new CatalogStore({ database: new MemoryCatalogDatabase(), ...hooks });
  return { catalog, dispose: () => catalog.close() };
});

describe('memory catalog', () => {
  it('is what createCatalog builds without MongoDB', async () => {
    const catalog = createCatalog({ mongo: null });
    await catalog.start();
    expect(catalog.engine).toBe('memory');
    expect((await catalog.listClusters()).map((c) => c.slug)).toEqual(['default']);
    await catalog.close();
    expect(createCatalog({ mongo: { shards: [] } }).engine).toBe('memory');
  });

  it('hands out copies: changing a returned cluster or args changes nothing stored', async () => {
    const catalog = createCatalog({ mongo: null });
    await catalog.start();
    const args = { list: [1, 2] };
    await catalog.putDefinition({ name: 'n', kind: 'single_shot', funcName: 'm.f', args }, 'api');
    args.list.push(3);
    const read = await catalog.getDefinition('n');
    expect(read?.args).toEqual({ list: [1, 2] });
    ((read?.args as { list: number[] }).list).push(4);
    expect((await catalog.getDefinition('n'))?.args).toEqual({ list: [1, 2] });
    const cluster = await catalog.createCluster({ name: 'c', slug: 'c' });
    (cluster as { name: string }).name = 'changed';
    expect((await catalog.getCluster('c'))?.name).toBe('c');
    await catalog.close();
  });
});
