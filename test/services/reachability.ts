import { MongoClient } from 'mongodb';
import { ServiceUnreachableError, errorMessage, redactUrl } from './errors.js';
import { pingRedis } from './redis-process.js';

const EXTERNAL_TIMEOUT_MS = 10_000;

export async function assertMongoAnswers(url: string, envName: string): Promise<void> {
  const client = new MongoClient(url, {
    serverSelectionTimeoutMS: EXTERNAL_TIMEOUT_MS,
    connectTimeoutMS: EXTERNAL_TIMEOUT_MS,
  });
  try {
    await client.db('admin').command({ ping: 1 });
  } catch (err) {
    throw new ServiceUnreachableError(
      `MongoDB server ${redactUrl(url)} (from ${envName}) did not answer ping within ${EXTERNAL_TIMEOUT_MS} ms: ${errorMessage(err)}`,
      { cause: err },
    );
  } finally {
    await client.close();
  }
}

export async function assertRedisAnswers(url: string, envName: string): Promise<void> {
  try {
    await pingRedis(url, EXTERNAL_TIMEOUT_MS);
  } catch (err) {
    throw new ServiceUnreachableError(
      `Redis server ${redactUrl(url)} (from ${envName}) did not answer PING within ${EXTERNAL_TIMEOUT_MS} ms: ${errorMessage(err)}`,
      { cause: err },
    );
  }
}
