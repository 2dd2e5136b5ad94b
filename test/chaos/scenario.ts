import { audit, countStoredRuns, formatViolations, readStoredRuns, type AuditRun, type AuditSummary } from './audit.js';
import { ChaosCluster, sleep, type ChaosServices, type ClusterOptions } from './harness.js';
import type { ChaosForm } from './sizes.js';
import type { RunStatus } from '../../src/core/types.js';

/**
 * What every scenario shares: build a cluster, run the scenario's faults, wait until nothing is
 * live, audit, tear down — and turn all of it into one `ScenarioReport`, so the test file and
 * the long form (`bench/chaos.ts`) read the same thing. A scenario that throws (a node that
 * would not start, a wait that timed out) is reported as a violation, not an exception. A
 * failing scenario keeps its side-effect log and its databases for a post-mortem, and its
 * report carries the nodes' log tails.
 */

export interface ScenarioContext {
  readonly services: ChaosServices;
  readonly form: ChaosForm;
  readonly log: (message: string) => void;
}

export interface ScenarioReport {
  readonly name: string;
  readonly title: string;
  readonly form: ChaosForm;
  readonly seconds: number;
  readonly violations: string[];
  readonly summary: AuditSummary | null;
  /** Scenario-specific figures: kills, takeover times, gaps, error counts … */
  readonly figures: Record<string, number | string | boolean>;
  /** Where the side-effect log was kept, with the databases (failures only). */
  readonly keptDir: string | null;
  /** Node log tails when something went wrong. */
  readonly diagnostics: string | null;
}

/** What a scenario's body hands back for the audit. */
export interface ScenarioOutcome {
  readonly figures: Record<string, number | string | boolean>;
  /** Problems the scenario found itself (takeover too slow, a tick gap too long …). */
  readonly violations?: readonly string[];
  readonly allowed?: (run: AuditRun) => readonly RunStatus[];
  readonly expectedExtra?: (run: AuditRun) => boolean;
  /** Called with the stored runs once read, for checks of the scenario's own (the scheduler's tick analysis …). */
  readonly after?: (runs: readonly AuditRun[]) => { figures?: Record<string, number | string | boolean>; violations?: readonly string[] };
}

