import { createTaskStore } from '../../src/storage/create-store.js';
import { dropDatabases, testMongoUrls } from '../services/context.js';
import { describeConformance } from './conformance.js';

describeConformance('mongodb', async () => {
  const urls = testMongoUrls('conformance');
  const store = createTaskStore({ mongo: { shards: urls } });
  return {
    store,
    dispose: async () => {
      await store.close();
      await dropDatabases(urls);
    },
  };
});
