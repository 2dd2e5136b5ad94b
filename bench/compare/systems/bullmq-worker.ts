import { Worker } from 'bullmq';
import type { WorkerSpec } from '../protocol.js';
import { redisOptionsOf } from './redis-options.js';
import { NAMES, type SystemWorkerFactory } from './worker-contract.js';

type BullSpec = Extract<WorkerSpec, { system: 'bullmq' }>;

/**
 * A BullMQ `Worker` with concurrency `spec.concurrency` and no-op processors. `autorun: false`,
 * so it connects first and fetches only once started. A completion counts once BullMQ has moved
 * the job to completed (its `completed` event); `finishedOn` is the finish time it stored.
 * A tick job carries its scheduled instant in `opts.prevMillis` (set by the job scheduler).
 */
export const createBullmqWorker: SystemWorkerFactory<BullSpec> = async (spec, recorder) => {
  const worker = new Worker(
    spec.queue,
    async (job) => {
      const startedAt = recorder.handlerStarted(job.data);
      if (job.name === NAMES.bullmqTick) recorder.tick({ id: String(job.id), scheduledAt: job.opts.prevMillis ?? null, startedAt });
      return null;
    },
    { connection: redisOptionsOf(spec.redisUrl), concurrency: spec.concurrency, autorun: false },
  );
  worker.on('completed', (job) => recorder.completed(job.data, job.finishedOn ?? null));
  worker.on('failed', (_job, error) => recorder.error(`job failed: ${error.message}`));
  worker.on('error', (error) => recorder.error(error.message));
  await worker.waitUntilReady();
  return {
    start: async () => {
      void worker.run().catch((error: unknown) => recorder.error(error instanceof Error ? error.message : String(error)));
    },
    stop: () => worker.close(),
  };
};
