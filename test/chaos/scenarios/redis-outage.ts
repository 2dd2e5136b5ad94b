import { startRedis, type RedisProcess } from '../../services/processes.js';
import { databaseUrls, eventually, sleep, type ChaosCluster } from '../harness.js';
import { runScenario, waitUntilSettled, type ScenarioContext, type ScenarioReport } from '../scenario.js';
import { CHAOS_SIZES } from '../sizes.js';
import { Producer } from './producer.js';

/** Time after Redis is back by which leases and heartbeats must be whole again. */
const RECOVERY_BOUND_MS = 15_000;

/**
 * Redis killed (SIGKILL) and restarted empty: a scheduler node, a storage node and two runners on a
 * Redis of the scenario's own, while a client creates runs at a steady rate. While Redis is down,
 * wake-ups are lost and the leaders (scheduler, `storage:<shard>`) step down, but runners poll
 * storage: runs created during the outage still complete. A runner is SIGKILLed during the outage
 * with runs in hand; nobody can sweep them until Redis is back. After the restart every lease
 * is held again and both runners' heartbeats are back within `RECOVERY_BOUND_MS`, the dead
 * runner's runs are swept into retries, and everything completes.
 */
export function redisOutageScenario(ctx: ScenarioContext): Promise<ScenarioReport> {
  const size = CHAOS_SIZES[ctx.form].redis;
  let redis: RedisProcess | null = null;
  return (async () => {
    redis = await startRedis();
    return runScenario(
      ctx,
      { name: 'redis-outage', title: 'Redis killed and restarted' },
      { mongoUrls: databaseUrls(ctx.services.mongoBaseUrls, 'redis-outage'), redisUrl: redis.url },
      async (cluster) => {
        const runner = { roles: ['runner'], runner: { capacity: 10 } };
        await Promise.all([
          cluster.startNode('sched-1', { roles: ['scheduler'] }),
          cluster.startNode('storage-1', { roles: ['storage'] }),
          cluster.startNode('runner-1', runner),
          cluster.startNode('runner-2', runner),
        ]);
        const producer = new Producer(ctx.log, size.ratePerSecond, async (i) => {
          const [result] = await cluster.createRuns([
            { funcName: 'chaos.effect', args: { log: cluster.sideEffects, i, ms: 200 + ((i * 7919) % 800) }, maxAttempts: 3, timeToResolve: 10, delay: 0 },
          ]);
          if (!result?.created) throw new Error(`run ${i} was not created`);
          return result.id;
        });
        const violations: string[] = [];
        producer.start();
        await sleep(size.beforeMs);
        await eventually(async () => ((await leaseHolders(cluster)).length === cluster.mongoUrls.length + 1 ? true : undefined), 15_000, 'every lease to be held before the outage');

        await redis!.kill('SIGKILL');
        const killedAt = Date.now();
        producer.phase = 'outage';
        ctx.log('[redis-outage] Redis killed');
        // A runner dies with runs in hand while nobody can sweep.
        await sleep(Math.min(2000, size.outageMs / 3));
        const victim = cluster.currentId('runner-2');
        await cluster.stopNode('runner-2', 'SIGKILL');
        await sleep(Math.max(0, size.outageMs - (Date.now() - killedAt)));
        const during = producer.createdIn('outage');
        const finishedDuring = (await cluster.store.getMany(during)).filter((run) => run?.status === 'completed').length;
        if (finishedDuring === 0) violations.push(`no run created during the outage completed during it (${during.length} created): runners did not fall back to polling`);

        await redis!.restart();
        const restartedAt = Date.now();
        producer.phase = 'after';
        ctx.log(`[redis-outage] Redis restarted after ${restartedAt - killedAt} ms`);
        await cluster.startNode('runner-2');
        const recovered = await eventually(async () => {
          const leases = await leaseHolders(cluster);
          const runners = (await cluster.coordinator.members('runner')).map((m) => m.id);
          const whole = leases.length === cluster.mongoUrls.length + 1 && runners.includes(cluster.currentId('runner-1')) && runners.includes(cluster.currentId('runner-2'));
          return whole ? Date.now() - restartedAt : undefined;
        }, RECOVERY_BOUND_MS + 15_000, 'leases and heartbeats after the restart', 200);
        if (recovered > RECOVERY_BOUND_MS) violations.push(`leases and heartbeats took ${recovered} ms to recover (bound ${RECOVERY_BOUND_MS} ms)`);
        await sleep(size.afterMs);
        await producer.stop();
        const errors = producer.errorsOtherThan('none');
        if (errors.length > 0) violations.push(`creates failed: ${errors.join(', ')}`);
        await waitUntilSettled(cluster, size.settleMs, ctx.log);
        const settledAt = Date.now();
        return {
          figures: {
            outageMs: restartedAt - killedAt,
            created: cluster.created.length,
            createdDuringOutage: during.length,
            completedDuringOutage: finishedDuring,
            leasesAndHeartbeatsBackMs: recovered,
            restartToAllFinishedMs: settledAt - restartedAt,
          },
          violations,
          allowed: () => ['completed'],
          after: (runs) => {
            const swept = runs.filter((run) => run.history.some((h) => h.runner === victim && h.outcome === 'retry')).length;
            return { figures: { victimRunsRetried: swept } };
          },
        };
      },
      async () => {
        await redis?.stop();
      },
    );
  })();
}

/** Holders of the scheduler lease and the `storage:<shard>` leases. */
async function leaseHolders(cluster: ChaosCluster): Promise<string[]> {
  const leases = await cluster.coordinator.listLeases();
  return leases.filter((l) => l.name === 'scheduler' || l.name.startsWith('storage:')).map((l) => `${l.name}=${l.holder}`);
}
