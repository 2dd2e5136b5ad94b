import type { Run } from '../../src/core/types.js';
import type { TaskStore } from '../../src/storage/contract.js';

/**
 * The accounting of the runner gateway fuzz test (runner-gateway-fuzz.test.ts): the `Ledger`
 * records what accepted answers did to runs (the oracle fills it in), and `unaccountedChanges`
 * compares every run before and after the fuzz against it: a run may have changed only through
 * an answer that accepted the change, and a new run only as a subtask of an accepted completion
 * in its parent's cluster.
 */

/** What accepted answers did to runs: only these may have changed. */
export class Ledger {
  /** Run id → how many takes returned it. */
  readonly claimed = new Map<string, number>();
  readonly renewed = new Set<string>();
  /** Run id → the statuses accepted settles wrote. */
  readonly settled = new Map<string, string[]>();

  touched(id: string): boolean {
    return this.claimed.has(id) || this.renewed.has(id) || this.settled.has(id);
  }
}

/** Every run in the store, by id. */
export async function allRuns(store: TaskStore): Promise<Map<string, Run>> {
  const runs = new Map<string, Run>();
  let after: string | null = null;
  do {
    const page = await store.select({}, { first: 1000, after });
    for (const run of page.runs) runs.set(run.id, run);
    after = page.hasNextPage ? page.endCursor : null;
  } while (after !== null);
  return runs;
}

/** The fields of a run a runner request can change. */
function changes(was: Run, now: Run): string[] {
  const fields = (run: Run) => ({
    status: run.status,
    attempt: run.attempt,
    runner: run.runner,
    cluster: run.cluster,
    deadline: run.deadline?.getTime() ?? null,
    result: JSON.stringify(run.result),
    error: JSON.stringify(run.error),
    history: run.history.length,
    stopRequested: run.stopRequested,
    reason: run.reason,
  });
  const a = fields(was);
  const b = fields(now);
  return (Object.keys(a) as Array<keyof typeof a>).filter((key) => a[key] !== b[key]);
}

/**
 * What changed between `before` and `after` that the ledger does not account for, and how many
 * runs are new. A `guarded` run (a guard or hidden one) must not have changed at all.
 */
export function unaccountedChanges(ledger: Ledger, before: ReadonlyMap<string, Run>, after: ReadonlyMap<string, Run>, guarded: (id: string) => boolean): { problems: string[]; spawned: number } {
  const problems: string[] = [];
  for (const [id, was] of before) {
    const now = after.get(id);
    if (!now) {
      problems.push(`run ${id} (${was.funcName}) is gone`);
      continue;
    }
    const changed = changes(was, now);
    if (guarded(id)) {
      if (changed.length > 0) problems.push(`guarded run ${id} (${was.funcName}, tag ${was.tag}) changed: ${changed.join(', ')}`);
      continue;
    }
    if (changed.length > 0 && !ledger.touched(id)) problems.push(`run ${id} changed (${changed.join(', ')}) though no accepted answer claimed, renewed or settled it`);
    if (now.cluster !== was.cluster) problems.push(`run ${id} moved from cluster ${was.cluster} to ${now.cluster}`);
    if (now.attempt - was.attempt > (ledger.claimed.get(id) ?? 0)) problems.push(`run ${id} went from attempt ${was.attempt} to ${now.attempt}, claimed ${ledger.claimed.get(id) ?? 0} times`);
    const written = ledger.settled.get(id) ?? [];
    if (now.status !== was.status && ['completed', 'failed', 'stopped', 'lost'].includes(now.status) && !written.includes(now.status)) problems.push(`run ${id} is ${now.status}; no accepted settle wrote that`);
    if (written.length > 0 && now.history.length <= was.history.length) problems.push(`settle accepted an outcome for ${id}, but its history did not grow`);
  }
  let spawned = 0;
  for (const [id, run] of after) {
    if (before.has(id)) continue;
    spawned++;
    const parent = run.parentId === null ? undefined : after.get(run.parentId);
    if (!parent || !(ledger.settled.get(parent.id) ?? []).includes('completed')) problems.push(`run ${id} (${run.funcName}) appeared without a parent whose completion was accepted`);
    else if (parent.cluster !== run.cluster) problems.push(`subtask ${id} is in cluster ${run.cluster}, its parent ${parent.id} in ${parent.cluster}`);
  }
  return { problems, spawned };
}
