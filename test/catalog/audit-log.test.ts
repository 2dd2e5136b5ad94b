import { afterAll, describe, expect, it } from 'vitest';
import { AuditLogStore } from '../../src/catalog/audit-log.js';
import type { CatalogCollection, CatalogDocument } from '../../src/catalog/catalog-collection.js';
import type { AuditEntryInput } from '../../src/catalog/contract.js';
import { MemoryCatalogDatabase } from '../../src/catalog/memory-catalog-collection.js';
import { MongoCatalogDatabase } from '../../src/catalog/mongo-catalog-collection.js';
import { dropDatabases, testMongoUrls } from '../services/context.js';

/**
 * The audit log reads only what it lists (newest first, by actor) and trims to the newest `keep`
 * entries with one cut, on a FerretDB shard and in memory alike.
 */
const urls = testMongoUrls('audit');
afterAll(async () => {
  await dropDatabases(urls);
});

function entry(i: number, actor: string): AuditEntryInput {
  return {
    at: new Date(Date.UTC(2026, 10, 23, 10, 0, 0, i)),
    actor,
    role: 'operator',
    address: '127.0.0.1',
    operations: [`task.start#${i}`],
    variables: null,
    outcome: 'ok',
    errors: [],
  };
}

const engines: Array<[string, () => Promise<{ collection: CatalogCollection<CatalogDocument>; close(): Promise<void> }>]> = [
  ['memory', async () => ({ collection: new MemoryCatalogDatabase().collection('audit_log'), close: async () => {} })],
  [
    'mongodb',
    async () => {
      const database = new MongoCatalogDatabase({ shard: 'shard-0', url: urls[0]! });
      await database.connect();
      return { collection: database.collection('audit_log'), close: () => database.close() };
    },
  ],
];

describe.each(engines)('audit log (%s)', (_label, open) => {
  it('lists the newest first, by actor, and keeps only the newest entries', async () => {
    const { collection, close } = await open();
    try {
      const log = new AuditLogStore(collection as never, { keep: 7, trimEvery: 5 });
      for (let i = 0; i < 20; i++) await log.record(entry(i, i % 2 === 0 ? 'alice' : 'bob'));
      // Trimmed after the 5th, 10th, 15th and 20th write: the newest 7 remain.
      const all = await log.list(100);
      expect(all.map((e) => e.operations[0])).toEqual([19, 18, 17, 16, 15, 14, 13].map((i) => `task.start#${i}`));
      expect((await log.list(3)).map((e) => e.operations[0])).toEqual(['task.start#19', 'task.start#18', 'task.start#17']);
      const bob = await log.list(2, 'bob');
      expect(bob.map((e) => [e.actor, e.operations[0]])).toEqual([['bob', 'task.start#19'], ['bob', 'task.start#17']]);
      expect(all[0]).toMatchObject({ role: 'operator', address: '127.0.0.1', outcome: 'ok', errors: [] });
      expect(all[0]!.at.getTime()).toBe(Date.UTC(2026, 10, 23, 10, 0, 0, 19));
    } finally {
      await close();
    }
  });
});
