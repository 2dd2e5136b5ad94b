import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { RedisCoordinator } from '../../../src/coordination/redis-coordinator.js';
import { withRunEvents } from '../../../src/coordination/publishing-store.js';
import type { NewRun } from '../../../src/core/run-input.js';
import type { JsonValue } from '../../../src/core/types.js';
import { createTaskStore } from '../../../src/storage/create-store.js';
import { CompletionWatch } from '../../lib/completion-watch.js';
import { dropDatabases, freshDatabaseUrls } from '../../lib/mongo-servers.js';
import type { SystemId } from '../settings.js';
import { BULK_BATCH, type Namespace, type SystemClient } from './client-contract.js';
import { NAMES } from './worker-contract.js';

export interface TaskplaneClientOptions {
  readonly id: Extract<SystemId, 'taskplane-3' | 'taskplane-1'>;
  /** One server per shard (cycled if fewer). */
  readonly servers: readonly string[];
  readonly shards: number;
  readonly redisUrl: string;
  readonly capacity: number;
  readonly onError: (error: Error) => void;
}

/**
 * Taskplane as a program uses it: a client store (`createTaskStore` + `withRunEvents` over a
 * `RedisCoordinator`, so creates wake the runner) in the benchmark process, and a runner node in
 * the worker child on the same databases and Redis prefix.
 */
export function taskplaneClient(options: TaskplaneClientOptions): SystemClient {
  const { id, shards } = options;
  return {
    id,
    label: `Taskplane, ${shards} shard${shards === 1 ? '' : 's'}`,
    stack: `${shards} FerretDB shard${shards === 1 ? '' : 's'} + Redis`,
    open: (phase) => openNamespace(options, phase),
  };
}

async function openNamespace(options: TaskplaneClientOptions, phase: string): Promise<Namespace> {
  const urls = freshDatabaseUrls(options.servers, `cmp${options.shards}_${phase}`, options.shards);
  const redisPrefix = `tpbench:cmp:${randomBytes(4).toString('hex')}:`;
  const raw = createTaskStore({ mongo: { shards: urls } });
  const coordinator = new RedisCoordinator({ url: options.redisUrl, prefix: redisPrefix, onError: options.onError });
  let watch: CompletionWatch | null = null;
  const close = async () => {
    watch?.close();
    await coordinator.close().catch(() => {});
    await raw.close().catch(() => {});
    await dropDatabases(urls);
  };
  try {
    await Promise.all([raw.start(), coordinator.start()]);
    watch = new CompletionWatch(coordinator);
  } catch (error) {
    await close();
    throw error;
  }
  const store = withRunEvents(raw, coordinator);
  const completionWatch = watch;
  const noop = (args: JsonValue): NewRun => ({ funcName: NAMES.taskplaneNoop, args });

  return {
    workerSpec: ({ tick }) => ({
      system: 'taskplane',
      shards: urls,
      redisUrl: options.redisUrl,
      redisPrefix,
      capacity: options.capacity,
      tick: tick ? { name: NAMES.tickDefinition, funcName: NAMES.taskplaneTick, schedule: NAMES.everySecond } : null,
    }),
    enqueueBulk: async (args) => {
      const results = await store.createMany(args.map(noop));
      const failed = results.filter((result) => !result.created);
      if (failed.length > 0) throw new Error(`createMany: ${failed.length} of ${args.length} runs not created (first: ${JSON.stringify(failed[0])})`);
    },
    bulkBatch: BULK_BATCH,
    bulkCall: `\`createMany\` of ${BULK_BATCH.toLocaleString('en-US')}`,
    oneCall: '`create`',
    enqueueOne: async (args) => (await store.create(noop(args))).id,
    completions: () => ({
      completed: completionWatch.completed,
      lastAt: completionWatch.completed > 0 ? performance.timeOrigin + completionWatch.lastCompletionAt : null,
    }),
    finishLatencies: async (ids) => {
      const latencies: number[] = [];
      for (let from = 0; from < ids.length; from += 500) {
        for (const run of await raw.getMany(ids.slice(from, from + 500))) {
          const t = run && typeof run.args === 'object' && run.args !== null && !Array.isArray(run.args) ? run.args['t'] : undefined;
          if (run?.finishedAt && typeof t === 'number') latencies.push(run.finishedAt.getTime() - t);
        }
      }
      return latencies;
    },
    startTicks: async () => {},
    stopTicks: async () => {},
    tickCreatedAt: async (ids) => {
      const created = new Map<string, number>();
      for (let from = 0; from < ids.length; from += 500) {
        for (const run of await raw.getMany(ids.slice(from, from + 500))) if (run) created.set(run.id, run.createdAt.getTime());
      }
      return created;
    },
    seedFinished: async (count) => {
      // `unknown task` is a final status a run can be created in (the scheduler records starts of
      // undefined names that way), so the store's own bulk path writes finished runs directly.
      for (let from = 0; from < count; from += BULK_BATCH) {
        const batch = Array.from({ length: Math.min(BULK_BATCH, count - from) }, (_, i): NewRun => ({ funcName: NAMES.taskplaneNoop, args: [from + i], status: 'unknown task' }));
        const failed = (await raw.createMany(batch)).filter((result) => !result.created);
        if (failed.length > 0) throw new Error(`seeding: ${failed.length} runs not created`);
      }
      return `\`createMany\` of finished runs (status \`unknown task\`), ${BULK_BATCH.toLocaleString('en-US')} per call`;
    },
    statistics: async () => {
      const { total, unavailable } = await raw.statistics();
      if (unavailable.length > 0) throw new Error(`statistics: shards unavailable: ${unavailable.join(', ')}`);
      return total.total - total.pending - total.running;
    },
    statisticsCall: '`statistics()` (counts by status, every shard)',
    close,
  };
}
