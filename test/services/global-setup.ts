import type { TestProject } from 'vitest/node';
import { redactUrl } from './errors.js';
import { DEFAULT_MONGO_SHARDS, startLocalServices } from './local-services.js';
import { assertMongoAnswers, assertRedisAnswers } from './reachability.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Base URLs (no database) of the Mongo-protocol servers, one per shard. */
    mongoUrls: string[];
    redisUrl: string;
  }
}

const MONGO_ENV = 'TASKPLANE_TEST_MONGO_URLS';
const REDIS_ENV = 'TASKPLANE_TEST_REDIS_URL';

function parseMongoEnv(raw: string): string[] {
  const urls = raw.split(',').map((u) => u.trim()).filter((u) => u !== '');
  if (urls.length === 0) throw new Error(`${MONGO_ENV} is set but holds no URL`);
  for (const url of urls) {
    if (!/^mongodb(\+srv)?:\/\//.test(url)) {
      throw new Error(`${MONGO_ENV} entry ${redactUrl(url)} is not a mongodb:// URL`);
    }
  }
  return urls;
}

/**
 * Uses servers named in the environment, else starts local ones. It never
 * lets tests skip: without servers the whole run fails here, loudly.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const mongoEnv = process.env[MONGO_ENV]?.trim() || undefined;
  const redisEnv = process.env[REDIS_ENV]?.trim() || undefined;
  const externalMongo = mongoEnv === undefined ? [] : parseMongoEnv(mongoEnv);

  await Promise.all([
    ...externalMongo.map((url) => assertMongoAnswers(url, MONGO_ENV)),
    ...(redisEnv === undefined ? [] : [assertRedisAnswers(redisEnv, REDIS_ENV)]),
  ]);
  const local = await startLocalServices({
    mongoShards: mongoEnv === undefined ? DEFAULT_MONGO_SHARDS : 0,
    redis: redisEnv === undefined,
  });

  const mongoUrls = mongoEnv === undefined ? local.mongoUrls : externalMongo;
  const redisUrl = redisEnv ?? local.redisUrl;
  if (redisUrl === undefined) throw new Error('no Redis server was started or configured');
  project.provide('mongoUrls', mongoUrls);
  project.provide('redisUrl', redisUrl);

  const described = [
    ...(local.description ? [`started ${local.description}`] : []),
    ...(mongoEnv === undefined ? [] : [`Mongo from ${MONGO_ENV}: ${externalMongo.map(redactUrl).join(',')}`]),
    ...(redisEnv === undefined ? [] : [`Redis from ${REDIS_ENV}: ${redactUrl(redisEnv)}`]),
  ];
  console.log(`[taskplane] test services: ${described.join('; ')}`);

  return () => local.stop();
}
