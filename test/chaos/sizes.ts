/**
 * How big each scenario is. The test command runs the short form (the whole fault suite in a few
 * minutes on 2 cores); `npm run chaos` runs the long form, as does the test file when
 * `TASKPLANE_CHAOS=long`. Every loop in a scenario is bounded by these counts and times.
 */

export type ChaosForm = 'short' | 'long';

export function chaosForm(env: NodeJS.ProcessEnv = process.env): ChaosForm {
  const raw = env['TASKPLANE_CHAOS']?.trim().toLowerCase();
  if (raw === undefined || raw === '' || raw === 'short') return 'short';
  if (raw === 'long') return 'long';
  throw new Error(`TASKPLANE_CHAOS must be short or long, got "${raw}"`);
}

export interface ChaosSizes {
  /** Runner SIGKILLed mid-handler, then restarted, `kills` times, while waves of runs arrive. */
  readonly runnerKill: { readonly runs: number; readonly kills: number; readonly settleMs: number };
  /** Scheduler leader killed (SIGKILL, then SIGTERM, alternating) `failovers` times. */
  readonly scheduler: { readonly failovers: number; readonly ticksBetweenMs: number };
  /** Storage node holding the shard leases killed together with a runner, `rounds` times. */
  readonly storage: { readonly rounds: number; readonly runsPerRound: number; readonly settleMs: number };
  /** A FerretDB shard SIGKILLed for `outageMs` while runs are created through the API at `ratePerSecond`. */
  readonly shard: { readonly outageMs: number; readonly ratePerSecond: number; readonly beforeMs: number; readonly afterMs: number; readonly settleMs: number };
  /** Redis SIGKILLed for `outageMs` while runs arrive; a runner dies during the outage. */
  readonly redis: { readonly outageMs: number; readonly ratePerSecond: number; readonly beforeMs: number; readonly afterMs: number; readonly settleMs: number };
  /** A runner SIGSTOPped for longer than STUCK_AFTER_MS, `pauses` times, while `runs` drain (long form only). */
  readonly pause: { readonly runs: number; readonly pauses: number; readonly settleMs: number };
  /**
   * `runs` through two runners, 10% failing, random SIGKILL/SIGTERM restarts; creation stops at
   * `maxSeconds`. Once `archiveAt` finished runs are stored, they are archived off the shards.
   */
  readonly load: {
    readonly runs: number;
    readonly window: number;
    readonly restartEveryMs: readonly [number, number];
    readonly maxSeconds: number;
    readonly settleMs: number;
    readonly archiveAt: number;
  };
}

export const CHAOS_SIZES: Record<ChaosForm, ChaosSizes> = {
  short: {
    runnerKill: { runs: 240, kills: 3, settleMs: 150_000 },
    scheduler: { failovers: 2, ticksBetweenMs: 3000 },
    storage: { rounds: 2, runsPerRound: 6, settleMs: 60_000 },
    shard: { outageMs: 6000, ratePerSecond: 8, beforeMs: 3000, afterMs: 2000, settleMs: 90_000 },
    redis: { outageMs: 6000, ratePerSecond: 8, beforeMs: 3000, afterMs: 2000, settleMs: 90_000 },
    pause: { runs: 0, pauses: 0, settleMs: 0 },
    load: { runs: 300, window: 2000, restartEveryMs: [2000, 3500], maxSeconds: 120, settleMs: 150_000, archiveAt: 100 },
  },
  long: {
    runnerKill: { runs: 1000, kills: 12, settleMs: 300_000 },
    scheduler: { failovers: 8, ticksBetweenMs: 5000 },
    storage: { rounds: 5, runsPerRound: 20, settleMs: 120_000 },
    shard: { outageMs: 30_000, ratePerSecond: 15, beforeMs: 10_000, afterMs: 10_000, settleMs: 300_000 },
    redis: { outageMs: 30_000, ratePerSecond: 15, beforeMs: 10_000, afterMs: 10_000, settleMs: 300_000 },
    pause: { runs: 800, pauses: 2, settleMs: 300_000 },
    load: { runs: 50_000, window: 250, restartEveryMs: [15_000, 45_000], maxSeconds: 40 * 60, settleMs: 60 * 60_000, archiveAt: 300 },
  },
};
