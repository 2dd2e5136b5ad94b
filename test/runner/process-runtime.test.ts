import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { eventually } from '../nodes/cluster-fixture.js';
import { processAlive, startStand, type Stand } from './runtime-stand.js';

/**
 * What only the `process` runtime can do, on a real runner: end handlers that block their event
 * loop, survive handlers that crash their process, reuse warm children, and leave no child
 * behind when the runner closes or drains. Misbehaviours both runtimes handle are in
 * runtimes.test.ts.
 */

const open: Stand[] = [];
afterEach(async () => {
  for (const stand of open.splice(0)) await stand.close();
});

async function stand(options: Parameters<typeof startStand>[0] = {}): Promise<Stand> {
  const s = await startStand(options);
  open.push(s);
  return s;
}

const pidOf = (run: { result: unknown }) => (run.result as { pid: number }).pid;

describe('the process runtime', () => {
  it('kills a child that blocks its event loop, while the runner\'s other slots keep working', async () => {
    const s = await stand();
    // Two warm children (the pool's size): the other process run below needs no start-up.
    const warm = await s.store.createMany(Array.from({ length: 2 }, () => ({ funcName: 'bad.honour', args: { ms: 200 }, runtime: 'process' as const })));
    for (const { id } of warm) expect((await s.store.wait(id, 20_000)).status).toBe('completed');
    const file = join(s.dir, 'spin');
    const spinning = await s.store.create({ funcName: 'bad.spin', args: { file }, runtime: 'process', runTimeout: 3 });
    await eventually(() => (s.notes(file).length > 0 ? true : undefined), 15_000, 'the busy loop to start', 20);
    const others = await s.store.createMany([
      { funcName: 'bad.pid', runtime: 'process' },
      { funcName: 'bad.pid', runtime: 'inline' },
      { funcName: 'direct.fn' },
    ]);
    for (const { id } of others) expect((await s.store.wait(id, 15_000)).status).toBe('completed');
    expect((await s.store.get(spinning.id))?.status).toBe('running');

    const done = await s.store.wait(spinning.id, 15_000);
    expect(done.status).toBe('failed');
    expect(done.error?.message).toMatch(/^run_timeout of 3 s passed; its handler was aborted and it ignored its AbortSignal for 300 ms; its child process \(pid (\d+)\) was killed with SIGKILL$/);
    const pid = s.notes(file)[0]!.pid;
    expect(done.error?.message).toContain(`(pid ${pid})`);
    expect(processAlive(pid)).toBe(false);
    expect(s.runner.processPids).not.toContain(pid);
  });

  it('records a crash mid-run with its exit code or signal, and the pool recovers with a fresh child', async () => {
    const s = await stand();
    const exitFile = join(s.dir, 'exit');
    const exited = await s.finish('exitProcess', 'process', { file: exitFile, code: 3 });
    const exitPid = s.notes(exitFile)[0]!.pid;
    expect(exited.status).toBe('failed');
    expect(exited.error).toMatchObject({ name: 'HandlerCrashError', message: `the handler's child process (pid ${exitPid}) exited with code 3 while it ran the handler` });

    const killFile = join(s.dir, 'kill');
    const killed = await s.finish('killSelf', 'process', { file: killFile, signal: 'SIGKILL' });
    expect(killed.error?.message).toBe(`the handler's child process (pid ${s.notes(killFile)[0]!.pid}) was killed by signal SIGKILL while it ran the handler`);

    const strayFile = join(s.dir, 'stray');
    const stray = await s.finish('strayThrow', 'process', { file: strayFile });
    expect(stray.error?.message).toBe(
      `the handler's child process (pid ${s.notes(strayFile)[0]!.pid}) exited with code 70 while it ran the handler: uncaught Error: stray failure outside the handler`,
    );

    const after = await s.finish('pid', 'process');
    expect(after.status).toBe('completed');
    const crashed = [exitPid, s.notes(killFile)[0]!.pid, s.notes(strayFile)[0]!.pid];
    expect(crashed).not.toContain(pidOf(after));
    for (const pid of crashed) expect(processAlive(pid)).toBe(false);
  });

  it('retries a crashed attempt in a new child', async () => {
    const s = await stand();
    const file = join(s.dir, 'crash-retry');
    const run = await s.finish('exitProcess', 'process', { file, code: 9 }, { maxAttempts: 2, delay: 0 });
    expect(run.status).toBe('failed');
    expect(run.attempt).toBe(2);
    const [first, second] = s.notes(file);
    expect(first!.pid).not.toBe(second!.pid);
  });

  it('reuses a warm child for the next run and keeps at most process_pool_size idle', async () => {
    const s = await stand({ processPoolSize: 1 });
    const first = await s.finish('pid', 'process');
    const second = await s.finish('pid', 'process');
    expect(pidOf(first)).not.toBe(process.pid);
    expect(pidOf(second)).toBe(pidOf(first));

    const file = join(s.dir, 'parallel');
    const parallel = await s.store.createMany(Array.from({ length: 3 }, () => ({ funcName: 'bad.honour', args: { file, ms: 1500 }, runtime: 'process' as const })));
    for (const { id } of parallel) expect((await s.store.wait(id, 20_000)).status).toBe('completed');
    expect(new Set(s.notes(file).map((n) => n.pid)).size).toBe(3);
    await eventually(() => (s.runner.processPids.length === 1 ? true : undefined), 5000, 'the extra children to exit');
  });

  it('refuses a handler that is not from a module listed under modules:, which still runs inline', async () => {
    const s = await stand();
    const refused = await s.store.wait((await s.store.create({ funcName: 'direct.fn', runtime: 'process' })).id, 10_000);
    expect(refused.status).toBe('failed');
    expect(refused.error).toMatchObject({
      name: 'RuntimeRefusedError',
      message: "runtime 'process' cannot run 'direct.fn': module 'direct' is not listed under modules:; child processes load handlers only from the modules listed under modules: (a handler given in code runs inline only)",
    });
    expect(s.runner.processPids).toEqual([]);
    const inline = await s.store.wait((await s.store.create({ funcName: 'direct.fn', runtime: 'inline' })).id, 10_000);
    expect(inline).toMatchObject({ status: 'completed', result: 'direct' });
  });

  it('is the runner\'s default when configured so; a run naming inline still runs inline', async () => {
    const s = await stand({ runtime: 'process' });
    const byDefault = await s.finish('pid', undefined);
    expect(byDefault.runtime).toBeNull();
    expect(pidOf(byDefault)).not.toBe(process.pid);
    expect(s.runner.processPids).toContain(pidOf(byDefault));
    const inline = await s.finish('pid', 'inline');
    expect(pidOf(inline)).toBe(process.pid);
  });

  it('hands a run back on drain, killing a child that ignores the shutdown signal, and leaves no child behind', async () => {
    const s = await stand();
    const file = join(s.dir, 'drain');
    const run = await s.store.create({ funcName: 'bad.stubborn', args: { file, ms: 60_000 }, runtime: 'process' });
    await s.finish('pid', 'process');
    await eventually(() => (s.notes(file).length > 0 ? true : undefined), 15_000, 'the handler to start', 20);
    const pids = s.runner.processPids;
    expect(pids).toHaveLength(2);
    const started = Date.now();
    await s.runner.drain(0);
    // Bounded by the abort grace (300 ms), not by the handler's 60 s.
    expect(Date.now() - started).toBeLessThan(5000);
    const after = await s.store.get(run.id);
    expect(after).toMatchObject({ status: 'pending', attempt: 0 });
    expect(after?.history.at(-1)?.outcome).toBe('released');
    for (const pid of pids) expect(processAlive(pid)).toBe(false);
    expect(s.runner.processPids).toEqual([]);
    expect(s.lines.some((line) => line['runId'] === run.id && line['abort'] === 'shutdown')).toBe(true);
  });

  it('kills busy and idle children on close', async () => {
    const s = await stand();
    const file = join(s.dir, 'close');
    await s.store.create({ funcName: 'bad.hang', args: { file }, runtime: 'process' });
    await s.finish('pid', 'process');
    await eventually(() => (s.notes(file).length > 0 ? true : undefined), 15_000, 'the handler to start', 20);
    const pids = s.runner.processPids;
    expect(pids).toHaveLength(2);
    await s.runner.close();
    for (const pid of pids) expect(processAlive(pid)).toBe(false);
  });
});
