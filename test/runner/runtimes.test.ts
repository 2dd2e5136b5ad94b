import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Runtime } from '../../src/core/types.js';
import { eventually } from '../nodes/cluster-fixture.js';
import { processAlive, startStand, type Stand } from './runtime-stand.js';

/**
 * Misbehaving handlers in both runtimes, on a real runner: each ends in a clear recorded status
 * with an error that says what went wrong, and none holds a slot past its timeout and abort
 * grace (0.5 s and 300 ms here). The process-only cases (busy loops, crashes, the pool) are in
 * process-runtime.test.ts.
 */

const GIVE_UP = {
  inline: /the inline runtime cannot kill it, so its slot was freed and it was abandoned, possibly still running inside the runner process; use runtime: process/,
  process: /its child process \(pid \d+\) was killed with SIGKILL$/,
} as const;

describe.each<Runtime>(['inline', 'process'])('the %s runtime', (runtime) => {
  let s: Stand;
  beforeAll(async () => {
    s = await startStand();
    // A warm child first, so the tests below do not also wait for a child's start-up.
    if (runtime === 'process') expect((await s.finish('pid', runtime)).status).toBe('completed');
  });
  afterAll(async () => {
    await s?.close();
  });

  it('fails a handler that hangs forever once its run_timeout and the abort grace have passed', async () => {
    const started = Date.now();
    const run = await s.finish('hang', runtime, {}, { runTimeout: 0.5 });
    expect(run.status).toBe('failed');
    expect(run.error?.name).toBe('RunTimeoutError');
    expect(run.error?.message).toMatch(/^run_timeout of 0\.5 s passed; its handler was aborted and it ignored its AbortSignal for 300 ms; /);
    expect(run.error?.message).toMatch(GIVE_UP[runtime]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(800);
    expect(s.lines.some((line) => line['runId'] === run.id && /^handler ignored its AbortSignal \(run_timeout of 0\.5 s passed/.test(String(line['msg'])))).toBe(true);
  });

  it('fails a handler that ignores its signal and keeps working; only the process runtime really ends it', async () => {
    const file = join(s.dir, `stubborn-${runtime}`);
    const before = s.runner.gaveUp;
    const run = await s.finish('stubborn', runtime, { file, ms: 3000 }, { runTimeout: 0.5 });
    expect(run.status).toBe('failed');
    expect(run.error?.message).toMatch(/^run_timeout of 0\.5 s passed; its handler was aborted and it ignored its AbortSignal for 300 ms; /);
    expect(run.error?.message).toMatch(GIVE_UP[runtime]);
    const after = s.runner.gaveUp;
    const counter = runtime === 'process' ? 'killed' : 'abandoned';
    expect(after[counter]).toBe(before[counter] + 1);
    const [started] = s.notes(file);
    if (runtime === 'inline') {
      // The stray goes on in this process and finishes its work after the attempt ended.
      expect(started?.pid).toBe(process.pid);
      await eventually(() => (s.notes(file).some((n) => n.event === 'finished') ? true : undefined), 10_000, 'the stray to finish', 100);
    } else {
      expect(started?.pid).not.toBe(process.pid);
      expect(processAlive(started!.pid)).toBe(false);
      // Past the moment it would have finished: it never did.
      await new Promise((resolve) => setTimeout(resolve, 3000));
      expect(s.notes(file).map((n) => n.event)).toEqual(['started']);
    }
  });

  it('records a timeout the handler honoured, and its signal carries the reason', async () => {
    const file = join(s.dir, `honour-${runtime}`);
    const run = await s.finish('honour', runtime, { file, ms: 30_000 }, { runTimeout: 0.5 });
    expect(run.status).toBe('failed');
    expect(run.error?.message).toBe('run_timeout of 0.5 s passed; its handler was aborted and gave up within the abort grace');
    expect(s.notes(file).map((n) => n.event)).toEqual(['started', 'aborted:RunTimeoutError:run_timeout of 0.5 s passed; the handler is asked to stop']);
  });

  it.each([
    ['string', 'handler threw a string instead of an Error: "just a string"'],
    ['number', 'handler threw a number instead of an Error: 42'],
    ['null', 'handler threw null instead of an Error'],
    ['undefined', 'handler threw undefined instead of an Error'],
    ['object', 'handler threw a plain object instead of an Error: {"code":7,"why":"plain"}'],
    ['symbol', 'handler threw a Symbol instead of an Error: Symbol(odd)'],
    ['bigint', 'handler threw a BigInt instead of an Error: 10n'],
  ])('fails a handler that throws a %s, saying what was thrown', async (kind, message) => {
    const run = await s.finish('throwValue', runtime, { kind });
    expect(run.status).toBe('failed');
    expect(run.error).toMatchObject({ name: 'NonErrorThrown', message });
  });

  it.each([
    ['bigint', 'BigInt at $.a.b'],
    ['circular', 'circular reference at $.list[0].self.back'],
    ['function', 'function at $.callback'],
    ['symbol', 'Symbol at $.tags[1]'],
    ['nan', 'NaN at $.ratio'],
    ['map', 'Map at $.index'],
    ['promise', 'Promise (a missing await?) at $.pending'],
  ])('fails a handler that returns a result that is not JSON (%s), saying where', async (kind, problem) => {
    const run = await s.finish('returnValue', runtime, { kind });
    expect(run.status).toBe('failed');
    expect(run.error).toMatchObject({ name: 'ResultNotJsonError', message: `result is not JSON: ${problem}` });
  });

  it('records undefined as null, and keeps what JSON keeps (dates as strings, undefined properties left out)', async () => {
    const none = await s.finish('returnValue', runtime, { kind: 'undefined' });
    expect(none).toMatchObject({ status: 'completed', result: null });
    const dated = await s.finish('returnValue', runtime, { kind: 'date' });
    expect(dated).toMatchObject({ status: 'completed', result: { at: '1970-01-01T00:00:00.000Z' } });
    expect(dated.result).toEqual({ at: '1970-01-01T00:00:00.000Z' });
  });

  it('keeps other slots working while a hung handler holds one; a stop then ends it after the grace', async () => {
    const file = join(s.dir, `occupied-${runtime}`);
    const hung = await s.store.create({ funcName: 'bad.hang', args: { file }, runtime, runTimeout: 600 });
    await eventually(() => (s.notes(file).length > 0 ? true : undefined), 10_000, 'the hung handler to start', 20);
    const quick = await s.store.createMany(Array.from({ length: 6 }, () => ({ funcName: 'bad.pid', runtime })));
    for (const { id } of quick) expect((await s.store.wait(id, 10_000)).status).toBe('completed');
    expect((await s.store.get(hung.id))?.status).toBe('running');

    await s.store.stop(hung.id, 'enough');
    const stopped = await s.store.wait(hung.id, 5000);
    expect(stopped).toMatchObject({ status: 'stopped', reason: 'enough' });
    expect(s.lines.some((line) => line['runId'] === hung.id && line['abort'] === 'stop' && GIVE_UP[runtime].test(String(line['msg'])))).toBe(true);
    if (runtime === 'process') expect(processAlive(s.notes(file)[0]!.pid)).toBe(false);
  });

  it('retries after a timeout: attempt 2 runs and completes', async () => {
    const file = join(s.dir, `retry-${runtime}`);
    const run = await s.finish('hangOnce', runtime, { file }, { runTimeout: 0.5, maxAttempts: 2, delay: 0 });
    expect(run).toMatchObject({ status: 'completed', attempt: 2, result: { attempt: 2 } });
    expect(run.history.map((h) => h.outcome)).toEqual(['retry', 'completed']);
    expect(run.history[0]?.error?.message).toMatch(/^run_timeout of 0\.5 s passed; /);
    expect(s.notes(file).map((n) => n.event)).toEqual(['attempt:1', 'attempt:2']);
  });

  it('lets the handler log through ctx.log and spawn subtasks through ctx.spawn', async () => {
    const run = await s.finish('logAndSpawn', runtime);
    expect(run).toMatchObject({ status: 'completed', result: 'spawned' });
    const line = s.lines.find((l) => l['msg'] === 'hello from the handler' && l['runId'] === run.id);
    expect(line?.['pid']).toEqual(runtime === 'inline' ? process.pid : expect.any(Number));
    if (runtime === 'process') expect(line?.['pid']).not.toBe(process.pid);
    const [child] = (await s.store.select({ parentId: run.id }, { first: 10 })).runs;
    expect(child).toMatchObject({ funcName: 'bad.pid', step: 'child', jobId: run.jobId });
    expect((await s.store.wait(child!.id, 10_000)).status).toBe('completed');
  });
});

describe('the abort grace', () => {
  let s: Stand;
  beforeAll(async () => {
    s = await startStand({ abortGraceMs: 2500, sweepEveryMs: 100 });
  });
  afterAll(async () => {
    await s?.close();
  });

  it('keeps the lease renewed through a grace longer than the lease, so the attempt\'s outcome is still recorded', async () => {
    // time_to_resolve 1 s: without renewals during the 2.5 s grace the lease would lapse, the
    // sweep would record the run `lost`, and the runner's outcome would be refused.
    const run = await s.finish('hang', 'inline', {}, { runTimeout: 0.3, timeToResolve: 1 });
    expect(run.status).toBe('failed');
    expect(run.error?.message).toMatch(/^run_timeout of 0\.3 s passed; its handler was aborted and it ignored its AbortSignal for 2500 ms; /);
    expect(run.history).toHaveLength(1);
  });
});
