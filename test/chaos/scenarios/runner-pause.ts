import type { NewRun } from '../../../src/core/run-input.js';
import { STUCK_AFTER_MS } from '../../../src/storage/transitions.js';
import { databaseUrls, sleep } from '../harness.js';
import { runScenario, waitUntilSettled, type ScenarioContext, type ScenarioReport } from '../scenario.js';
import { CHAOS_SIZES } from '../sizes.js';

/**
 * A runner paused (SIGSTOP) under load for longer than `STUCK_AFTER_MS`, then resumed (SIGCONT):
 * two runners and a storage node work through a backlog of short runs. The paused runner's leases
 * expire and its runs are retried elsewhere; a write it had begun (revision marker inserted, run
 * not yet written) is taken for abandoned after `STUCK_AFTER_MS`. When it wakes up it must not
 * finish that write over what happened meanwhile: the audit would see a run completed twice.
 * (Long form only: each pause lasts over a minute. `late-writer.test.ts` replays the same race in
 * one process for the short form.)
 */
export function runnerPauseScenario(ctx: ScenarioContext): Promise<ScenarioReport> {
  const size = CHAOS_SIZES[ctx.form].pause;
  return runScenario(
    ctx,
    { name: 'runner-pause', title: `runner paused (SIGSTOP) for longer than STUCK_AFTER_MS, then resumed` },
    { mongoUrls: databaseUrls(ctx.services.mongoBaseUrls, 'runner-pause'), redisUrl: ctx.services.redisUrl },
    async (cluster) => {
      const runner = { roles: ['runner'], runner: { capacity: 10 } };
      await Promise.all([cluster.startNode('storage-1', { roles: ['storage'] }), cluster.startNode('runner-1', runner), cluster.startNode('runner-2', runner)]);
      const runs: NewRun[] = Array.from({ length: size.runs }, (_, i) => ({
        funcName: 'chaos.effect',
        args: { log: cluster.sideEffects, i, ms: 50 + ((i * 7919) % 200) },
        timeToResolve: 10,
        maxAttempts: 3,
        delay: 0,
      }));
      await cluster.createRuns(runs);
      const pauseMs = STUCK_AFTER_MS + 10_000;
      for (let pause = 0; pause < size.pauses; pause++) {
        await sleep(3000);
        cluster.node('runner-1').child.kill('SIGSTOP');
        ctx.log(`[runner-pause] ${cluster.currentId('runner-1')} paused for ${pauseMs} ms (${pause + 1}/${size.pauses})`);
        try {
          await sleep(pauseMs);
        } finally {
          cluster.node('runner-1').child.kill('SIGCONT');
        }
      }
      const drainMs = await waitUntilSettled(cluster, size.settleMs, ctx.log);
      return {
        figures: { runs: cluster.created.length, pauses: size.pauses, pauseMs, drainAfterMs: drainMs },
        allowed: () => ['completed'],
      };
    },
  );
}
