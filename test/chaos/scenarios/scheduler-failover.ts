import { scheduledRunId } from '../../../src/core/run-ids.js';
import type { AuditRun } from '../audit.js';
import { databaseUrls, eventually, sleep, type ChaosCluster } from '../harness.js';
import { runScenario, waitUntilSettled, type ScenarioContext, type ScenarioReport } from '../scenario.js';
import { CHAOS_SIZES } from '../sizes.js';

const LEASE_MS = 3000;
const TASK = 'every_second';
/**
 * Longest allowed distance between two consecutive ticks that have runs. A SIGKILLed leader's
 * lease lapses after `LEASE_MS`; the standby tries every `LEASE_MS / 3`, then loads the
 * definitions and starts the cron, whose first tick is the next whole second.
 */
const MAX_GAP_MS = LEASE_MS + 4000;

/**
 * The scheduler leader killed: two scheduler nodes, a `* * * * * *` periodical, a storage node and
 * a runner. The leader (whoever holds the `scheduler` lease) is killed — SIGKILL and SIGTERM in
 * turn — and started again as a standby, `failovers` times. The standby must take the lease with
 * a larger fencing token (within the lease time after a SIGKILL, at once after a SIGTERM, which
 * releases it), and the ticks must show no instant twice and no gap longer than a failover.
 */
export function schedulerFailoverScenario(ctx: ScenarioContext): Promise<ScenarioReport> {
  const size = CHAOS_SIZES[ctx.form].scheduler;
  return runScenario(
    ctx,
    { name: 'scheduler-failover', title: 'scheduler leader killed; the standby takes over' },
    { mongoUrls: databaseUrls(ctx.services.mongoBaseUrls, 'scheduler-failover'), redisUrl: ctx.services.redisUrl, nodeDefaults: { scheduler: { lease_ms: LEASE_MS } } },
    async (cluster) => {
      cluster.tasks = {
        [TASK]: { kind: 'periodical', func_name: 'chaos.effect', schedule: '* * * * * *', args: { log: cluster.sideEffects }, time_to_resolve: 10, max_attempts: 3, delay: 0 },
      };
      await Promise.all([
        cluster.startNode('sched-a', { roles: ['scheduler'] }),
        cluster.startNode('sched-b', { roles: ['scheduler'] }),
        cluster.startNode('storage-1', { roles: ['storage'] }),
        cluster.startNode('runner-1', { roles: ['runner'], runner: { capacity: 10 } }),
      ]);
      await eventually(() => (cluster.records().filter((r) => r.kind === 'E').length >= 2 ? true : undefined), 30_000, 'the first ticks to run');
      const violations: string[] = [];
      const takeovers: number[] = [];
      for (let round = 0; round < size.failovers; round++) {
        const signal: NodeJS.Signals = round % 2 === 0 ? 'SIGKILL' : 'SIGTERM';
        const before = await leader(cluster);
        const killed = nameOf(cluster, before.holder);
        const standby = killed === 'sched-a' ? 'sched-b' : 'sched-a';
        const killedAt = Date.now();
        await cluster.stopNode(killed, signal);
        const after = await eventually(async () => {
          const lease = await leader(cluster).catch(() => undefined);
          return lease?.holder === cluster.currentId(standby) ? lease : undefined;
        }, LEASE_MS + 10_000, `${standby} to take the scheduler lease`, 100);
        const took = Date.now() - killedAt;
        takeovers.push(took);
        ctx.log(`[scheduler-failover] ${signal} ${before.holder}: ${after.holder} leads after ${took} ms (token ${before.token} → ${after.token})`);
        if (after.token <= before.token) violations.push(`failover ${round + 1}: the new leader's token ${after.token} is not larger than ${before.token}`);
        const bound = signal === 'SIGKILL' ? LEASE_MS + 2500 : 2500;
        if (took > bound) violations.push(`failover ${round + 1} (${signal}): the standby took ${took} ms to lead (bound ${bound} ms)`);
        await cluster.startNode(killed);
        await sleep(size.ticksBetweenMs);
      }
      // No more ticks: stop both schedulers, then let the last ticks finish.
      await Promise.all([cluster.stopNode('sched-a', 'SIGTERM'), cluster.stopNode('sched-b', 'SIGTERM')]);
      const drainMs = await waitUntilSettled(cluster, 60_000, ctx.log);
      return {
        figures: { failovers: size.failovers, maxTakeoverMs: Math.max(...takeovers), drainAfterMs: drainMs },
        violations,
        allowed: () => ['completed'],
        expectedExtra: (run) => run.name === TASK,
        after: (runs) => checkTicks(runs.filter((run) => run.name === TASK)),
      };
    },
  );
}

async function leader(cluster: ChaosCluster): Promise<{ holder: string; token: number }> {
  const lease = (await cluster.coordinator.listLeases('scheduler')).find((l) => l.name === 'scheduler');
  if (!lease) throw new Error('no scheduler holds the lease');
  return lease;
}

function nameOf(cluster: ChaosCluster, id: string): string {
  const incarnation = cluster.incarnations.find((i) => i.id === id);
  if (!incarnation) throw new Error(`no node has id ${id}`);
  return incarnation.name;
}

/**
 * Each tick run's id must be the one derived from (name, a whole second from 1 s after its
 * creation — the scheduler creates a tick's run `lead_ms` ahead — to 3 s before it); no instant
 * may have two runs; consecutive instants at most `MAX_GAP_MS` apart.
 */
export function checkTicks(runs: readonly AuditRun[]): { figures: Record<string, number>; violations: string[] } {
  const violations: string[] = [];
  const instants: number[] = [];
  for (const run of runs) {
    const second = Math.floor(run.createdAt.getTime() / 1000) * 1000;
    const instant = [-1, 0, 1, 2, 3].map((back) => second - back * 1000).find((at) => scheduledRunId(TASK, new Date(at)) === run.id);
    if (instant === undefined) violations.push(`tick run ${run.id} created ${run.createdAt.toISOString()} matches no tick instant`);
    else instants.push(instant);
  }
  instants.sort((a, b) => a - b);
  const gaps = instants.slice(1).map((at, i) => at - instants[i]!);
  const duplicates = gaps.filter((gap) => gap === 0).length;
  if (duplicates > 0) violations.push(`${duplicates} tick instant(s) have two runs`);
  const maxGap = gaps.length > 0 ? Math.max(...gaps) : 0;
  if (maxGap > MAX_GAP_MS) violations.push(`ticks stopped for ${maxGap} ms (bound ${MAX_GAP_MS} ms)`);
  if (instants.length < 5) violations.push(`only ${instants.length} ticks ran`);
  const missed = gaps.reduce((sum, gap) => sum + Math.max(0, gap / 1000 - 1), 0);
  return { figures: { ticks: instants.length, missedTicks: missed, maxTickGapMs: maxGap }, violations };
}
