import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApi, type Api } from '../../src/api/yoga.js';
import { createCatalog } from '../../src/catalog/create-catalog.js';
import { Launcher } from '../../src/catalog/launcher.js';
import { MemoryCoordinator } from '../../src/coordination/memory-coordinator.js';
import { createTaskStore } from '../../src/storage/create-store.js';
import { dropDatabases, testMongoUrls } from '../services/context.js';
import { NODE } from './harness.js';

/**
 * Listing 100 runs with their parent, their parent's parent and their job's root costs one `find`
 * per shard for the page and at most one per shard for each level of loads, whatever the number
 * of runs: counted on the real FerretDB shards through the store's command hook.
 */

describe('batched loads on MongoDB shards', () => {
  const urls = testMongoUrls('api_n_plus_one');
  const finds = new Map<string, number>();
  let counting = false;
  const store = createTaskStore({
    mongo: {
      shards: urls,
      onCommand: (shard, name) => {
        if (counting && name === 'find') finds.set(shard, (finds.get(shard) ?? 0) + 1);
      },
    },
  });
  const catalog = createCatalog({ mongo: null });
  const coordinator = new MemoryCoordinator();
  let api: Api;
  const leafParents = new Map<string, string>();
  const midParents = new Map<string, string>();

  beforeAll(async () => {
    await Promise.all([store.start(), catalog.start(), coordinator.start()]);
    api = createApi({ store, catalog, coordinator, launcher: new Launcher(store, catalog), node: NODE });
    // 25 jobs, each a root with one middle run that spawned four leaves: 100 leaves in all,
    // spread over the shards by job.
    const roots = await store.createMany(Array.from({ length: 25 }, () => ({ funcName: 'mod.work', name: 'root' })));
    const mids = await store.createMany(roots.map((root) => ({ funcName: 'mod.work', name: 'mid', jobId: root.id, parentId: root.id })));
    mids.forEach((mid, index) => midParents.set(mid.id, roots[index]!.id));
    await store.createMany(
      mids.flatMap((mid) => Array.from({ length: 4 }, () => ({ funcName: 'mod.work', name: 'leaf', jobId: mid.jobId, parentId: mid.id }))),
    );
    const created = await store.select({ name: 'leaf' }, { first: 1000 });
    for (const leaf of created.runs) leafParents.set(leaf.id, leaf.parentId!);
    expect(new Set(created.runs.map((run) => run.shard)).size).toBe(urls.length);
  });

  afterAll(async () => {
    await api?.close();
    await Promise.all([store.close(), catalog.close(), coordinator.close()]);
    await dropDatabases(urls);
  });

  it('costs at most one find per shard per level', async () => {
    counting = true;
    const response = await api.yoga.fetch('http://x/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        query: `{ tasks(filter: {name: "leaf"}, first: 100) {
          edges { node { id name job { id root { id name } } parent { id name parent { id name } } } }
        } }`,
      }),
    });
    counting = false;
    const answer = (await response.json()) as { data: { tasks: { edges: Array<{ node: any }> } }; errors?: unknown };
    expect(answer.errors).toBeUndefined();

    const nodes = answer.data.tasks.edges.map((edge) => edge.node);
    expect(nodes).toHaveLength(100);
    for (const node of nodes) {
      const mid = leafParents.get(node.id)!;
      expect(node.parent).toEqual({ id: mid, name: 'mid', parent: { id: midParents.get(mid), name: 'root' } });
      expect(node.job).toEqual({ id: midParents.get(mid), root: { id: midParents.get(mid), name: 'root' } });
    }

    // The page, then one level of loads per level of nesting: parents with the job roots (the
    // same tick), then the parents' parents (already loaded as roots: no query). Two in practice.
    for (const shard of store.shards) expect(finds.get(shard) ?? 0, `find commands on ${shard}`).toBeLessThanOrEqual(3);
    const total = [...finds.values()].reduce((sum, n) => sum + n, 0);
    expect(total).toBeLessThanOrEqual(3 * store.shards.length);
  });
});
