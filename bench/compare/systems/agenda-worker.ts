import { MongoBackend } from '@agendajs/mongo-backend';
import { Agenda } from 'agenda';
import { MongoClient } from 'mongodb';
import type { WorkerSpec } from '../protocol.js';
import { NAMES, type SystemWorkerFactory } from './worker-contract.js';

type AgendaSpec = Extract<WorkerSpec, { system: 'agenda' }>;

/**
 * Agenda 6 with `@agendajs/mongo-backend`, tuned for throughput: `processEvery` small, and
 * `maxConcurrency`, `defaultConcurrency`, `lockLimit`, `defaultLockLimit` all `spec.concurrency`.
 *
 * Its MongoDB client holds `spec.poolSize` connections (1 by default). Why: with the driver's
 * default pool, Agenda sends concurrent `findAndModify`/`update` commands and FerretDB 1.24 on
 * SQLite answers some with `database is locked (5) (SQLITE_BUSY)`; Agenda logs the failed final
 * save and moves on (`Job.run` ignores it), so those jobs stay locked for the lock lifetime
 * (10 min) although their handlers ran. One connection serialises the commands, which is what
 * SQLite does with them anyway. `--agenda-pool N` shows the other behaviour.
 *
 * A completion counts at Agenda's `complete` event (after its final save); failed commands are
 * counted as errors, so a completion whose save failed does not go unseen. Agenda keeps only the
 * next run time of a repeating job, so a tick's scheduled instant is the `nextRunAt` the previous
 * tick left (null for the first one).
 */
export const createAgendaWorker: SystemWorkerFactory<AgendaSpec> = async (spec, recorder) => {
  const client = new MongoClient(spec.mongoUrl, { maxPoolSize: spec.poolSize, serverSelectionTimeoutMS: 5000 });
  await client.connect();
  const concurrency = spec.concurrency;
  const agenda = new Agenda({
    backend: new MongoBackend({ mongo: client.db(), collection: spec.collection }),
    name: 'bench-worker',
    processEvery: spec.processEveryMs,
    maxConcurrency: concurrency,
    defaultConcurrency: concurrency,
    lockLimit: concurrency,
    defaultLockLimit: concurrency,
  });
  agenda.on('error', (error: Error) => recorder.error(error.message));
  agenda.on('fail', (error: Error) => recorder.error(`job failed: ${error.message}`));
  agenda.define(NAMES.agendaNoop, async (job) => {
    recorder.handlerStarted(job.attrs.data);
  });
  let nextTick: number | null = null;
  agenda.define(NAMES.agendaTick, async (job) => {
    const startedAt = recorder.handlerStarted(job.attrs.data);
    recorder.tick({ id: `${String(job.attrs._id)}@${startedAt}`, scheduledAt: nextTick, startedAt });
    nextTick = job.attrs.nextRunAt?.getTime() ?? null;
  });
  agenda.on('complete', (job) => {
    if (job.attrs.name === NAMES.agendaNoop) recorder.completed(job.attrs.data, job.attrs.lastFinishedAt?.getTime() ?? null);
  });
  await agenda.ready;
  return {
    start: () => agenda.start(),
    stop: async () => {
      await agenda.stop();
      await client.close();
    },
  };
};
