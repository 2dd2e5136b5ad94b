import { startFerretDb } from './ferretdb-process.js';
import type { FerretDbProcess } from './ferretdb-process.js';
import { FERRETDB_VERSION } from './provision.js';
import { startRedis } from './redis-process.js';
import type { RedisProcess } from './redis-process.js';

export const DEFAULT_MONGO_SHARDS = 3;

export interface LocalServiceRequest {
  /** Number of FerretDB servers; 0 starts none. */
  mongoShards: number;
  redis: boolean;
}

export interface LocalServices {
  mongo: FerretDbProcess[];
  redis: RedisProcess | undefined;
  mongoUrls: string[];
  redisUrl: string | undefined;
  /** Human-readable summary for a one-line log. */
  description: string;
  stop(): Promise<void>;
}

async function stopAll(servers: readonly { stop(): Promise<void> }[]): Promise<void> {
  await Promise.allSettled(servers.map((server) => server.stop()));
}

/** Starts the requested servers in parallel; if any fails, stops the rest and rethrows. */
export async function startLocalServices(request: LocalServiceRequest): Promise<LocalServices> {
  const mongoStarts = Array.from({ length: request.mongoShards }, () => startFerretDb());
  const redisStart = request.redis ? startRedis() : Promise.resolve(undefined);
  const [mongoResults, redisResult] = await Promise.all([Promise.allSettled(mongoStarts), Promise.allSettled([redisStart])]);
  const results = [...mongoResults, ...redisResult];
  const failure = results.find((r) => r.status === 'rejected');
  if (failure) {
    const started = results.flatMap((r) => (r.status === 'fulfilled' && r.value ? [r.value] : []));
    await stopAll(started);
    throw failure.reason;
  }
  const mongo = mongoResults.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const redis = redisResult[0]?.status === 'fulfilled' ? redisResult[0].value : undefined;
  const parts = [
    ...(mongo.length > 0 ? [`${mongo.length}x FerretDB ${FERRETDB_VERSION}/SQLite ${mongo.map((m) => m.url).join(',')}`] : []),
    ...(redis ? [`redis-server ${redis.url}`] : []),
  ];
  return {
    mongo,
    redis,
    mongoUrls: mongo.map((m) => m.url),
    redisUrl: redis?.url,
    description: parts.join('; '),
    stop: () => stopAll([...mongo, ...(redis ? [redis] : [])]),
  };
}
