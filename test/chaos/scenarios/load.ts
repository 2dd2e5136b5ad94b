import type { NewRun } from '../../../src/core/run-input.js';
import { summarize } from '../../../bench/lib/percentiles.js';
import { countStoredRuns, type AuditRun } from '../audit.js';
import { databaseUrls, sleep } from '../harness.js';
import { runScenario, seededRandom, waitUntilSettled, type ScenarioContext, type ScenarioReport } from '../scenario.js';
import { CHAOS_SIZES } from '../sizes.js';

const FAIL_EVERY = 10;
const CREATE_BATCH = 500;
const PROGRESS_EVERY_MS = 10_000;
/** Finished runs are archived off the shards at once: a finished run never changes again. */
const ARCHIVE_AFTER_MS = 0;
/** The final drain fails when no run finishes for this long (longer than a writer's 60 s freeze). */
const STALL_MS = 180_000;

export interface LoadOptions {
  /** Runs to push through. @defaultValue the form's size */
  readonly runs?: number;
  /** Creation stops after this many seconds, whatever was created. @defaultValue the form's size */
  readonly maxSeconds?: number;
}

/**
 * Load with faults: `runs` runs through two runner processes (capacity 32 each) and a storage
 * node. Every tenth run (by its `i` argument) fails on every attempt; runs get 2 attempts; most
 * handlers take under 50 ms, every 25th takes 3 s (longer than the 2 s drain grace). A
 * producer keeps at most `window` runs live (created, not yet final), so the backlog — and with
 * it the create→finish latency — stays bounded however long the run is. Meanwhile a runner is
 * restarted every few seconds (random runner, random interval, seeded), by SIGKILL and SIGTERM in
 * turn: a SIGKILL leaves its runs to lease expiry (retries), a SIGTERM drains (long handlers are
 * handed back unspent). Creation stops at `maxSeconds` with a message when the runs could not
 * all be created by then; what was created is then drained and audited all the same.
 */
