import { Redis } from 'ioredis';
import { redactUrl } from '../../test/services/errors.js';
import { startRedis } from '../../test/services/redis-process.js';

export const REDIS_ENV = 'TASKPLANE_TEST_REDIS_URL';

export interface RedisServer {
  readonly url: string;
  /** True when the server comes from TASKPLANE_TEST_REDIS_URL. */
  readonly external: boolean;
  readonly description: string;
  /** Stops the server this process started (nothing for an external one). */
  stop(): Promise<void>;
}

/** The server named in TASKPLANE_TEST_REDIS_URL, else a fresh local redis-server (no persistence). */
export async function acquireRedis(): Promise<RedisServer> {
  const raw = process.env[REDIS_ENV]?.trim();
  if (raw) {
    if (!/^rediss?:\/\//.test(raw)) throw new Error(`${REDIS_ENV} ${redactUrl(raw)} is not a redis:// URL`);
    return { url: raw, external: true, description: `Redis from ${REDIS_ENV}: ${redactUrl(raw)}`, stop: async () => {} };
  }
  const local = await startRedis();
  return { url: local.url, external: false, description: `started redis-server ${local.url}`, stop: () => local.stop() };
}

/** `redis_version` from INFO, or `unknown` when the server does not say. */
export async function redisVersion(url: string): Promise<string> {
  const client = new Redis(url, { lazyConnect: true, connectTimeout: 3_000, commandTimeout: 3_000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => {});
  try {
    await client.connect();
    return /^redis_version:(\S+)/m.exec(await client.info('server'))?.[1] ?? 'unknown';
  } catch {
    return 'unknown';
  } finally {
    client.disconnect();
  }
}
