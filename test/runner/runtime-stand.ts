import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { MemoryCoordinator } from '../../src/coordination/memory-coordinator.js';
import type { Runtime } from '../../src/core/types.js';
import type { NewRun } from '../../src/core/run-input.js';
import { loadHandlers } from '../../src/runner/load-handlers.js';
import { Runner, type RunnerOptions } from '../../src/runner/runner.js';
import { createTaskStore } from '../../src/storage/create-store.js';
import { ShardKeeper } from '../../src/storage/shard-keeper.js';
import { projectRoot } from '../services/project-root.js';

/**
 * A real runner over the embedded storage engine (the same storage code as the MongoDB shards,
 * in-process) and the in-process coordinator, with the misbehaving handlers as module `bad`
 * and one handler given in code (`direct.fn`). Its log lines are kept for assertions.
 */

export const BAD_MODULE = join(projectRoot, 'test/fixtures/misbehaving-handlers.ts');

export interface Stand {
  readonly store: ReturnType<typeof createTaskStore>;
  readonly runner: Runner;
  readonly lines: Array<Record<string, unknown>>;
  readonly dir: string;
  /** Creates a run of `bad.<fn>` in `runtime` (undefined: the runner's default) and waits until it is final. */
  finish(fn: string, runtime: Runtime | undefined, args?: object, extra?: Partial<NewRun>, timeoutMs?: number): Promise<Awaited<ReturnType<Stand['store']['wait']>>>;
  /** Lines of a fixture's note file: `<event> <pid>`. */
  notes(file: string): Array<{ event: string; pid: number }>;
  close(): Promise<void>;
}

/** `sweepEveryMs`: also run the storage role's sweep (expired leases → retry or `lost`) this often. */
export async function startStand(options: Partial<RunnerOptions> & { sweepEveryMs?: number } = {}): Promise<Stand> {
  const { sweepEveryMs, ...runnerOptions } = options;
  const store = createTaskStore({ embedded: { shards: 2 } });
  const coordinator = new MemoryCoordinator();
  await Promise.all([store.start(), coordinator.start()]);
  const lines: Array<Record<string, unknown>> = [];
  const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  const modules = { bad: BAD_MODULE };
  const handlers = await loadHandlers(modules, { 'direct.fn': () => 'direct' });
  const runner = new Runner({
    store, coordinator, log, id: 'runner-1', node: 'node-1', cluster: 'default', group: 'default', tags: ['default'],
    handlers, modules, capacity: 4, pollMs: 50, drainGraceMs: 100, heartbeatMs: 1000, abortGraceMs: 300, processPoolSize: 2,
    ...runnerOptions,
  });
  const keeper = sweepEveryMs
    ? new ShardKeeper({ store, coordinator, log, nodeId: 'node-1', leaseMs: 1000, sweepEveryMs, trimEveryMs: 60_000, taskLogMaxSize: 1000 })
    : null;
  keeper?.start();
  await runner.start();
  const dir = mkdtempSync(join(tmpdir(), 'tp-runtimes-'));
  return {
    store,
    runner,
    lines,
    dir,
    async finish(fn, runtime, args = {}, extra = {}, timeoutMs = 20_000) {
      const run = await store.create({ funcName: `bad.${fn}`, args: args as never, ...(runtime ? { runtime } : {}), ...extra });
      const done = await store.wait(run.id, timeoutMs);
      if (done.status === 'pending' || done.status === 'running') throw new Error(`run of bad.${fn} (${runtime}) still ${done.status} after ${timeoutMs} ms`);
      return done;
    },
    notes(file) {
      if (!existsSync(file)) return [];
      return readFileSync(file, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => {
          const at = line.lastIndexOf(' ');
          return { event: line.slice(0, at), pid: Number(line.slice(at + 1)) };
        });
    },
    async close() {
      await runner.close();
      await keeper?.close();
      await Promise.all([store.close(), coordinator.close()]);
    },
  };
}

/** Whether a process with this pid exists (signal 0 checks without sending anything). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
