import type { NewRun } from '../../../src/core/run-input.js';
import type { AuditRun } from '../audit.js';
import { databaseUrls, eventually, sleep, type SideEffectRecord } from '../harness.js';
import { runScenario, seededRandom, waitUntilSettled, type ScenarioContext, type ScenarioReport } from '../scenario.js';
import { CHAOS_SIZES } from '../sizes.js';

/**
 * A runner SIGKILLed mid-handler, again and again, under load: two runners (capacity 10 each)
 * and a storage node; runs arrive in waves; before each kill the victim has attempts begun and
 * not finished (their `S` lines have no `E`), and it is restarted as a new incarnation right
 * after. Each interrupted attempt must end as a lease expiry written by the storage sweep
 * (`retry`, or `lost` on a last attempt) and the run must complete elsewhere — once.
 */
export function runnerKillScenario(ctx: ScenarioContext): Promise<ScenarioReport> {
  const size = CHAOS_SIZES[ctx.form].runnerKill;
  const random = seededRandom(8_001);
  const interrupted: Array<{ runId: string; attempt: number; node: string }> = [];
  const victims: string[] = [];
  return runScenario(
    ctx,
    { name: 'runner-kill', title: 'runner SIGKILLed mid-handler, repeatedly, under load' },
    { mongoUrls: databaseUrls(ctx.services.mongoBaseUrls, 'runner-kill'), redisUrl: ctx.services.redisUrl },
    async (cluster) => {
      const runner = { roles: ['runner'], runner: { capacity: 10 } };
      await Promise.all([cluster.startNode('storage-1', { roles: ['storage'] }), cluster.startNode('runner-1', runner), cluster.startNode('runner-2', runner)]);
      const waves = size.kills + 1;
      const perWave = Math.ceil(size.runs / waves);
      let next = 0;
      const wave = () => {
        const count = Math.min(perWave, size.runs - next);
        const runs: NewRun[] = Array.from({ length: count }, () => {
          const i = next++;
          return { funcName: 'chaos.effect', args: { log: cluster.sideEffects, i, ms: 300 + ((i * 7919) % 1000) }, timeToResolve: 10, maxAttempts: 4, delay: 0 };
        });
        return cluster.createRuns(runs);
      };
      const started = Date.now();
      for (let kill = 0; kill < size.kills; kill++) {
        await wave();
        const victim = cluster.currentId('runner-1');
        await eventually(() => (openAttempts(cluster.records(), victim).length >= 3 ? true : undefined), 30_000, `${victim} to be inside handlers`);
        await sleep(random() * 300);
        await cluster.stopNode('runner-1', 'SIGKILL');
        const open = openAttempts(cluster.records(), victim);
        interrupted.push(...open);
        victims.push(victim);
        ctx.log(`[runner-kill] kill ${kill + 1}/${size.kills}: ${victim} died inside ${open.length} handler(s)`);
        await cluster.startNode('runner-1');
      }
      await wave();
      const createdIn = Date.now() - started;
      const settledIn = await waitUntilSettled(cluster, size.settleMs, ctx.log);
      return {
        figures: { runs: cluster.created.length, kills: size.kills, killedInsideHandler: interrupted.length, faultPhaseMs: createdIn, drainAfterMs: settledIn },
        // Four attempts and at most one kill in flight per attempt: `lost` only after four lease expiries.
        allowed: (run) => (run.history.filter((h) => h.outcome === 'retry' || h.outcome === 'lost').length >= run.maxAttempts ? ['lost'] : ['completed']),
        after: (runs) => {
          // Attempts each kill cut short: their answers were never recorded, so the sweep ended them.
          const cut = victims.map((victim) => runs.reduce((n, run) => n + run.history.filter((h) => h.runner === victim && (h.outcome === 'retry' || h.outcome === 'lost')).length, 0));
          const idle = victims.filter((_, index) => cut[index] === 0);
          return {
            figures: { attemptsCutByKills: cut.reduce((a, b) => a + b, 0) },
            violations: [...checkInterrupted(runs, interrupted), ...idle.map((victim) => `the kill of ${victim} cut no attempt short: it tested nothing`)],
          };
        },
      };
    },
  );
}

/** Attempts `node` began (`S`) and has not finished (no `E` of the same attempt). */
export function openAttempts(records: readonly SideEffectRecord[], node: string): Array<{ runId: string; attempt: number; node: string }> {
  const done = new Set(records.filter((r) => r.kind === 'E' && r.node === node).map((r) => `${r.runId}#${r.attempt}`));
  return records.filter((r) => r.kind === 'S' && r.node === node && !done.has(`${r.runId}#${r.attempt}`)).map(({ runId, attempt }) => ({ runId, attempt, node }));
}

/**
 * Each attempt a kill interrupted ended as a lease expiry (`retry` or `lost`, written by the
 * sweep) — or completed, when its handler had written the side effect (and returned) in the
 * instant between the log read and the kill; the audit holds that case to its `E` line.
 */
export function checkInterrupted(runs: readonly AuditRun[], interrupted: ReadonlyArray<{ runId: string; attempt: number; node: string }>): string[] {
  const byId = new Map(runs.map((run) => [run.id, run]));
  const problems: string[] = [];
  for (const { runId, attempt, node } of interrupted) {
    const entry = byId.get(runId)?.history.find((h) => h.attempt === attempt && h.runner === node);
    if (!entry) problems.push(`run ${runId}: attempt #${attempt} on ${node} was interrupted by a kill but has no history entry`);
    else if (entry.outcome !== 'retry' && entry.outcome !== 'lost' && entry.outcome !== 'completed') {
      problems.push(`run ${runId}: attempt #${attempt} on ${node} was interrupted by a kill but ended ${entry.outcome}`);
    }
  }
  return problems;
}
