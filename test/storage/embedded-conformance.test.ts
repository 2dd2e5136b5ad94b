import { createTaskStore } from '../../src/storage/create-store.js';
import { describeConformance } from './conformance.js';

describeConformance('embedded', async () => {
  const store = createTaskStore({ embedded: { shards: 3 } });
  return { store, dispose: () => store.close() };
});
