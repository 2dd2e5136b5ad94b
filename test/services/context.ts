import { randomBytes } from 'node:crypto';
import { MongoClient } from 'mongodb';
import { inject } from 'vitest';
import { withDatabase } from './database-url.js';

// FerretDB accepts database names matching ^[a-zA-Z0-9_-]{1,63}$.
const MAX_LABEL = 24;

function sanitize(label: string): string {
  const clean = label.toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_+|_+$/g, '');
  return clean.slice(0, MAX_LABEL) || 'test';
}

function randomSuffix(): string {
  // base36 of random bytes keeps the suffix within [a-z0-9].
  return BigInt(`0x${randomBytes(5).toString('hex')}`).toString(36).padStart(6, '0').slice(-6);
}

/** Base URLs (without a database) of the Mongo servers the run uses, one per shard. */
export function baseMongoUrls(): string[] {
  return inject('mongoUrls');
}

/**
 * One URL per shard, each naming a database no other test file or call uses:
 * `tp_<label>_<random>_<shard index>`. The shard index keeps the names distinct
 * even if TASKPLANE_TEST_MONGO_URLS lists the same server twice.
 */
export function testMongoUrls(label: string): string[] {
  const stem = `tp_${sanitize(label)}_${randomSuffix()}`;
  return baseMongoUrls().map((base, index) => withDatabase(base, `${stem}_${index}`));
}

export function testRedisUrl(): string {
  return inject('redisUrl');
}

/** A Redis key prefix unique to this call, e.g. `tp:queue:k3x9a1:`. */
export function testKeyPrefix(label: string): string {
  return `tp:${sanitize(label)}:${randomSuffix()}:`;
}

/** Drops the databases named in `urls`; for afterAll, so servers already down are ignored. */
export async function dropDatabases(urls: readonly string[]): Promise<void> {
  await Promise.all(
    urls.map(async (url) => {
      const client = new MongoClient(url, { serverSelectionTimeoutMS: 2_000, connectTimeoutMS: 2_000 });
      try {
        await client.db().dropDatabase();
      } catch {
        // Cleanup is best effort: a crash test may have left a server down.
      } finally {
        await client.close().catch(() => {});
      }
    }),
  );
}
