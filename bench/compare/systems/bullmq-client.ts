import { randomBytes } from 'node:crypto';
import { Queue } from 'bullmq';
import { BULK_BATCH, type Namespace, type SystemClient } from './client-contract.js';
import { redisOptionsOf } from './redis-options.js';
import { NAMES } from './worker-contract.js';

export interface BullmqClientOptions {
  readonly redisUrl: string;
  readonly concurrency: number;
}

/**
 * BullMQ 6 on the same Redis as Taskplane: a `Queue` in the benchmark process (each phase its
 * own queue, obliterated after), a `Worker` in the worker child. Jobs are added with
 * `removeOnComplete`, except the finished jobs the statistics phase counts.
 */
export function bullmqClient(options: BullmqClientOptions): SystemClient {
  return {
    id: 'bullmq',
    label: 'BullMQ',
    stack: 'Redis',
    open: (phase) => openNamespace(options, phase),
  };
}

async function openNamespace(options: BullmqClientOptions, phase: string): Promise<Namespace> {
  const name = `cmp-${phase}-${randomBytes(4).toString('hex')}`;
  const queue = new Queue(name, { connection: redisOptionsOf(options.redisUrl) });
  await queue.waitUntilReady();
  const spec = { system: 'bullmq', redisUrl: options.redisUrl, queue: name, concurrency: options.concurrency } as const;
  return {
    workerSpec: () => spec,
    enqueueBulk: async (args) => {
      await queue.addBulk(args.map((data) => ({ name: NAMES.bullmqNoop, data, opts: { removeOnComplete: true } })));
    },
    bulkBatch: BULK_BATCH,
    bulkCall: `\`Queue.addBulk\` of ${BULK_BATCH.toLocaleString('en-US')}`,
    oneCall: '`Queue.add`',
    enqueueOne: async (data) => String((await queue.add(NAMES.bullmqNoop, data, { removeOnComplete: true })).id),
    completions: () => null,
    finishLatencies: async () => null,
    startTicks: async () => {
      await queue.upsertJobScheduler(NAMES.bullmqTickScheduler, { pattern: NAMES.everySecond }, { name: NAMES.bullmqTick, opts: { removeOnComplete: true } });
    },
    stopTicks: async () => {
      await queue.removeJobScheduler(NAMES.bullmqTickScheduler);
    },
    tickCreatedAt: async () => null,
    seedFinished: async (count, drainWith) => {
      for (let from = 0; from < count; from += BULK_BATCH) {
        const size = Math.min(BULK_BATCH, count - from);
        await queue.addBulk(Array.from({ length: size }, (_, i) => ({ name: NAMES.bullmqNoop, data: { i: from + i }, opts: { removeOnComplete: false } })));
      }
      await drainWith(spec, count);
      return `\`Queue.addBulk\` without \`removeOnComplete\`, then processed by a BullMQ worker (kept in the completed set)`;
    },
    statistics: async () => (await queue.getJobCounts()).completed ?? 0,
    statisticsCall: '`Queue.getJobCounts()` (every state)',
    close: async () => {
      await queue.obliterate({ force: true }).catch(() => {});
      await queue.close();
    },
  };
}
