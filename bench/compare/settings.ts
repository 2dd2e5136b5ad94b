import { parseArgs } from 'node:util';

/**
 * The counts of `npm run bench:compare`, compiled once from flags (and `--quick`) into a frozen
 * object the phases read. Defaults are sized so the whole comparison fits its share of the
 * 10-minute `npm run bench` on 2 cores; each count below the issue's carries the reason, and the
 * reasons go into the printed table and the results file.
 *
 * Two classes of store, because their speeds differ by two orders of magnitude here:
 * - `mongo`: Taskplane (3 shards and 1 shard) and Agenda, on FerretDB 1.24/SQLite, where every
 *   filtered query scans its collection. Taskplane and Agenda get the same counts, so their
 *   collections are the same size when they are compared.
 * - `redis`: BullMQ, which runs the issue's counts where they cost little.
 */

/** The issue's counts (issue 7). */
export const ISSUE = Object.freeze({
  runs: 20_000,
  rate: 200,
  seconds: 20,
  ticks: 60,
  finished: 200_000,
  repetitions: 3,
});

export type StoreClass = 'mongo' | 'redis';

export interface ClassCounts {
  /** Runs enqueued (bulk where there is a bulk path, the rest one by one) and then drained. */
  readonly runs: number;
  /** Of those, enqueued one by one (awaiting each call); Agenda has no bulk path and enqueues all one by one. */
  readonly oneByOne: number;
  /** A drain that has not finished after this long is cut off; its rate counts what completed. */
  readonly drainCapSeconds: number;
  /** Enqueue + drain repetitions; the median is reported. */
  readonly repetitions: number;
  /** Finished runs the statistics query counts over. */
  readonly finished: number;
}

export interface CompareSettings {
  readonly quick: boolean;
  readonly classes: Readonly<Record<StoreClass, ClassCounts>>;
  /** Steady load: one create every 1000/rate ms for `seconds`, same for every system. */
  readonly rate: number;
  readonly seconds: number;
  /** After the last create, how long runs may still start and finish before the rest count as "not within the window". */
  readonly graceSeconds: number;
  /** `* * * * * *` ticks observed per system (all systems tick at the same time, see tick-phase.ts). */
  readonly ticks: number;
  /**
   * Finished runs Taskplane's statistics count over: its statistics read the shards' run counts,
   * so the issue's 200,000 cost only the seeding. Agenda keeps the class count (its query reads
   * every job).
   */
  readonly taskplaneFinished: number;
  /** Statistics queries per system; the median is reported. */
  readonly statisticsQueries: number;
  readonly concurrency: number;
  /** Agenda's polling interval (ms). */
  readonly agendaProcessEveryMs: number;
  /** Agenda's MongoDB connection pool; see agenda-worker.ts for why 1. */
  readonly agendaPoolSize: number;
  /** Systems to run, in order (`--only`). */
  readonly systems: readonly SystemId[];
}

export const SYSTEM_IDS = ['taskplane-3', 'taskplane-1', 'bullmq', 'agenda'] as const;
export type SystemId = (typeof SYSTEM_IDS)[number];

const FULL: Omit<CompareSettings, 'systems' | 'quick'> = {
  classes: {
    mongo: { runs: 2_000, oneByOne: 500, drainCapSeconds: 20, repetitions: 1, finished: 20_000 },
    redis: { runs: 20_000, oneByOne: 2_000, drainCapSeconds: 20, repetitions: 3, finished: 20_000 },
  },
  rate: 200,
  seconds: 10,
  graceSeconds: 5,
  ticks: 60,
  taskplaneFinished: ISSUE.finished,
  statisticsQueries: 3,
  concurrency: 100,
  agendaProcessEveryMs: 100,
  agendaPoolSize: 1,
};

/** Small counts for development on a shared machine: a couple of minutes, figures not for the README. */
const QUICK: Omit<CompareSettings, 'systems' | 'quick'> = {
  ...FULL,
  classes: {
    mongo: { runs: 300, oneByOne: 100, drainCapSeconds: 15, repetitions: 1, finished: 2_000 },
    redis: { runs: 2_000, oneByOne: 300, drainCapSeconds: 15, repetitions: 1, finished: 2_000 },
  },
  rate: 50,
  seconds: 5,
  graceSeconds: 5,
  ticks: 5,
  taskplaneFinished: 2_000,
  statisticsQueries: 3,
};

const FLAGS = {
  quick: { type: 'boolean' },
  runs: { type: 'string' },
  'one-by-one': { type: 'string' },
  'drain-cap': { type: 'string' },
  reps: { type: 'string' },
  finished: { type: 'string' },
  'redis-runs': { type: 'string' },
  'redis-finished': { type: 'string' },
  'taskplane-finished': { type: 'string' },
  rate: { type: 'string' },
  seconds: { type: 'string' },
  ticks: { type: 'string' },
  'agenda-pool': { type: 'string' },
  only: { type: 'string' },
} as const;

export const USAGE =
  'flags: --quick | Taskplane and Agenda: --runs N --one-by-one N --drain-cap S --reps N --finished M (Agenda; Taskplane: --taskplane-finished M) | BullMQ: --redis-runs N --redis-finished M | ' +
  '--rate R --seconds T --ticks K | --agenda-pool N | --only taskplane-3,taskplane-1,bullmq,agenda';

