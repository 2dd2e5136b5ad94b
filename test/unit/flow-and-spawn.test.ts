import { describe, expect, it } from 'vitest';
import { flowRuns, orderFlow } from '../../src/core/flow.js';
import type { Handler } from '../../src/core/handler.js';
import { RunExecution } from '../../src/runner/run-execution.js';
import { InlineRuntime } from '../../src/runner/runtimes/inline-runtime.js';
import { derivedRunIdInJob } from '../../src/core/run-ids.js';
import { bucketOf } from '../../src/core/bucket-hash.js';
import { pino } from 'pino';
import type { Run } from '../../src/core/types.js';

describe('orderFlow', () => {
  it('orders steps after their dependencies, keeping the given order between independent ones', () => {
    const ordered = orderFlow({
      steps: [
        { step: 'report', funcName: 'm.report', dependsOn: ['left', 'right'] },
        { step: 'left', funcName: 'm.left', dependsOn: ['fetch'] },
        { step: 'fetch', funcName: 'm.fetch' },
        { step: 'right', funcName: 'm.right', dependsOn: ['fetch'] },
      ],
    });
    expect(ordered.map((step) => step.step)).toEqual(['fetch', 'left', 'right', 'report']);
  });

  it('names the problem: cycles, unknown steps, self-dependency, duplicates, empty flows', () => {
    const flow = (steps: Array<{ step: string; dependsOn?: string[] }>) => ({ steps: steps.map((s) => ({ funcName: 'm.f', ...s })) });
    expect(() => orderFlow(flow([{ step: 'a', dependsOn: ['c'] }, { step: 'b', dependsOn: ['a'] }, { step: 'c', dependsOn: ['b'] }, { step: 'd' }])))
      .toThrow("dependsOn forms a cycle through step(s) 'a', 'b', 'c'");
    expect(() => orderFlow(flow([{ step: 'a', dependsOn: ['x'] }]))).toThrow("step 'a' depends on unknown step 'x'");
    expect(() => orderFlow(flow([{ step: 'a', dependsOn: ['a'] }]))).toThrow("step 'a' depends on itself");
    expect(() => orderFlow(flow([{ step: 'a' }, { step: 'a' }]))).toThrow("step 'a' appears twice");
    expect(() => orderFlow({ steps: [] })).toThrow('at least one step');
  });

  it('links the runs: ids for dependencies, `linked` where an end matters to others', () => {
    const ordered = orderFlow({ steps: [{ step: 'a', funcName: 'm.a' }, { step: 'b', funcName: 'm.b', dependsOn: ['a'] }] });
    const runs = flowRuns(ordered, ['11111111-1111-4111-8111-111111111111', '22222222-2222-4222-8222-222222222222']);
    expect(runs.map((run) => [run.step, run.dependsOn, run.linked, run.jobId])).toEqual([
      ['a', [], true, '11111111-1111-4111-8111-111111111111'],
      ['b', ['11111111-1111-4111-8111-111111111111'], false, '11111111-1111-4111-8111-111111111111'],
    ]);
    const withRevert = flowRuns(orderFlow({ steps: [{ step: 'a', funcName: 'm.a', revert: 'm.undo' }] }), ['11111111-1111-4111-8111-111111111111']);
    expect(withRevert[0]).toMatchObject({ linked: true, revert: 'm.undo' });
  });
});

describe('derivedRunIdInJob', () => {
  it('is the same for the same seed and lands in the job’s bucket', () => {
    const job = '0b7e3c52-6d2a-4f7e-9a51-3c2d1e0f9a88';
    const a = derivedRunIdInJob('spawn:x:0', job, 1024);
    expect(derivedRunIdInJob('spawn:x:0', job, 1024)).toBe(a);
    expect(derivedRunIdInJob('spawn:x:1', job, 1024)).not.toBe(a);
    expect(bucketOf(a, 1024)).toBe(bucketOf(job, 1024));
  });
});

describe('ctx.spawn', () => {
  const run = {
    id: '0b7e3c52-6d2a-4f7e-9a51-3c2d1e0f9a88', jobId: '0b7e3c52-6d2a-4f7e-9a51-3c2d1e0f9a88', parentId: null, name: 'm.p', funcName: 'm.p',
    kind: 'anonymous', status: 'running', attempt: 1, maxAttempts: 1, delay: 0, delayFactor: 1, timeToResolve: 60, timeout: 60, priority: 0,
    cluster: 'default', tag: 'default', runtime: null, runTimeout: null, args: [], result: null, error: null, createdAt: new Date(), runAfter: new Date(), expiresAt: new Date(),
    startedAt: new Date(), finishedAt: null, deadline: new Date(Date.now() + 60_000), runner: 'r', stopRequested: false, reason: null,
    history: [], step: null, dependsOn: [], blocked: false, inputs: { up: 1 }, revert: null, revertOf: null, shard: 'shard-0',
  } satisfies Run;
  const log = pino({ level: 'silent' });
  const execute = (handler: Handler) =>
    new RunExecution(run, { id: run.id, attempt: 1, runner: 'r' }, { runtime: new InlineRuntime(new Map([['m.p', handler]])), runTimeout: 60, abortGraceMs: 100, log }).execute();

  it('travels with the completed outcome, refs turned into indexes', async () => {
    const outcome = await execute((_args, ctx) => {
      expect(ctx.inputs).toEqual({ up: 1 });
      const first = ctx.spawn('m.child', { i: 0 }, { step: 'first' });
      ctx.spawn('m.child', { i: 1 }, { dependsOn: [first], cluster: 'gpu-x1', tag: 'gpu' });
      return 'ok';
    });
    expect(outcome).toMatchObject({
      status: 'completed',
      result: 'ok',
      spawn: [
        { funcName: 'm.child', args: { i: 0 }, step: 'first', dependsOn: [] },
        { funcName: 'm.child', args: { i: 1 }, cluster: 'gpu-x1', tag: 'gpu', dependsOn: [0] },
      ],
    });
  });

  it('refuses bad input at the call, and a failed attempt spawns nothing', async () => {
    const bad = await execute((_args, ctx) => ctx.spawn('not a handler', []));
    expect(bad).toMatchObject({ status: 'failed', error: { code: 'BAD_USER_INPUT' } });
    const badRef = await execute((_args, ctx) => ctx.spawn('m.child', [], { dependsOn: ['spawn:3'] }));
    expect(badRef).toMatchObject({ status: 'failed', error: { message: expect.stringContaining('earlier ctx.spawn') } });
    const thrown = await execute((_args, ctx) => {
      ctx.spawn('m.child', []);
      throw new Error('boom');
    });
    expect(thrown).toMatchObject({ status: 'failed' });
    expect(thrown).not.toHaveProperty('spawn');
  });
});
