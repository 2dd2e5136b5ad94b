import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SpawnRequest } from '../../src/core/run-input.js';
import { leaseOf, type JsonValue, type Run } from '../../src/core/types.js';
import type { TaskStore } from '../../src/storage/contract.js';
import { createTaskStore } from '../../src/storage/create-store.js';
import { runner } from './conformance.js';
import { openMongoStore } from './mongo-store.js';

/**
 * Jobs in storage: flows with dependencies, subtasks spawned by a completed attempt, failure
 * travelling down the graph, reverts, job cancel and retry. The same cases on both engines.
 */
const engines: Array<[string, () => Promise<{ store: TaskStore; dispose(): Promise<void> }>]> = [
  ['embedded', async () => {
    const store = createTaskStore({ embedded: { shards: 3 } });
    await store.start();
    return { store, dispose: () => store.close() };
  }],
  ['mongodb', () => openMongoStore('jobs')],
];

const worker = runner({ handlers: ['flow.a', 'flow.b', 'flow.c', 'flow.undo', 'flow.parent', 'flow.child'] });

describe.each(engines)('jobs on %s', (_engine, open) => {
  let store: TaskStore;
  let dispose: () => Promise<void>;
  beforeAll(async () => {
    ({ store, dispose } = await open());
  });
  afterAll(async () => {
    await dispose();
  });

  /** Claims what is claimable now; the ids taken, by step. */
  async function takeAll(): Promise<Map<string, Run>> {
    const { runs } = await store.take(worker, 100);
    return new Map(runs.map((run) => [run.step ?? run.funcName, run]));
  }

  /** Completes `run` with `result`, and the subtasks its attempt spawned, if any. */
  async function complete(run: Run, result: JsonValue, spawn?: SpawnRequest[]) {
    const [settled] = await store.settle([{ lease: leaseOf(run), outcome: { status: 'completed', result, ...(spawn ? { spawn } : {}) } }]);
    expect(settled?.accepted).toBe(true);
    return settled!;
  }

  it('runs a three-step flow in dependency order and passes results forward', async () => {
    const runs = await store.submitFlow({
      steps: [
        { step: 'three', funcName: 'flow.c', dependsOn: ['two'] },
        { step: 'one', funcName: 'flow.a', args: { n: 1 } },
        { step: 'two', funcName: 'flow.b', dependsOn: ['one'] },
      ],
    });
    expect(runs.map((run) => run.step)).toEqual(['one', 'two', 'three']);
    const jobId = runs[0]!.id;
    expect(runs.every((run) => run.jobId === jobId && run.shard === runs[0]!.shard)).toBe(true);
    expect(runs.map((run) => run.blocked)).toEqual([false, true, true]);
    expect((await store.job(jobId))?.status).toBe('submitted');

    const first = await takeAll();
    expect([...first.keys()]).toEqual(['one']);
    const settled = await complete(first.get('one')!, { sum: 1 });
    expect(settled.related?.map((run) => [run.step, run.blocked])).toEqual([['two', false]]);
    expect((await store.job(jobId))?.status).toBe('running');

    const second = await takeAll();
    expect([...second.keys()]).toEqual(['two']);
    expect(second.get('two')?.inputs).toEqual({ one: { sum: 1 } });
    await complete(second.get('two')!, { sum: 3 });
    const third = await takeAll();
    expect(third.get('three')?.inputs).toEqual({ two: { sum: 3 } });
    await complete(third.get('three')!, 'done');

    const summary = await store.job(jobId);
    expect(summary).toMatchObject({ status: 'completed', counts: { completed: 3, total: 3 } });
    expect(summary?.firstStartedAt).toBeInstanceOf(Date);
    expect(summary?.lastFinishedAt).toBeInstanceOf(Date);
  });

  it('stops the dependents of a failed step, and a job retry resumes from there', async () => {
    const runs = await store.submitFlow({
      steps: [
        { step: 'one', funcName: 'flow.a' },
        { step: 'two', funcName: 'flow.b', dependsOn: ['one'] },
        { step: 'three', funcName: 'flow.c', dependsOn: ['two'] },
      ],
    });
    const jobId = runs[0]!.id;
    await complete((await takeAll()).get('one')!, 1);
    const two = (await takeAll()).get('two')!;
    await store.settle([{ lease: leaseOf(two), outcome: { status: 'failed', error: new Error('step two broke') } }]);
    const three = await store.get(runs[2]!.id);
    expect(three).toMatchObject({ status: 'stopped', reason: 'dependency two ended failed' });
    expect(await store.job(jobId)).toMatchObject({ status: 'failed', counts: { completed: 1, failed: 1, stopped: 1 } });

    const retried = await store.retryJob(jobId);
    expect(retried.changed.map((run) => [run.step, run.status, run.blocked]).sort()).toEqual([
      ['three', 'pending', true],
      ['two', 'pending', false],
    ]);
    expect((await store.get(runs[0]!.id))?.attempt).toBe(1); // completed step not run again
    const again = await takeAll();
    expect([...again.keys()]).toEqual(['two']);
    expect(again.get('two')?.inputs).toEqual({ one: 1 });
    await complete(again.get('two')!, 2);
    await complete((await takeAll()).get('three')!, 3);
    expect((await store.job(jobId))?.status).toBe('completed');
    await expect(store.retryJob(jobId)).rejects.toMatchObject({ code: 'CONFLICT' });
  });

  it('runs the revert handlers of completed steps in reverse order when the flow fails', async () => {
    const runs = await store.submitFlow({
      steps: [
        { step: 'one', funcName: 'flow.a', args: ['a1'], revert: 'flow.undo' },
        { step: 'two', funcName: 'flow.b', dependsOn: ['one'], revert: 'flow.undo' },
        { step: 'three', funcName: 'flow.c', dependsOn: ['two'] },
      ],
    });
    const jobId = runs[0]!.id;
    await complete((await takeAll()).get('one')!, 'r1');
    await new Promise((resolve) => setTimeout(resolve, 5));
    await complete((await takeAll()).get('two')!, 'r2');
    const three = (await takeAll()).get('three')!;
    await store.settle([{ lease: leaseOf(three), outcome: { status: 'failed', error: 'no' } }]);

    const firstRevert = await takeAll();
    expect([...firstRevert.keys()]).toEqual(['revert:two']);
    expect(firstRevert.get('revert:two')).toMatchObject({ args: { args: [], result: 'r2' }, revertOf: runs[1]!.id });
    await complete(firstRevert.get('revert:two')!, 'undone 2');
    const secondRevert = await takeAll();
    expect([...secondRevert.keys()]).toEqual(['revert:one']);
    expect(secondRevert.get('revert:one')?.args).toEqual({ args: ['a1'], result: 'r1' });
    await complete(secondRevert.get('revert:one')!, 'undone 1');
    expect(await store.job(jobId)).toMatchObject({ status: 'failed', counts: { completed: 4, failed: 1, total: 5 } });
  });

  it('creates spawned subtasks when the parent completes, in its cluster unless told otherwise', async () => {
    const parent = await store.create({ funcName: 'flow.parent', cluster: 'default' });
    const [claimed] = (await store.take(worker, 1)).runs;
    expect(claimed?.id).toBe(parent.id);
    const settled = await complete(claimed!, 'parent done', [
      { funcName: 'flow.child', args: { i: 0 }, dependsOn: [], step: 'first' },
      { funcName: 'flow.child', args: { i: 1 }, dependsOn: [0], cluster: 'other' },
    ]);
    const children = settled.related ?? [];
    expect(children.map((run) => [run.parentId, run.jobId, run.cluster, run.blocked])).toEqual([
      [parent.id, parent.id, 'default', false],
      [parent.id, parent.id, 'other', true],
    ]);
    const [first] = (await store.take(worker, 10)).runs;
    expect(first?.args).toEqual({ i: 0 });
    await complete(first!, 'child 0');
    const other = await store.take(runner({ cluster: 'other', handlers: ['flow.child'] }), 10);
    expect(other.runs[0]).toMatchObject({ args: { i: 1 }, inputs: { first: 'child 0' } });
    const parentAfter = await store.get(parent.id);
    expect(parentAfter?.status).toBe('completed');
  });

  it('cancels a job: pending runs stop, running ones are asked to stop', async () => {
    const runs = await store.submitFlow({
      steps: [
        { step: 'one', funcName: 'flow.a' },
        { step: 'side', funcName: 'flow.b' },
        { step: 'two', funcName: 'flow.c', dependsOn: ['one'] },
      ],
    });
    const jobId = runs[0]!.id;
    const { runs: taken } = await store.take(runner({ handlers: ['flow.a'] }), 1);
    expect(taken[0]?.step).toBe('one');
    const cancelled = await store.cancelJob(jobId);
    expect(cancelled.stopping).toEqual([taken[0]!.id]);
    expect((await store.get(runs[1]!.id))?.status).toBe('stopped');
    expect((await store.get(runs[2]!.id))).toMatchObject({ status: 'stopped', reason: 'job cancelled' });
    const renewed = await store.renew([leaseOf(taken[0]!)]);
    expect(renewed[0]).toMatchObject({ state: 'renewed', stopRequested: true });
    await store.settle([{ lease: leaseOf(taken[0]!), outcome: { status: 'stopped' } }]);
    expect(await store.job(jobId)).toMatchObject({ status: 'cancelled', counts: { stopped: 3, total: 3 } });
  });

  it('refuses bad flows whole: cycles, unknown and duplicate steps', async () => {
    const before = (await store.statistics()).total.total;
    await expect(store.submitFlow({ steps: [{ step: 'a', funcName: 'flow.a', dependsOn: ['b'] }, { step: 'b', funcName: 'flow.b', dependsOn: ['a'] }] }))
      .rejects.toMatchObject({ code: 'BAD_USER_INPUT', message: expect.stringContaining('cycle') });
    await expect(store.submitFlow({ steps: [{ step: 'a', funcName: 'flow.a', dependsOn: ['nope'] }] }))
      .rejects.toMatchObject({ message: expect.stringContaining("unknown step 'nope'") });
    await expect(store.submitFlow({ steps: [{ step: 'a', funcName: 'flow.a' }, { step: 'a', funcName: 'flow.b' }] }))
      .rejects.toMatchObject({ message: expect.stringContaining('twice') });
    await expect(store.submitFlow({ steps: [{ step: 'a', funcName: 'flow.a' }, { step: 'b', funcName: 'not a handler!' }] }))
      .rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    expect((await store.statistics()).total.total).toBe(before);
  });
});

