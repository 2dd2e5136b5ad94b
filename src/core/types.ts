/**
 * Taskplane's domain types.
 *
 * Glossary (the same words as ../shared/DESIGN.md):
 * - **task definition**: a named, registered task (`kind`, `func_name`, `args`, schedule, retry
 *   policy, routing). Launching it creates a run.
 * - **kind**: `periodical` (6-field cron with seconds), `continuous` (restarted `pause_sec` after
 *   each run ends), `single_shot` (launched on demand). A run created by handler name alone, with
 *   no definition, is `anonymous`.
 * - **run**: one launch of a definition or of an anonymous task. It has a UUID, a status, an
 *   attempt count and an attempt history. This is what storage keeps.
 * - **attempt**: one claim of a run by a runner. `attempt` counts claims that were spent; a run
 *   handed back on shutdown does not spend one.
 * - **lease**: a running attempt is owned by one runner until `deadline`
 *   (`time_to_resolve` after the claim or the last renewal). Every write about a running attempt
 *   names the lease (id, attempt, runner); a writer whose lease is gone is refused.
 * - **runner**: a process that claims and executes runs. It belongs to one cluster, listens to
 *   tags, and registers the handlers (`func_name`s) it can run.
 * - **cluster**: a named group of runners. A run targets one cluster and never runs elsewhere.
 * - **tag**: finer routing inside a cluster. Untagged runs carry the tag `default`.
 * - **job**: the runs that share a `jobId`: a root run (whose `jobId` is its own id) and the
 *   runs spawned under it. A whole job lives on one shard.
 * - **runtime**: how a runner executes a run's handler: `inline` (in the runner's own process)
 *   or `process` (in a warm child process the runner can kill). Chosen per definition or run;
 *   a run without one takes its runner's default (`task_runner.runtime`).
 * - **shard**: one MongoDB database. **bucket**: one of a fixed number of virtual buckets;
 *   `bucket = hash(jobId) mod bucketCount`, and the bucket map says which shard holds a bucket.
 */

/** Any value that survives `JSON.stringify` → `JSON.parse` unchanged. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export const TASK_KINDS = ['periodical', 'continuous', 'single_shot'] as const;
export type TaskKind = (typeof TASK_KINDS)[number];

/** Where a handler runs: `inline` in the runner process, `process` in a child it can kill. */
export const RUNTIMES = ['inline', 'process'] as const;
export type Runtime = (typeof RUNTIMES)[number];

/** A run's kind: its definition's kind, or `anonymous` for a run created by handler name. */
export const RUN_KINDS = [...TASK_KINDS, 'anonymous'] as const;
export type RunKind = (typeof RUN_KINDS)[number];

/**
 * Run statuses, exactly as in the Tarantool task manager. See DESIGN.md for their meanings.
 * `pending` and `running` are live; the others are final and written once.
 */
export const RUN_STATUSES = [
  'pending',
  'running',
  'completed',
  'failed',
  'lost',
  'stopped',
  'did not start',
  'unknown task',
] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

export const FINAL_STATUSES = [
  'completed',
  'failed',
  'lost',
  'stopped',
  'did not start',
  'unknown task',
] as const satisfies readonly RunStatus[];
export type FinalStatus = (typeof FINAL_STATUSES)[number];

export function isFinalStatus(status: RunStatus): status is FinalStatus {
  return (FINAL_STATUSES as readonly string[]).includes(status);
}

/** What a failed attempt left behind. The stack stays server-side; APIs show the message. */
export interface RunError {
  readonly message: string;
  readonly name: string;
  readonly stack: string | null;
}

/** One entry of a run's attempt history, written when the attempt ends. */
export interface AttemptRecord {
  readonly attempt: number;
  readonly runner: string;
  readonly startedAt: Date;
  readonly finishedAt: Date;
  /**
   * How the attempt ended: a final status, `retry` (failed or lost with attempts left), or
   * `released` (handed back on shutdown without spending the attempt).
   */
  readonly outcome: FinalStatus | 'retry' | 'released';
  readonly error: RunError | null;
}

