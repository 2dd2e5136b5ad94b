import { randomBytes } from 'node:crypto';
import { MongoClient } from 'mongodb';
import { withDatabase } from '../../test/services/database-url.js';
import { redactUrl } from '../../test/services/errors.js';
import { startLocalServices } from '../../test/services/local-services.js';

export const MONGO_ENV = 'TASKPLANE_TEST_MONGO_URLS';

export interface MongoServers {
  /** Base URLs (no database), one per server. */
  readonly baseUrls: readonly string[];
  /** True when the servers come from TASKPLANE_TEST_MONGO_URLS. */
  readonly external: boolean;
  readonly description: string;
  /** Stops the servers this process started (none for external ones). */
  stop(): Promise<void>;
}

function parseMongoEnv(raw: string): string[] {
  const urls = raw.split(',').map((url) => url.trim()).filter((url) => url !== '');
  if (urls.length === 0) throw new Error(`${MONGO_ENV} is set but holds no URL`);
  for (const url of urls) {
    if (!/^mongodb(\+srv)?:\/\//.test(url)) throw new Error(`${MONGO_ENV} entry ${redactUrl(url)} is not a mongodb:// URL`);
  }
  return urls;
}

/** The servers named in TASKPLANE_TEST_MONGO_URLS, else `count` fresh local FerretDB servers. */
export async function acquireMongoServers(count: number): Promise<MongoServers> {
  const raw = process.env[MONGO_ENV]?.trim();
  if (raw) {
    const baseUrls = parseMongoEnv(raw);
    return {
      baseUrls,
      external: true,
      description: `${baseUrls.length} server(s) from ${MONGO_ENV}: ${baseUrls.map(redactUrl).join(',')}`,
      stop: async () => {},
    };
  }
  const local = await startLocalServices({ mongoShards: count, redis: false });
  return { baseUrls: local.mongoUrls, external: false, description: `started ${local.description}`, stop: () => local.stop() };
}

function randomSuffix(): string {
  return BigInt(`0x${randomBytes(5).toString('hex')}`).toString(36).padStart(6, '0').slice(-6);
}

/**
 * One URL per shard on servers `0..shards-1` (cycling if fewer servers were given), each naming a
 * fresh database `tpbench_<config>_<random>_<shard index>`; the index keeps names distinct when
 * two shards share a server.
 */
export function freshDatabaseUrls(baseUrls: readonly string[], config: string, shards: number): string[] {
  const stem = `tpbench_${config}_${randomSuffix()}`;
  return Array.from({ length: shards }, (_, index) =>
    withOption(withDatabase(baseUrls[index % baseUrls.length]!, `${stem}_${index}`), 'socketTimeoutMS', String(SOCKET_TIMEOUT_MS)),
  );
}

/**
 * A command that gets no answer for this long fails the benchmark instead of hanging it (FerretDB
 * 1.24/SQLite never answers an `update` command of 100 or more statements, see storage.ts).
 */
export const SOCKET_TIMEOUT_MS = 60_000;

/** Adds `key=value` to the URL's query unless the URL sets `key` already. */
function withOption(url: string, key: string, value: string): string {
  const query = url.includes('?') ? url.slice(url.indexOf('?')) : '';
  if (new RegExp(`[?&]${key}=`, 'i').test(query)) return url;
  return `${url}${query ? '&' : '?'}${key}=${value}`;
}

/** The database name in a URL built by `freshDatabaseUrls`. */
export function databaseName(url: string): string {
  return /^mongodb(?:\+srv)?:\/\/[^/]*\/([^?]*)/.exec(url)?.[1] ?? '';
}

/** Drops the databases the URLs name; failures are reported, not thrown. */
export async function dropDatabases(urls: readonly string[]): Promise<void> {
  await Promise.all(
    urls.map(async (url) => {
      const client = new MongoClient(url, { serverSelectionTimeoutMS: 3_000, connectTimeoutMS: 3_000, socketTimeoutMS: 10_000 });
      try {
        await client.db().dropDatabase();
      } catch (error) {
        process.stderr.write(`[bench] could not drop ${databaseName(url)}: ${error instanceof Error ? error.message : String(error)}\n`);
      } finally {
        await client.close().catch(() => {});
      }
    }),
  );
}