describe('a follow-up whose writer died after the final write', () => {
  it('is applied by the sweep', async () => {
    const { store, urls, dispose } = await openMongoStore('jobs_repair');
    try {
      const runs = await store.submitFlow({
        steps: [{ step: 'one', funcName: 'flow.a' }, { step: 'two', funcName: 'flow.b', dependsOn: ['one'] }],
      });
      const [one] = (await store.take(worker, 10)).runs;
      expect(one?.step).toBe('one');
      // What a settle that died right after its single-document write leaves behind.
      const client = new MongoClient(urls[Number(one!.shard.replace('shard-', ''))]!);
      try {
        const old = new Date(Date.now() - 60_000);
        await client.db().collection<{ _id: string }>('runs').updateOne(
          { _id: one!.id },
          { $set: { status: 'completed', result: '"r1"', finishedAt: old, followUp: true, updatedAt: old }, $inc: { rev: 1 } },
        );
      } finally {
        await client.close();
      }
      expect((await store.get(runs[1]!.id))?.blocked).toBe(true);
      expect((await store.take(worker, 10)).runs).toHaveLength(0);
      await store.sweep();
      const two = await store.get(runs[1]!.id);
      expect(two).toMatchObject({ status: 'pending', blocked: false, inputs: { one: 'r1' } });
      expect((await store.take(worker, 10)).runs.map((run) => run.id)).toEqual([runs[1]!.id]);
    } finally {
      await dispose();
    }
  });
});
