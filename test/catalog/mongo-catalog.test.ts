import { MongoClient } from 'mongodb';
import { afterAll, describe, expect, it } from 'vitest';
import { CatalogStore } from '../../src/catalog/catalog-store.js';
import { createCatalog } from '../../src/catalog/create-catalog.js';
import { MongoCatalogDatabase } from '../../src/catalog/mongo-catalog-collection.js';
import { ShardUnavailableError } from '../../src/core/errors.js';
import { dropDatabases, testMongoUrls } from '../services/context.js';
import { catalogConformance } from './conformance.js';

// One database set for the file; each conformance test empties it again when it ends.
const urls = testMongoUrls('catalog');
const catalogUrl = urls[0]!;

afterAll(async () => {
  await dropDatabases(urls);
});

catalogConformance('mongodb', async (hooks = {}) => {
  const catalog = new CatalogStore({ database: new MongoCatalogDatabase({ shard: 'shard-0', url: catalogUrl }), ...hooks });
  return {
    catalog,
    dispose: async () => {
      await catalog.close();
      await dropDatabases([catalogUrl]);
    },
  };
});

describe('mongodb catalog', () => {
  it('lives on the first shard, with args encoded and dates as dates', async () => {
    const catalog = createCatalog({ mongo: { shards: urls } });
    const client = new MongoClient(catalogUrl, { serverSelectionTimeoutMS: 2000 });
    try {
      await catalog.start();
      expect(catalog.engine).toBe('mongodb');
      await catalog.putDefinition({ name: 'n', kind: 'single_shot', funcName: 'm.f', args: { 'a.b': [[1]] } }, 'api');
      await catalog.createCluster({ name: 'c', slug: 'c' });
      await catalog.putWorkerGroup({ name: 'g', tags: ['a.b'], tagPriorities: [{ tag: 'a.b', priority: 3 }] });
      const db = client.db();
      const names = (await db.listCollections().toArray()).map((c) => c.name).sort();
      expect(names).toEqual(['catalog_meta', 'clusters', 'definitions', 'worker_groups']);
      // Tag priorities are pairs in an array: a tag never becomes a document key.
      const group = await db.collection<{ _id: string; [key: string]: unknown }>('worker_groups').findOne({ _id: 'g' });
      expect(group).toMatchObject({ tags: ['a.b'], tagPriorities: [{ tag: 'a.b', priority: 3 }], dedicatedHandler: null, initCommand: null });
      expect(group?.updatedAt).toBeInstanceOf(Date);
      const definition = await db.collection<{ _id: string; [key: string]: unknown }>('definitions').findOne({ _id: 'n' });
      expect(definition?.args).toBe('{"a.b":[[1]]}');
      expect(definition?.updatedAt).toBeInstanceOf(Date);
      expect((await db.collection<{ _id: string; [key: string]: unknown }>('clusters').findOne({ _id: 'c' }))?.createdAt).toBeInstanceOf(Date);
      const meta = await db.collection<{ _id: string; [key: string]: unknown }>('catalog_meta').findOne({ _id: 'definitions' });
      expect(meta?.value).toBe(await catalog.version());
    } finally {
      await catalog.close();
      await client.close();
      await dropDatabases([catalogUrl]);
    }
  });

  it('is shared by every node: one slug, one winner; a change shows in the other version', async () => {
    const a = createCatalog({ mongo: { shards: urls } });
    const b = createCatalog({ mongo: { shards: urls } });
    try {
      await Promise.all([a.start(), b.start()]);
      expect((await a.listClusters()).map((c) => c.slug)).toEqual(['default']);
      const outcomes = await Promise.allSettled(
        Array.from({ length: 6 }, (_, i) => (i % 2 === 0 ? a : b).createCluster({ name: `n${i}`, slug: 'contested' })),
      );
      expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
      for (const outcome of outcomes) {
        if (outcome.status === 'rejected') expect(outcome.reason).toMatchObject({ code: 'CONFLICT' });
      }
      const before = await b.version();
      await a.putDefinition({ name: 'n', kind: 'single_shot', funcName: 'm.f' }, 'api');
      expect(await b.version()).not.toBe(before);
      expect((await b.getDefinition('n'))?.source).toBe('api');
    } finally {
      await Promise.all([a.close(), b.close()]);
      await dropDatabases([catalogUrl]);
    }
  });

  it('reports an unreachable server as SHARD_UNAVAILABLE on shard-0', async () => {
    const catalog = createCatalog({ mongo: { shards: ['mongodb://127.0.0.1:1/tp_catalog_down'], serverSelectionTimeoutMs: 300 } });
    try {
      const error = await catalog.start().then(() => null, (thrown: unknown) => thrown);
      expect(error).toBeInstanceOf(ShardUnavailableError);
      expect(error).toMatchObject({ code: 'SHARD_UNAVAILABLE', shard: 'shard-0' });
      await expect(catalog.listDefinitions()).rejects.toMatchObject({ code: 'SHARD_UNAVAILABLE' });
    } finally {
      await catalog.close();
    }
  });
});