function positive(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} must be a positive number, got "${raw}" (${USAGE})`);
  return value;
}

const integer = (name: string, raw: string | undefined, fallback: number) => {
  const value = positive(name, raw, fallback);
  if (!Number.isInteger(value)) throw new Error(`--${name} must be a whole number, got "${raw}"`);
  return value;
};

export function compileSettings(argv: readonly string[]): CompareSettings {
  const { values: v } = parseArgs({ args: [...argv], options: FLAGS, strict: true });
  const base = v.quick ? QUICK : FULL;
  const mongo: ClassCounts = {
    runs: integer('runs', v.runs, base.classes.mongo.runs),
    oneByOne: integer('one-by-one', v['one-by-one'], base.classes.mongo.oneByOne),
    drainCapSeconds: positive('drain-cap', v['drain-cap'], base.classes.mongo.drainCapSeconds),
    repetitions: integer('reps', v.reps, base.classes.mongo.repetitions),
    finished: integer('finished', v.finished, base.classes.mongo.finished),
  };
  const redisRuns = integer('redis-runs', v['redis-runs'], base.classes.redis.runs);
  const redis: ClassCounts = {
    ...base.classes.redis,
    runs: redisRuns,
    // A tenth one by one, as in the defaults.
    oneByOne: Math.min(base.classes.redis.oneByOne, Math.ceil(redisRuns / 10)),
    drainCapSeconds: mongo.drainCapSeconds,
    finished: integer('redis-finished', v['redis-finished'], base.classes.redis.finished),
  };
  if (mongo.oneByOne > mongo.runs) throw new Error(`--one-by-one (${mongo.oneByOne}) must not exceed --runs (${mongo.runs})`);
  const systems = v.only === undefined ? [...SYSTEM_IDS] : v.only.split(',').map((s) => s.trim());
  for (const system of systems) {
    if (!(SYSTEM_IDS as readonly string[]).includes(system)) throw new Error(`--only: unknown system "${system}"; expected ${SYSTEM_IDS.join(', ')}`);
  }
  return Object.freeze({
    ...base,
    quick: v.quick === true,
    classes: Object.freeze({ mongo: Object.freeze(mongo), redis: Object.freeze(redis) }),
    rate: positive('rate', v.rate, base.rate),
    seconds: positive('seconds', v.seconds, base.seconds),
    ticks: integer('ticks', v.ticks, base.ticks),
    taskplaneFinished: integer('taskplane-finished', v['taskplane-finished'], base.taskplaneFinished),
    agendaPoolSize: integer('agenda-pool', v['agenda-pool'], base.agendaPoolSize),
    systems: systems as SystemId[],
  });
}

export function storeClassOf(system: SystemId): StoreClass {
  return system === 'bullmq' ? 'redis' : 'mongo';
}

/** Every count below the issue's, with why; printed and stored with the results. */
export function shortfalls(
  settings: CompareSettings,
  measured: { readonly taskplaneMsPerRun: number | null; readonly agendaStatistics: { readonly finished: number; readonly medianMs: number } | null },
): string[] {
  const notes: string[] = [];
  const ms = measured.taskplaneMsPerRun;
  const perRun = ms === null ? '' : ` (Taskplane took ${ms.toFixed(1)} ms per drained run here: ${fmt(ISSUE.runs)} would take about ${fmt(Math.round((ISSUE.runs * ms) / 1000))} s for its drain alone, before the collection grows)`;
  const { mongo, redis } = settings.classes;
  if (settings.quick) notes.push('`--quick`: development counts, far below the issue\'s; not figures to quote.');
  if (mongo.runs < ISSUE.runs) {
    notes.push(
      `Taskplane and Agenda enqueue and drain ${fmt(mongo.runs)} runs, not ${fmt(ISSUE.runs)}, and a drain is cut off after ${mongo.drainCapSeconds} s: ` +
        `on FerretDB 1.24/SQLite every claim scans its collection, so ${fmt(ISSUE.runs)} runs would take far longer than the 10-minute budget${perRun}.`,
    );
  }
  if (redis.runs < ISSUE.runs) notes.push(`BullMQ enqueues and drains ${fmt(redis.runs)} runs, not ${fmt(ISSUE.runs)}.`);
  if (mongo.repetitions < ISSUE.repetitions) notes.push(`Enqueue and drain on FerretDB run ${mongo.repetitions}× (median of ${ISSUE.repetitions} does not fit the budget); BullMQ ${redis.repetitions}×.`);
  if (settings.rate < ISSUE.rate || settings.seconds < ISSUE.seconds) {
    notes.push(`Steady load is ${settings.rate} runs/s for ${settings.seconds} s, not ${ISSUE.rate} runs/s for ${ISSUE.seconds} s: four systems × (load + ${settings.graceSeconds} s grace) must fit the budget.`);
  }
  if (settings.ticks < ISSUE.ticks) notes.push(`${settings.ticks} ticks, not ${ISSUE.ticks}.`);
  if (settings.taskplaneFinished < ISSUE.finished) notes.push(`Taskplane's statistics count over ${fmt(settings.taskplaneFinished)} finished runs, not ${fmt(ISSUE.finished)}.`);
  if (Math.min(mongo.finished, redis.finished) < ISSUE.finished) {
    const stats = measured.agendaStatistics;
    const cost = stats && stats.finished > 0 ? ` (here ${(stats.medianMs / (stats.finished / 1000)).toFixed(0)} ms per 1,000 finished jobs)` : '';
    notes.push(
      `Agenda's statistics count over ${fmt(mongo.finished)} finished jobs and BullMQ's over ${fmt(redis.finished)}, not ${fmt(ISSUE.finished)}: Agenda's overview reads every job on FerretDB${cost}, ` +
        `so seeding and querying ${fmt(ISSUE.finished)} does not fit the budget; BullMQ's counts are per-state set sizes, the same at any count.`,
    );
  }
  return notes;
}

const fmt = (n: number) => n.toLocaleString('en-US');
