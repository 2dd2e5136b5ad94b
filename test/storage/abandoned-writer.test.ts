import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TaskStore } from '../../src/storage/contract.js';
import { createTaskStore } from '../../src/storage/create-store.js';
import { MongoCollection } from '../../src/storage/mongo-collection.js';
import { STUCK_AFTER_MS, WRITE_WINDOW_MS, commitChanges } from '../../src/storage/transitions.js';
import { runner } from './conformance.js';
import { dropDatabases, testMongoUrls } from '../services/context.js';
import { openMongoStore } from './mongo-store.js';

/**
 * A writer that inserted its revision marker and died before writing the run leaves the run
 * at the marker's revision. Such a marker must not block the run forever, and a fresh marker
 * (a writer still at work) must not be overridden.
 */
describe('a writer that died between marker and write', () => {
  let store: TaskStore;
  let urls: string[];
  let dispose: () => Promise<void>;
  let client: MongoClient;
  beforeAll(async () => {
    ({ store, urls, dispose } = await openMongoStore('abandoned'));
  });
  afterAll(async () => {
    await client?.close();
    await dispose();
  });

  async function plantMarker(runId: string, shard: string, ageMs: number): Promise<void> {
    const url = urls[Number(shard.replace('shard-', ''))]!;
    await client?.close();
    client = new MongoClient(url);
    const db = client.db();
    const at = new Date(Date.now() - ageMs);
    await db.collection<{ _id: string }>('run_revisions').insertOne({ _id: `${runId}:0`, runId, rev: 0, at } as never);
    await db.collection<{ _id: string }>('runs').updateOne({ _id: runId }, { $set: { updatedAt: at } });
  }

  it('leaves a run alone while the marker is fresh', async () => {
    const run = await store.create({ funcName: 'mod.fresh' });
    await plantMarker(run.id, run.shard, 1000);
    expect((await store.take(runner({ handlers: ['mod.fresh'] }), 1)).runs).toHaveLength(0);
    expect((await store.take(runner({ handlers: ['mod.fresh'] }), 1)).runs).toHaveLength(0);
    expect((await store.get(run.id))?.status).toBe('pending');
  });

  it('releases a run whose marker was abandoned, so the next claim takes it', async () => {
    const run = await store.create({ funcName: 'mod.stuck' });
    await plantMarker(run.id, run.shard, STUCK_AFTER_MS + 5000);
    const first = await store.take(runner({ handlers: ['mod.stuck'] }), 1);
    expect(first.runs).toHaveLength(0);
    const second = await store.take(runner({ handlers: ['mod.stuck'] }), 1);
    expect(second.runs.map((r) => r.id)).toEqual([run.id]);
    expect(second.runs[0]).toMatchObject({ status: 'running', attempt: 1 });
  });
});

/**
 * On FerretDB a claim or settle of many runs is written in sequential chunks of 16, and on a
 * large collection each chunk can take seconds. No chunk may be sent after the write window, or
 * it could land after its markers were taken for abandoned and overwrite another writer's change.
 * Here the first chunk is made to outlast the window: when the driver starts its `update`
 * command, the test holds the thread until the window has passed.
 */
describe('a chunked write that outlasts its window', () => {
  let dispose: () => Promise<void>;
  let collection: MongoCollection;
  let ferretDb = false;
  let holdUntil = 0;
  beforeAll(async () => {
    // One shard, so all the runs are in the collection under test.
    const url = testMongoUrls('window')[0]!;
    const store = createTaskStore({ mongo: { shards: [url] } });
    await store.start();
    dispose = async () => {
      await store.close();
      await dropDatabases([url]);
    };
    const probe = new MongoClient(url);
    ferretDb = typeof (await probe.db().admin().command({ buildInfo: 1 }))['ferretdbVersion'] === 'string';
    await probe.close();
    await store.createMany(Array.from({ length: 60 }, (_, i) => ({ funcName: 'mod.window', args: [i] })));
    collection = new MongoCollection({
      name: 'shard-0',
      url,
      onCommand: (name) => {
        if (name !== 'update' || holdUntil === 0) return;
        while (Date.now() <= holdUntil); // the first chunk outlasts the window
        holdUntil = 0;
      },
    });
    await collection.connect();
  });
  afterAll(async () => {
    await collection?.close();
    await dispose();
  });

  it('sends no chunk after the window: what it did not send is conflicted, not committed', async () => {
    const docs = await collection.find({ funcName: 'mod.window' }, { limit: 40 });
    expect(docs).toHaveLength(40);
    // The window (WRITE_WINDOW_MS from `now`) ends 3 s from here, well after the marker insert.
    const now = new Date(Date.now() - WRITE_WINDOW_MS + 3000);
    holdUntil = now.getTime() + WRITE_WINDOW_MS;
    const result = await commitChanges(collection, docs.map((doc) => ({ doc, write: { $set: { priority: 7 } } })), now);
    // Real MongoDB takes the 40 updates in one command, sent before the window ended; FerretDB in chunks of 16.
    const sent = ferretDb ? 16 : 40;
    expect(result.committed).toHaveLength(sent);
    expect(result.conflicted).toHaveLength(40 - sent);
    const after = await collection.find({ _id: { $in: docs.map((doc) => doc._id) } });
    const written = after.filter((doc) => doc.priority === 7).map((doc) => doc._id);
    expect(new Set(written)).toEqual(new Set(result.committed.map((doc) => doc._id)));
    // The unsent runs keep their revision; their markers stand, to be released as a dead writer's are.
    for (const doc of after.filter((doc) => doc.priority !== 7)) expect(doc.rev).toBe(0);
    expect(await collection.findMarkers(result.conflicted.map((doc) => `${doc._id}:0`))).toHaveLength(40 - sent);
  });
});
