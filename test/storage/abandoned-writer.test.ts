import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TaskStore } from '../../src/storage/contract.js';
import { STUCK_AFTER_MS } from '../../src/storage/transitions.js';
import { runner } from './conformance.js';
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
