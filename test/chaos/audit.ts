import { MongoClient } from 'mongodb';
import { FINAL_STATUSES, isFinalStatus, type AttemptRecord, type RunKind, type RunStatus } from '../../src/core/types.js';
import type { SideEffectRecord } from './harness.js';

/**
 * The fault suite's audit: whatever crashed during a scenario, every run it created must have
 * ended in exactly one recorded outcome, and the side effects its handlers left must agree with
 * what storage recorded. It reads every run straight from the shards (one `find` per shard, so
 * nothing is paged, filtered or cached on the way) and the side-effect log of
 * test/fixtures/chaos-handlers.ts (`S` = an attempt began, `E` = its side effect), and returns
 * the violations as sentences, one per problem; an empty list is a pass.
 *
 * The rules, per run:
 * 1. It exists if the scenario created it, and the scenario created it if it exists (periodic
 *    ticks aside, which the scenario declares).
 * 2. Its status is final: nothing is left pending or running.
 * 3. Its attempt history is whole: spent attempts are numbered 1…n with n = `attempt`; at most one
 *    entry is a final outcome, it is the last, and `completed`/`failed`/`lost` runs end with the
 *    entry of their own status. The status is one the scenario allows for that run.
 * 4. Every `S` line names an attempt storage recorded (same attempt number, same runner
 *    incarnation): no handler ran on a claim storage does not know of.
 * 5. Every `E` line names a recorded attempt that ended `completed` — or one whose answer was
 *    never recorded because its lease expired (`retry`, `lost`) or it was handed back (`released`):
 *    those are the explained repeats. One attempt never has two side effects.
 * 6. A `completed` run has the side effect of its completing attempt, written by the runner
 *    storage credits with it.
 * 7. A final status announced on the `runs` channel is the stored one, and at most one was
 *    announced (events may be missing, e.g. while Redis is down: they are not required).
 */

/** What the audit reads of a stored run. */
export interface AuditRun {
  readonly id: string;
  readonly name: string;
  readonly kind: RunKind;
  readonly status: RunStatus;
  readonly attempt: number;
  readonly maxAttempts: number;
  readonly runner: string | null;
  readonly args: unknown;
  readonly createdAt: Date;
  readonly startedAt: Date | null;
  readonly finishedAt: Date | null;
  readonly deadline: Date | null;
  readonly history: readonly AttemptRecord[];
  readonly shard: string;
}

interface StoredDoc {
  _id: string;
  name: string;
  kind: RunKind;
  status: RunStatus;
  attempt: number;
  maxAttempts: number;
  runner: string | null;
  args: string;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  deadline: Date | null;
  history: AttemptRecord[] | null;
}

/** Every run on the shards `mongoUrls` name (database URLs, one per shard, in shard order), or those matching `filter`. */
export async function readStoredRuns(mongoUrls: readonly string[], filter: Record<string, unknown> = {}): Promise<AuditRun[]> {
  const perShard = await Promise.all(
    mongoUrls.map(async (url, index) => {
      const client = new MongoClient(url, { serverSelectionTimeoutMS: 10_000, socketTimeoutMS: 300_000 });
      try {
        const docs = await client
          .db()
          .collection<StoredDoc>('runs')
          .find(filter, { projection: { _id: 1, name: 1, kind: 1, status: 1, attempt: 1, maxAttempts: 1, runner: 1, args: 1, createdAt: 1, startedAt: 1, finishedAt: 1, deadline: 1, history: 1 }, batchSize: 5000 })
          .toArray();
        return docs.map((doc): AuditRun => ({
          id: doc._id,
          name: doc.name,
          kind: doc.kind,
          status: doc.status,
          attempt: doc.attempt,
          maxAttempts: doc.maxAttempts,
          runner: doc.runner,
          args: JSON.parse(doc.args) as unknown,
          createdAt: doc.createdAt,
          startedAt: doc.startedAt,
          finishedAt: doc.finishedAt,
          deadline: doc.deadline,
          history: doc.history ?? [],
          shard: `shard-${index}`,
        }));
      } finally {
        await client.close();
      }
    }),
  );
  return perShard.flat();
}

/** Deletes `runs` from their shards (one `deleteMany` by ids per shard and 1,000 ids). */
export async function deleteStoredRuns(mongoUrls: readonly string[], runs: readonly AuditRun[]): Promise<number> {
  const perShard = await Promise.all(
    mongoUrls.map(async (url, index) => {
      const ids = runs.filter((run) => run.shard === `shard-${index}`).map((run) => run.id);
      if (ids.length === 0) return 0;
      const client = new MongoClient(url, { serverSelectionTimeoutMS: 10_000, socketTimeoutMS: 300_000 });
      let deleted = 0;
      try {
        for (let from = 0; from < ids.length; from += 1000) {
          const result = await client.db().collection<StoredDoc>('runs').deleteMany({ _id: { $in: ids.slice(from, from + 1000) } });
          deleted += result.deletedCount;
        }
      } finally {
        await client.close();
      }
      return deleted;
    }),
  );
  return perShard.reduce((sum, n) => sum + n, 0);
}