export async function runScenario(
  ctx: ScenarioContext,
  meta: { name: string; title: string },
  options: Omit<ClusterOptions, 'log' | 'label'>,
  body: (cluster: ChaosCluster) => Promise<ScenarioOutcome>,
  /** Cleanup of the scenario's own servers (after the cluster is closed). */
  teardown?: () => Promise<void>,
): Promise<ScenarioReport> {
  const started = Date.now();
  const log = (message: string) => ctx.log(`[${meta.name} ${((Date.now() - started) / 1000).toFixed(1)}s] ${message}`);
  const cluster = new ChaosCluster({ ...options, label: meta.name, log });
  const violations: string[] = [];
  let figures: Record<string, number | string | boolean> = {};
  let summary: AuditSummary | null = null;
  let diagnostics: string | null = null;
  try {
    await cluster.start();
    const outcome = await body(cluster);
    figures = { ...outcome.figures };
    violations.push(...(outcome.violations ?? []));
    const stored = await readStoredRuns(cluster.mongoUrls);
    const runs = [...cluster.archived, ...stored];
    const result = audit({
      runs,
      created: cluster.created,
      records: cluster.records(),
      announced: cluster.announced,
      ...(outcome.allowed ? { allowed: outcome.allowed } : {}),
      ...(outcome.expectedExtra ? { expectedExtra: outcome.expectedExtra } : {}),
    });
    violations.push(...result.violations);
    summary = result.summary;
    const statistics = await checkStatistics(cluster, result.summary, stored);
    // With runs archived, a recount by the storage node meanwhile forgets them: no drift to state.
    figures = { ...figures, statisticsDrift: cluster.archived.length > 0 ? 'n/a (runs archived)' : statistics.drift };
    violations.push(...statistics.violations);
    const after = outcome.after?.(runs);
    if (after) {
      figures = { ...figures, ...after.figures };
      violations.push(...(after.violations ?? []));
    }
  } catch (error) {
    violations.push(`scenario stopped: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  }
  if (violations.length > 0) diagnostics = cluster.logTails();
  const keep = violations.length > 0;
  await cluster.close(keep).catch((error: unknown) => log(`cleanup failed: ${String(error)}`));
  await teardown?.().catch((error: unknown) => log(`teardown failed: ${String(error)}`));
  const report: ScenarioReport = {
    name: meta.name,
    title: meta.title,
    form: ctx.form,
    seconds: Math.round((Date.now() - started) / 100) / 10,
    violations,
    summary,
    figures,
    keptDir: keep ? `${cluster.dir} (databases kept: ${cluster.mongoUrls.map((url) => url.replace(/^.*\//, '')).join(', ')})` : null,
    diagnostics,
  };
  log(`${violations.length === 0 ? 'PASS' : 'FAIL'} in ${report.seconds} s — ${formatViolations(violations, 10)}`);
  return report;
}

/**
 * Waits until every run the scenario created (and any other run on its shards) is final: the
 * shards hold at least the created runs and none is pending or running. Counted on the shards
 * (see `countStoredRuns`). Throws after `timeoutMs`, or once `stallMs` pass without a single run
 * finishing, with the counts it saw last.
 */
export async function waitUntilSettled(cluster: ChaosCluster, timeoutMs: number, log: (message: string) => void, stallMs = timeoutMs): Promise<number> {
  const started = Date.now();
  let last = '';
  let lastReport = started;
  let fewest = Number.POSITIVE_INFINITY;
  let progressAt = started;
  for (;;) {
    try {
      const { total, live } = await countStoredRuns(cluster.mongoUrls);
      last = `${live} live of ${total}`;
      if (live === 0 && total + cluster.archived.length >= cluster.created.length) return Date.now() - started;
      if (live < fewest) {
        fewest = live;
        progressAt = Date.now();
      }
    } catch (error) {
      last = `counting failed: ${String(error)}`;
    }
    if (Date.now() - started > timeoutMs) throw new Error(`runs still live after ${timeoutMs} ms: ${last}${await describeStragglers(cluster)}`);
    if (Date.now() - progressAt > stallMs) throw new Error(`no run finished for ${stallMs} ms: ${last}${await describeStragglers(cluster)}`);
    if (Date.now() - lastReport > 10_000) {
      log(`waiting for the backlog: ${last}${await describeStragglers(cluster)}`);
      lastReport = Date.now();
    }
    await sleep(1000);
  }
}

/**
 * `statistics` against the runs on the shards: how far its counts had drifted (reported), and
 * whether a forced recount brings them back (a violation when it does not).
 */
async function checkStatistics(cluster: ChaosCluster, summary: AuditSummary, stored: readonly AuditRun[]): Promise<{ drift: number; violations: string[] }> {
  // Counters count every run written, archived ones too (they were deleted behind the store's
  // back); a recount counts what is stored.
  const truth: Record<string, number> = { ...summary.byStatus, total: summary.runs };
  const storedTruth: Record<string, number> = { total: stored.length };
  for (const run of stored) storedTruth[run.status] = (storedTruth[run.status] ?? 0) + 1;
  const differences = (counts: Record<string, number>, expected: Record<string, number>) =>
    Object.keys({ ...expected, ...counts })
      .filter((status) => (counts[status] ?? 0) !== (expected[status] ?? 0))
      .map((status) => `${status} ${counts[status] ?? 0} (runs: ${expected[status] ?? 0})`);
  const { before, afterRecount } = await cluster.statisticsTotals();
  const drift = Object.keys({ ...truth, ...before })
    .filter((status) => status !== 'total')
    .reduce((sum, status) => sum + Math.abs((before[status] ?? 0) - (truth[status] ?? 0)), 0);
  const wrong = afterRecount ? differences(afterRecount, storedTruth) : differences(before, truth);
  return { drift, violations: wrong.length > 0 ? [`statistics disagree with the runs on the shards${afterRecount ? ' after a recount' : ''}: ${wrong.join(', ')}`] : [] };
}

/** The last few live runs, by id, runner, attempt and deadline (a wait that drags on says why). */
async function describeStragglers(cluster: ChaosCluster): Promise<string> {
  try {
    const page = await cluster.store.select({ status: ['pending', 'running'] }, { first: 6 });
    if (page.runs.length === 0 || page.runs.length > 5) return '';
    const now = Date.now();
    return `: ${page.runs
      .map((run) => `${run.id} ${run.status} #${run.attempt} ${run.runner ?? '-'} deadline ${run.deadline ? `${Math.round((run.deadline.getTime() - now) / 1000)} s` : '-'} runAfter ${Math.round((run.runAfter.getTime() - now) / 1000)} s`)
      .join('; ')}`;
  } catch {
    return '';
  }
}

/** A small seeded PRNG (mulberry32), so a scenario's timings can be replayed from its seed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
