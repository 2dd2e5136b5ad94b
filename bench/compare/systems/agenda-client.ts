import { MongoBackend } from '@agendajs/mongo-backend';
import { Agenda } from 'agenda';
import { MongoClient, ObjectId, type Document } from 'mongodb';
import { dropDatabases, freshDatabaseUrls } from '../../lib/mongo-servers.js';
import { BULK_BATCH, type Namespace, type SystemClient } from './client-contract.js';
import { NAMES } from './worker-contract.js';

export interface AgendaClientOptions {
  /** The FerretDB server Agenda uses (one of Taskplane's). */
  readonly server: string;
  readonly concurrency: number;
  readonly processEveryMs: number;
  readonly poolSize: number;
}

const COLLECTION = 'agendaJobs';

/**
 * Agenda 6 with `@agendajs/mongo-backend` on one of the FerretDB servers: an Agenda instance
 * that only creates jobs (never started) in the benchmark process, one that processes them in
 * the worker child. Agenda has no bulk create: `now()` saves one job per call.
 */
export function agendaClient(options: AgendaClientOptions): SystemClient {
  return {
    id: 'agenda',
    label: 'Agenda',
    stack: '1 FerretDB server',
    open: (phase) => openNamespace(options, phase),
  };
}

async function openNamespace(options: AgendaClientOptions, phase: string): Promise<Namespace> {
  const [url] = freshDatabaseUrls([options.server], `cmpag_${phase}`, 1);
  if (!url) throw new Error('no FerretDB server for Agenda');
  // The same pool size as the worker's, for the same reason (see agenda-worker.ts).
  const client = new MongoClient(url, { maxPoolSize: options.poolSize, serverSelectionTimeoutMS: 5000 });
  const close = async () => {
    await client.close().catch(() => {});
    await dropDatabases([url]);
  };
  let agenda: Agenda;
  try {
    await client.connect();
    agenda = new Agenda({ backend: new MongoBackend({ mongo: client.db(), collection: COLLECTION }), name: 'bench-client' });
    await agenda.ready;
  } catch (error) {
    await close();
    throw error;
  }
  const jobs = client.db().collection(COLLECTION);
  const spec = {
    system: 'agenda',
    mongoUrl: url,
    collection: COLLECTION,
    concurrency: options.concurrency,
    processEveryMs: options.processEveryMs,
    poolSize: options.poolSize,
  } as const;
  return {
    workerSpec: () => spec,
    enqueueBulk: null,
    bulkBatch: 1,
    bulkCall: 'none (Agenda 6 saves one job per call)',
    oneCall: '`agenda.now`',
    enqueueOne: async (data) => String((await agenda.now(NAMES.agendaNoop, data)).attrs._id),
    completions: () => null,
    finishLatencies: async () => null,
    startTicks: async () => {
      // The cron form: `every('1 second')` would set each next run to the last start + 1 s, so its
      // schedule slides with every late start and there is no fixed instant to measure drift against.
      await agenda.every(NAMES.everySecond, NAMES.agendaTick);
    },
    stopTicks: async () => {
      await agenda.cancel({ name: NAMES.agendaTick });
    },
    tickCreatedAt: async () => null,
    seedFinished: async (count, drainWith) => {
      // Writing 20,000+ jobs one `now()` at a time on FerretDB takes minutes, so one job is run to
      // completion by an Agenda worker and its stored document is copied with fresh ids: the
      // documents are exactly what Agenda leaves after a completed one-off job.
      await agenda.now(NAMES.agendaNoop, { i: 0 });
      await drainWith(spec, 1);
      const done = await jobs.findOne({ name: NAMES.agendaNoop, lastFinishedAt: { $ne: null } });
      if (!done) throw new Error('seeding: the Agenda worker completed no job');
      const { _id: _ignored, ...template } = done;
      for (let from = 1; from < count; from += BULK_BATCH) {
        const size = Math.min(BULK_BATCH, count - from);
        await jobs.insertMany(Array.from({ length: size }, (_, i): Document => ({ ...template, _id: new ObjectId(), data: { i: from + i } })));
      }
      return 'one job run to completion by an Agenda worker, its stored document copied with fresh ids (`insertMany`)';
    },
    statistics: async () => {
      const overview = await agenda.getJobsOverview();
      return overview.reduce((sum, entry) => sum + entry.completed + entry.failed, 0);
    },
    statisticsCall: '`agenda.getJobsOverview()` (counts by state per job name)',
    close,
  };
}