export function loadScenario(ctx: ScenarioContext, options: LoadOptions = {}): Promise<ScenarioReport> {
  const size = CHAOS_SIZES[ctx.form].load;
  const runs = options.runs ?? size.runs;
  const maxSeconds = options.maxSeconds ?? size.maxSeconds;
  const random = seededRandom(8_006);
  return runScenario(
    ctx,
    { name: 'load', title: `${runs.toLocaleString('en-US')} runs, 10% failing, random runner restarts` },
    { mongoUrls: databaseUrls(ctx.services.mongoBaseUrls, 'load'), redisUrl: ctx.services.redisUrl },
    async (cluster) => {
      const runner = { roles: ['runner'], runner: { capacity: 32, drain_grace_ms: 2000 } };
      await Promise.all([cluster.startNode('storage-1', { roles: ['storage'] }), cluster.startNode('runner-1', runner), cluster.startNode('runner-2', runner)]);
      const startedAt = Date.now();
      const until = startedAt + maxSeconds * 1000;
      const restarts = { SIGKILL: 0, SIGTERM: 0 };
      const firstSignal = random() < 0.5 ? 0 : 1;
      let faulting = true;
      const chaos = (async () => {
        while (faulting) {
          const [min, max] = size.restartEveryMs;
          await sleepWhile(() => faulting, min + random() * (max - min));
          if (!faulting) break;
          const name = random() < 0.5 ? 'runner-1' : 'runner-2';
          // Alternating from a random first one, so even a short run sees both kinds.
          const signal: NodeJS.Signals = (restarts.SIGKILL + restarts.SIGTERM + firstSignal) % 2 === 0 ? 'SIGKILL' : 'SIGTERM';
          await cluster.stopNode(name, signal, 20_000);
          restarts[signal]++;
          await cluster.startNode(name);
        }
      })();

      let created = 0;
      let stoppedAtBound = false;
      let lastProgress = startedAt;
      let finishedAtLastProgress = 0;
      let confirmed = 0;
      let confirmedAt = 0;
      try {
        // Faults go on until every run is created and finished (or the time bound).
        for (;;) {
          if (Date.now() > until) {
            stoppedAtBound = created < runs;
            break;
          }
          // Finished runs: announced on `runs` (settles), corrected now and then by a count on the
          // shards (sweeps are not announced) — often once everything is created.
          if (Date.now() - confirmedAt > (created < runs ? 5000 : 2000)) {
            const counted = await countStoredRuns(cluster.mongoUrls).catch(() => null);
            if (counted) {
              confirmed = counted.total - counted.live + cluster.archived.length;
              // Finished runs leave the shards as they pile up (see ChaosCluster.archiveFinished).
              if (counted.total - counted.live >= size.archiveAt) {
                const moved = await cluster.archiveFinished(ARCHIVE_AFTER_MS);
                if (moved > 0) ctx.log(`[load] archived ${moved} finished runs (${cluster.archived.length} in all)`);
              }
            }
            confirmedAt = Date.now();
          }
          const finished = Math.max(cluster.announced.size, confirmed);
          const live = created - finished;
          // Both kinds of restart happen at least once, even in the short form.
          if (created === runs && live <= 0 && restarts.SIGKILL > 0 && restarts.SIGTERM > 0) break;
          if (Date.now() - lastProgress >= PROGRESS_EVERY_MS) {
            const rate = ((finished - finishedAtLastProgress) * 1000) / (Date.now() - lastProgress);
            ctx.log(
              `[load] ${Math.round((Date.now() - startedAt) / 1000)} s: created ${created}/${runs}, finished ${finished}, live ${live}, ${rate.toFixed(1)} runs/s, restarts ${restarts.SIGKILL} SIGKILL + ${restarts.SIGTERM} SIGTERM`,
            );
            lastProgress = Date.now();
            finishedAtLastProgress = finished;
          }
          const room = Math.min(CREATE_BATCH, size.window - live, runs - created);
          if (room <= 0) {
            await sleep(500);
            continue;
          }
          const batch: NewRun[] = Array.from({ length: room }, (_, k) => {
            const i = created + k;
            // Most handlers take under 50 ms; every 25th takes 3 s, longer than the drain grace, so a SIGTERM hands some back.
            const ms = i % 25 === 1 ? 3000 : (i * 7919) % 50;
            return { funcName: 'chaos.effect', args: { log: cluster.sideEffects, i, failEvery: FAIL_EVERY, ms }, maxAttempts: 2, delay: 1, timeToResolve: 10 };
          });
          const results = await cluster.createRuns(batch, CREATE_BATCH);
          const refused = results.filter((r) => !r.created).length;
          if (refused > 0) throw new Error(`${refused} creates refused`);
          created += room;
        }
      } finally {
        faulting = false;
        await chaos;
      }
      const creationSeconds = (Date.now() - startedAt) / 1000;
      const bound = stoppedAtBound
        ? `stopped creating at the ${maxSeconds} s bound after ${created.toLocaleString('en-US')} of ${runs.toLocaleString('en-US')} runs; the ${created.toLocaleString('en-US')} created were drained and audited`
        : null;
      if (bound) ctx.log(`[load] ${bound}`);
      for (const name of ['runner-1', 'runner-2']) if (!cluster.running(name)) await cluster.startNode(name);
      ctx.log(`[load] faults stopped after ${creationSeconds.toFixed(0)} s (${created} runs created); draining what is left`);
      // Draining what is left takes as long as the stand is slow: bounded by a total, and by progress.
      await waitUntilSettled(cluster, size.settleMs, ctx.log, STALL_MS);
      return {
        figures: {
          plannedRuns: runs,
          created,
          finishedAll: !stoppedAtBound,
          restartsSigkill: restarts.SIGKILL,
          restartsSigterm: restarts.SIGTERM,
          archived: cluster.archived.length,
          ...(bound ? { note: bound } : {}),
        },
        allowed: (run) => (isPlannedFailure(run) ? ['failed', 'lost'] : ['completed', 'lost']),
        after: (stored) => ({ figures: loadFigures(stored) }),
      };
    },
  );
}

function isPlannedFailure(run: AuditRun): boolean {
  const i = (run.args as { i?: unknown } | null)?.i;
  return typeof i === 'number' && i % FAIL_EVERY === 0;
}

/** Throughput (first create → last finish), create→finish percentiles, error counts. */
export function loadFigures(runs: readonly AuditRun[]): Record<string, number> {
  const finished = runs.filter((run) => run.finishedAt !== null);
  const first = runs.reduce((min, run) => Math.min(min, run.createdAt.getTime()), Number.POSITIVE_INFINITY);
  const last = finished.reduce((max, run) => Math.max(max, run.finishedAt!.getTime()), 0);
  const latency = summarize(finished.map((run) => run.finishedAt!.getTime() - run.createdAt.getTime()));
  const count = (status: string) => runs.filter((run) => run.status === status).length;
  const seconds = (last - first) / 1000;
  return {
    seconds: Math.round(seconds * 10) / 10,
    runsPerSecond: Math.round((finished.length / seconds) * 10) / 10,
    latencyP50Ms: latency?.p50 ?? 0,
    latencyP99Ms: latency?.p99 ?? 0,
    latencyMaxMs: latency?.max ?? 0,
    completed: count('completed'),
    failed: count('failed'),
    lost: count('lost'),
    plannedFailureAttempts: runs.reduce((sum, run) => sum + run.history.filter((h) => h.error !== null).length, 0),
    leaseExpiredAttempts: runs.reduce((sum, run) => sum + run.history.filter((h) => (h.outcome === 'retry' || h.outcome === 'lost') && h.error === null).length, 0),
    releasedAttempts: runs.reduce((sum, run) => sum + run.history.filter((h) => h.outcome === 'released').length, 0),
  };
}

async function sleepWhile(condition: () => boolean, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (condition() && Date.now() < until) await sleep(Math.min(250, until - Date.now()));
}
