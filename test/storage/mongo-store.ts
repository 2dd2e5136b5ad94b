import { createTaskStore, type StorageOptions } from '../../src/storage/create-store.js';
import type { TaskStore } from '../../src/storage/contract.js';
import { dropDatabases, testMongoUrls } from '../services/context.js';

/** A started MongoDB-engine store on this file's own databases, one per test shard. */
export async function openMongoStore(
  label: string,
  options: Omit<StorageOptions, 'mongo'> = {},
): Promise<{ store: TaskStore; urls: string[]; dispose(): Promise<void> }> {
  const urls = testMongoUrls(label);
  const store = createTaskStore({ ...options, mongo: { shards: urls } });
  await store.start();
  return {
    store,
    urls,
    dispose: async () => {
      await store.close();
      await dropDatabases(urls);
    },
  };
}
