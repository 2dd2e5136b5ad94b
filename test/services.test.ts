// Proves the test infrastructure itself: every injected server really works,
// and a FerretDB shard can be crashed and restarted with its data intact.
import { Redis } from 'ioredis';
import { MongoClient, MongoServerError } from 'mongodb';
import { afterAll, describe, expect, it } from 'vitest';
import { dropDatabases, testKeyPrefix, testMongoUrls, testRedisUrl } from './services/context.js';
import { startFerretDb } from './services/processes.js';
import type { FerretDbProcess } from './services/processes.js';

const DUPLICATE_KEY = 11000;

async function withClient<T>(url: string, fn: (client: MongoClient) => Promise<T>, timeoutMs = 10_000): Promise<T> {
  const client = new MongoClient(url, { serverSelectionTimeoutMS: timeoutMs, connectTimeoutMS: timeoutMs });
  try {
    return await fn(client);
  } finally {
    await client.close();
  }
}

describe('injected Mongo servers', () => {
  const urls = testMongoUrls('services');
  afterAll(() => dropDatabases(urls));

  it('gives every shard its own database', () => {
    expect(urls.length).toBeGreaterThan(0);
    const names = urls.map((url) => url.split('?')[0]?.split('/').pop());
    expect(names.every((name) => name !== undefined && /^tp_services_[a-z0-9]{6}_\d$/.test(name))).toBe(true);
    expect(new Set(names).size).toBe(urls.length);
  });

  it.each(urls.map((url, shard) => ({ url, shard })))('shard $shard round-trips a document', async ({ url, shard }) => {
    await withClient(url, async (client) => {
      const tasks = client.db().collection<{ _id: string; shard: number }>('tasks');
      await tasks.insertOne({ _id: 'a', shard });
      expect(await tasks.findOne({ _id: 'a' })).toEqual({ _id: 'a', shard });
    });
  });

  it.each(urls.map((url, shard) => ({ url, shard })))('shard $shard enforces unique indexes with code 11000', async ({ url }) => {
    await withClient(url, async (client) => {
      const names = client.db().collection<{ name: string }>('names');
      await names.createIndex({ name: 1 }, { unique: true });
      await names.insertOne({ name: 'x' });
      const error: unknown = await names.insertOne({ name: 'x' }).catch((err: unknown) => err);
      expect(error).toBeInstanceOf(MongoServerError);
      expect((error as MongoServerError).code).toBe(DUPLICATE_KEY);
    });
  });
});

describe('injected Redis server', () => {
  it('answers PING and SET/GET under a unique prefix', async () => {
    const redis = new Redis(testRedisUrl(), { maxRetriesPerRequest: 1 });
    const prefix = testKeyPrefix('services');
    try {
      expect(await redis.ping()).toBe('PONG');
      await redis.set(`${prefix}greeting`, 'hello', 'EX', 60);
      expect(await redis.get(`${prefix}greeting`)).toBe('hello');
      await redis.del(`${prefix}greeting`);
    } finally {
      redis.disconnect();
    }
  });
});

describe('startFerretDb', () => {
  let server: FerretDbProcess | undefined;
  afterAll(() => server?.stop());

  it('survives SIGKILL and restart with its data', async () => {
    server = await startFerretDb();
    const url = `${server.url}tp_restart`;
    const kept = (client: MongoClient) => client.db().collection<{ _id: number; note: string }>('kept');
    await withClient(url, (client) => kept(client).insertOne({ _id: 1, note: 'before crash' }));

    await server.kill('SIGKILL');
    await expect(withClient(url, (client) => client.db('admin').command({ ping: 1 }), 500)).rejects.toThrow();

    await server.restart();
    const found = await withClient(url, (client) => kept(client).findOne({ _id: 1 }));
    expect(found).toEqual({ _id: 1, note: 'before crash' });
  });
});