/**
 * Runs on the shards, and how many of them are live (pending or running), counted on the shards
 * themselves — not through `statistics`, whose counters may lag behind a writer that died.
 */
export async function countStoredRuns(mongoUrls: readonly string[]): Promise<{ total: number; live: number }> {
  const counts = await Promise.all(
    mongoUrls.map(async (url) => {
      const client = new MongoClient(url, { serverSelectionTimeoutMS: 2000, connectTimeoutMS: 2000, socketTimeoutMS: 60_000 });
      try {
        const runs = client.db().collection<StoredDoc>('runs');
        const [total, live] = await Promise.all([runs.countDocuments({}), runs.countDocuments({ status: { $in: ['pending', 'running'] } })]);
        return { total, live };
      } finally {
        await client.close();
      }
    }),
  );
  return counts.reduce((sum, c) => ({ total: sum.total + c.total, live: sum.live + c.live }), { total: 0, live: 0 });
}

export interface AuditInput {
  readonly runs: readonly AuditRun[];
  /** Ids the scenario created (accepted by storage). */
  readonly created: readonly string[];
  readonly records: readonly SideEffectRecord[];
  /** Final statuses announced on the `runs` channel, per run. */
  readonly announced?: ReadonlyMap<string, readonly RunStatus[]>;
  /** Statuses a run may end in. @defaultValue any final status */
  readonly allowed?: (run: AuditRun) => readonly RunStatus[];
  /** Stored runs the scenario did not create itself but expects (periodic ticks). @defaultValue none */
  readonly expectedExtra?: (run: AuditRun) => boolean;
}

export interface AuditSummary {
  readonly runs: number;
  readonly byStatus: Partial<Record<RunStatus, number>>;
  /** Runs that needed more than one attempt. */
  readonly retried: number;
  /** Attempts handed back unspent (a runner's drain). */
  readonly released: number;
  /** Attempts that ended with their lease expired (`retry` or `lost` written by a sweep). */
  readonly leaseExpired: number;
  /** Attempts begun (`S` lines) and side effects (`E` lines). */
  readonly begun: number;
  readonly sideEffects: number;
  /** Side effects of attempts whose answer was never recorded (lease expired, handed back), explained by the history. */
  readonly explainedRepeats: number;
  readonly announcedFinals: number;
}

export interface AuditResult {
  readonly violations: string[];
  readonly summary: AuditSummary;
}

const keyOf = (attempt: number, runner: string) => `${attempt}@${runner}`;

function describeHistory(history: readonly AttemptRecord[]): string {
  return history.length === 0 ? 'no attempts' : history.map((h) => `#${h.attempt} ${h.runner} ${h.outcome}`).join(', ');
}