/** A run as storage returns it: payloads decoded, dates as `Date`. */
export interface Run {
  readonly id: string;
  /** The root run's id; equal to `id` for a root run. */
  readonly jobId: string;
  readonly parentId: string | null;
  /** Definition name, or the handler name for an anonymous run. */
  readonly name: string;
  readonly funcName: string;
  readonly kind: RunKind;
  readonly status: RunStatus;
  /** Attempts spent so far (0 while never claimed). */
  readonly attempt: number;
  readonly maxAttempts: number;
  /** Seconds before the first retry. */
  readonly delay: number;
  /** Each further retry waits `delay * delayFactor^(attempt-1)` seconds. */
  readonly delayFactor: number;
  /** Seconds a lease lasts without renewal. */
  readonly timeToResolve: number;
  /** Seconds after creation at which a still-pending run becomes `did not start`. */
  readonly timeout: number;
  readonly priority: number;
  readonly cluster: string;
  readonly tag: string;
  /** How its handler is executed; null → the runner's default (`task_runner.runtime`). */
  readonly runtime: Runtime | null;
  /** Seconds one attempt may run before its handler is aborted; null → the runner's default (`task_runner.run_timeout`). */
  readonly runTimeout: number | null;
  readonly args: JsonValue;
  /** The handler's return value once `completed`; `null` before. */
  readonly result: JsonValue;
  readonly error: RunError | null;
  readonly createdAt: Date;
  /** A pending run is not claimed before this instant (retry backoff, delayed start). */
  readonly runAfter: Date;
  readonly expiresAt: Date;
  readonly startedAt: Date | null;
  readonly finishedAt: Date | null;
  /** Lease end of a running attempt. */
  readonly deadline: Date | null;
  /** The runner holding (or that last held) the run. */
  readonly runner: string | null;
  /** An operator asked to stop this running run; its runner aborts the handler. */
  readonly stopRequested: boolean;
  /** Why the run is in its status, when that is not obvious (`lease expired`, `stopped by operator` …). */
  readonly reason: string | null;
  readonly history: readonly AttemptRecord[];
  /** Its name inside a flow (or the name its parent gave a subtask); keys its result in dependents' `inputs`. */
  readonly step: string | null;
  /** Runs of the same job that must complete before this one is claimed. */
  readonly dependsOn: readonly string[];
  /** Pending but not claimable: a run in `dependsOn` has not completed yet. */
  readonly blocked: boolean;
  /** Results of `dependsOn`, keyed by their `step` (or id), set when the last one completed. */
  readonly inputs: { readonly [key: string]: JsonValue } | null;
  /** Handler that undoes this flow step when the flow fails after the step completed. */
  readonly revert: string | null;
  /** For a revert run: the step run it undoes. */
  readonly revertOf: string | null;
  /** Name of the shard that holds the run. */
  readonly shard: string;
}

/** What names a claimed attempt. Every write about a running run carries one. */
export interface Lease {
  readonly id: string;
  readonly attempt: number;
  readonly runner: string;
}

export function leaseOf(run: Run): Lease {
  if (run.status !== 'running' || run.runner === null) {
    throw new TypeError(`run ${run.id} is ${run.status}, not running: it has no lease`);
  }
  return { id: run.id, attempt: run.attempt, runner: run.runner };
}

/** Who is claiming: a runner's routing identity. */
export interface RunnerIdentity {
  /** Unique per runner process. */
  readonly id: string;
  readonly cluster: string;
  /** Tags it listens to; include `default` to take untagged runs. */
  readonly tags: readonly string[];
  /** `func_name`s it has handlers for. */
  readonly handlers: readonly string[];
  /**
   * Also take runs due within this many ms; the runner begins them at their due time (the claim
   * records that as `startedAt`, and the lease counts from it). @defaultValue 0
   */
  readonly lookaheadMs?: number;
}
