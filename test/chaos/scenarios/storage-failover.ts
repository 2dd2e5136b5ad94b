import type { NewRun } from '../../../src/core/run-input.js';
import type { AuditRun } from '../audit.js';
import { databaseUrls, eventually, type ChaosCluster } from '../harness.js';
import { runScenario, type ScenarioContext, type ScenarioReport } from '../scenario.js';
import { CHAOS_SIZES } from '../sizes.js';

const LEASE_MS = 3000;
const TTR_SECONDS = 8;

/**
 * A storage node killed: two storage nodes split or share the `storage:<shard>` leases; two
 * runners. Each round freezes one runner (SIGSTOP) so the other — the victim — claims a batch of
 * long runs, then SIGKILLs the victim *and* the storage node holding most shard leases at the
 * same moment. The surviving storage node must take every shard lease (after `LEASE_MS`) and
 * sweep the dead runner's expired leases: runs with an attempt left become retries that the
 * thawed runner completes, runs on their last attempt end `lost`. The killed nodes come back as
 * new incarnations and the roles swap for the next round.
 */
export function storageFailoverScenario(ctx: ScenarioContext): Promise<ScenarioReport> {
  const size = CHAOS_SIZES[ctx.form].storage;
  const rounds: Array<{ victim: string; survivor: string; ids: string[] }> = [];
  return runScenario(
    ctx,
    { name: 'storage-failover', title: 'storage node killed; another takes its shards and sweeps' },
    { mongoUrls: databaseUrls(ctx.services.mongoBaseUrls, 'storage-failover'), redisUrl: ctx.services.redisUrl, nodeDefaults: { storage: { lease_ms: LEASE_MS } } },
    async (cluster) => {
      // Room for a whole round on the victim.
      const runner = { roles: ['runner'], runner: { capacity: Math.max(10, size.runsPerRound) } };
      await Promise.all([
        cluster.startNode('storage-1', { roles: ['storage'] }),
        cluster.startNode('storage-2', { roles: ['storage'] }),
        cluster.startNode('runner-1', runner),
        cluster.startNode('runner-2', runner),
      ]);
      const violations: string[] = [];
      const takeovers: number[] = [];
      const sweeps: number[] = [];
      for (let round = 0; round < size.rounds; round++) {
        const [victimRunner, otherRunner] = round % 2 === 0 ? ['runner-1', 'runner-2'] : ['runner-2', 'runner-1'];
        const victimId = cluster.currentId(victimRunner);
        let ids: string[] = [];
        // Frozen, the other runner claims nothing; it is thawed in every case.
        cluster.node(otherRunner).child.kill('SIGSTOP');
        let killedAt: number;
        let storageVictim: string;
        try {
          const runs: NewRun[] = Array.from({ length: size.runsPerRound }, (_, i) => ({
            funcName: 'chaos.effect',
            args: { log: cluster.sideEffects, i, ms: 60_000, retryMs: 200 },
            timeToResolve: TTR_SECONDS,
            maxAttempts: i % 2 === 0 ? 2 : 1,
            delay: 0,
          }));
          ids = (await cluster.createRuns(runs)).map((r) => r.id);
          await eventually(async () => {
            const stored = await cluster.store.getMany(ids);
            return stored.every((run) => run?.status === 'running' && run.runner === victimId) ? true : undefined;
          }, 30_000, `${victimId} to claim the round's runs`, 500);
          storageVictim = await mostLeases(cluster);
          killedAt = Date.now();
          await Promise.all([cluster.stopNode(storageVictim, 'SIGKILL'), cluster.stopNode(victimRunner, 'SIGKILL')]);
        } finally {
          cluster.node(otherRunner).child.kill('SIGCONT');
        }
        const survivor = storageVictim === 'storage-1' ? 'storage-2' : 'storage-1';
        const survivorId = cluster.currentId(survivor);
        await eventually(async () => {
          const leases = await cluster.coordinator.listLeases('storage:');
          return leases.length === cluster.mongoUrls.length && leases.every((l) => l.holder === survivorId) ? true : undefined;
        }, LEASE_MS + 10_000, `${survivorId} to hold every shard lease`, 100);
        const took = Date.now() - killedAt;
        takeovers.push(took);
        if (took > LEASE_MS + 2500) violations.push(`round ${round + 1}: ${survivorId} took ${took} ms to hold every shard lease`);
        await eventually(async () => {
          const stored = await cluster.store.getMany(ids);
          return stored.every((run) => run?.status === 'completed' || run?.status === 'lost') ? true : undefined;
        }, size.settleMs, `the round's runs to be swept and finished`, 500);
        const swept = Date.now() - killedAt;
        sweeps.push(swept);
        ctx.log(`[storage-failover] round ${round + 1}: ${survivorId} holds every shard after ${took} ms; ${ids.length} runs of ${victimId} finished ${swept} ms after the kill`);
        rounds.push({ victim: victimId, survivor: cluster.currentId(otherRunner), ids });
        await Promise.all([cluster.startNode(storageVictim), cluster.startNode(victimRunner)]);
      }
      return {
        figures: { rounds: size.rounds, runs: cluster.created.length, maxLeaseTakeoverMs: Math.max(...takeovers), maxKillToFinishedMs: Math.max(...sweeps) },
        violations,
        allowed: (run) => (run.maxAttempts === 1 ? ['lost'] : ['completed']),
        after: (runs) => ({ violations: checkRounds(runs, rounds) }),
      };
    },
  );
}

/** The storage node that holds the most `storage:<shard>` leases. */
async function mostLeases(cluster: ChaosCluster): Promise<string> {
  const leases = await cluster.coordinator.listLeases('storage:');
  const counts = new Map<string, number>();
  for (const lease of leases) counts.set(lease.holder, (counts.get(lease.holder) ?? 0) + 1);
  const [holder] = [...counts].sort((a, b) => b[1] - a[1])[0] ?? [];
  const incarnation = cluster.incarnations.find((i) => i.id === holder && i.ended === null);
  if (!incarnation) throw new Error(`no live storage node holds a shard lease (${JSON.stringify(leases)})`);
  return incarnation.name;
}

/** Each round's runs: a retry by the killed runner, then completed by the other — or `lost` on a single attempt. */
function checkRounds(runs: readonly AuditRun[], rounds: ReadonlyArray<{ victim: string; survivor: string; ids: string[] }>): string[] {
  const byId = new Map(runs.map((run) => [run.id, run]));
  const problems: string[] = [];
  for (const [index, round] of rounds.entries()) {
    for (const id of round.ids) {
      const run = byId.get(id);
      const got = run?.history.map((h) => `${h.runner}:${h.outcome}`).join(',') ?? 'missing';
      const want = run?.maxAttempts === 1 ? `${round.victim}:lost` : `${round.victim}:retry,${round.survivor}:completed`;
      if (got !== want) problems.push(`round ${index + 1}: run ${id} history ${got}, expected ${want}`);
    }
  }
  return problems;
}