/** Applies the rules above; see the file's comment. */
export function audit(input: AuditInput): AuditResult {
  const violations: string[] = [];
  const stored = new Map(input.runs.map((run) => [run.id, run]));
  const created = new Set(input.created);
  const recordsByRun = new Map<string, SideEffectRecord[]>();
  for (const record of input.records) {
    const list = recordsByRun.get(record.runId) ?? [];
    list.push(record);
    recordsByRun.set(record.runId, list);
  }
  const byStatus: Partial<Record<RunStatus, number>> = {};
  let retried = 0;
  let released = 0;
  let leaseExpired = 0;
  let explainedRepeats = 0;
  let announcedFinals = 0;

  for (const id of created) {
    if (!stored.has(id)) violations.push(`run ${id} was created but is not stored`);
  }
  for (const record of input.records) {
    if (!stored.has(record.runId)) violations.push(`side-effect log line ${record.kind} ${record.runId} #${record.attempt} ${record.node}: no such run is stored`);
  }

  for (const run of input.runs) {
    const problems: string[] = [];
    byStatus[run.status] = (byStatus[run.status] ?? 0) + 1;
    if (!created.has(run.id) && !(input.expectedExtra?.(run) ?? false)) problems.push('is stored but the scenario never created it');

    // 2. Final.
    if (!isFinalStatus(run.status)) {
      problems.push(`is still ${run.status} (attempt ${run.attempt}, runner ${run.runner ?? '-'}, deadline ${run.deadline?.toISOString() ?? '-'})`);
    }
    // 3. History.
    const spent = run.history.filter((h) => h.outcome !== 'released');
    released += run.history.length - spent.length;
    leaseExpired += run.history.filter((h) => h.outcome === 'retry' && h.error === null).length + (run.status === 'lost' ? 1 : 0);
    if (spent.length > 1) retried++;
    if (spent.some((h, index) => h.attempt !== index + 1)) problems.push('has spent attempts numbered out of order');
    const expectedSpent = run.status === 'running' ? run.attempt - 1 : run.attempt;
    if (spent.length !== expectedSpent) problems.push(`has attempt ${run.attempt} but ${spent.length} spent attempts in its history`);
    const finals = run.history.filter((h) => (FINAL_STATUSES as readonly string[]).includes(h.outcome));
    if (finals.length > 1) problems.push(`has ${finals.length} final outcomes in its history`);
    const last = run.history.at(-1);
    if (last && isFinalStatus(last.outcome as RunStatus) && last.outcome !== run.status) problems.push(`is ${run.status} but its last attempt ended ${last.outcome}`);
    if ((run.status === 'completed' || run.status === 'failed' || run.status === 'lost') && last?.outcome !== run.status) {
      problems.push(`is ${run.status} but its last attempt ended ${last?.outcome ?? '(none)'}`);
    }
    const allowed = input.allowed?.(run);
    if (allowed && !allowed.includes(run.status)) problems.push(`ended ${run.status}; expected ${allowed.join(' or ')}`);

    // 4–6. Side effects against the history.
    const entries = new Map<string, AttemptRecord[]>();
    for (const h of run.history) entries.set(keyOf(h.attempt, h.runner), [...(entries.get(keyOf(h.attempt, h.runner)) ?? []), h]);
    const current = run.status === 'running' && run.runner ? keyOf(run.attempt, run.runner) : null;
    const begun = new Map<string, number>();
    const effects = new Map<string, number>();
    for (const record of recordsByRun.get(run.id) ?? []) {
      const key = keyOf(record.attempt, record.node);
      const tally = record.kind === 'S' ? begun : effects;
      tally.set(key, (tally.get(key) ?? 0) + 1);
    }
    for (const [key, count] of begun) {
      const known = (entries.get(key)?.length ?? 0) + (key === current ? 1 : 0);
      if (known === 0) problems.push(`began attempt ${key} in a handler, but storage recorded no such claim`);
      else if (count > known) problems.push(`began attempt ${key} ${count} times`);
    }
    for (const [key, count] of effects) {
      const matched = entries.get(key) ?? [];
      if (matched.length === 0) {
        if (key !== current) problems.push(`has a side effect of attempt ${key}, which storage never recorded`);
        continue;
      }
      if (count > 1) problems.push(`has ${count} side effects of attempt ${key}`);
      for (const entry of matched) {
        if (entry.outcome === 'retry' || entry.outcome === 'lost' || entry.outcome === 'released') explainedRepeats++;
        else if (entry.outcome !== 'completed') problems.push(`has a side effect of attempt ${key}, which ended ${entry.outcome}`);
      }
    }
    if (run.status === 'completed' && last) {
      const count = effects.get(keyOf(last.attempt, last.runner)) ?? 0;
      if (count === 0) problems.push(`completed on attempt ${keyOf(last.attempt, last.runner)} without its side effect`);
    }

    // 7. Announcements.
    const heard = input.announced?.get(run.id) ?? [];
    announcedFinals += heard.length;
    if (heard.length > 1) problems.push(`had ${heard.length} final statuses announced (${heard.join(', ')})`);
    for (const status of new Set(heard)) if (status !== run.status) problems.push(`was announced ${status} but is stored ${run.status}`);

    if (problems.length > 0) violations.push(`run ${run.id} (${run.name}, ${run.shard}) ${problems.join('; ')} — history: ${describeHistory(run.history)}`);
  }

  return {
    violations,
    summary: {
      runs: input.runs.length,
      byStatus,
      retried,
      released,
      leaseExpired,
      begun: input.records.filter((r) => r.kind === 'S').length,
      sideEffects: input.records.filter((r) => r.kind === 'E').length,
      explainedRepeats,
      announcedFinals,
    },
  };
}

/** The violations as a numbered list, cut after `max` lines. */
export function formatViolations(violations: readonly string[], max = 40): string {
  if (violations.length === 0) return 'no violations';
  const shown = violations.slice(0, max).map((v, i) => `${i + 1}. ${v}`);
  if (violations.length > max) shown.push(`… and ${violations.length - max} more`);
  return `${violations.length} violation(s):\n${shown.join('\n')}`;
}
