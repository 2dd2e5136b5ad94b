import type { Flow } from '../core/flow.js';
import type { NewRun, RunFilter, SpawnRequest } from '../core/run-input.js';
import type { FinalStatus, JsonValue, Lease, Run, RunStatus, RunnerIdentity } from '../core/types.js';

/**
 * The storage contract: the Tarantool task manager's storage API (put, get, select, take,
 * complete, fail, cancel, wait, delete, statistics, trim), grown up for shards and leases.
 *
 * Scheduler, runner and api talk to storage only through this interface. Two engines implement
 * it — MongoDB shards and the embedded in-process engine — and a custom engine can be plugged in
 * by naming a module that exports `createTaskStore(options)` (see `load-engine.ts`).
 *
 * Rules every engine keeps:
 * - Every state change of a running run is conditional on its lease (id, status, attempt,
 *   runner): a writer whose lease expired or moved is refused and nothing is written.
 * - A final status is written once.
 * - Operations on one run touch one shard. Reads across shards (`select`, `statistics`) say
 *   which shards did not answer (`unavailable`) instead of failing whole; single-shard
 *   operations on a shard that is down throw `ShardUnavailableError`.
 * - Bad input throws `ValidationError` before anything is written.
 */
export interface TaskStore {
  /** Human-readable engine label (`mongodb`, `embedded`, or the custom engine's own). */
  readonly engine: string;
  /** Shard names, in bucket-map order. */
  readonly shards: readonly string[];

  /** Connects and creates indexes. Idempotent. */
  start(): Promise<void>;
  /** Releases connections; pending `wait` calls resolve with the run as it is. */
  close(): Promise<void>;

  /** Creates one run and returns it. A run with an `id` that already exists is a `CONFLICT`. */
  create(run: NewRun): Promise<Run>;
  /**
   * Creates many runs, one insert per shard. All inputs are validated first; if any is bad,
   * nothing is written. A run whose given `id` already exists is reported `created: false`
   * (this is how two schedulers firing the same tick create one run).
   */
  createMany(runs: readonly NewRun[]): Promise<CreateResult[]>;

  /**
   * Creates a flow's steps as one job (see `core/flow.ts`): validated whole first (unique step
   * names, known dependencies, no cycle), then written in one insert on the job's shard.
   * Returns the runs in dependency order; the first one's id is the job id.
   */
  submitFlow(flow: Flow): Promise<Run[]>;

  get(id: string): Promise<Run | null>;
  /** Batched `get`: one query per shard. Result order follows `ids`. */
  getMany(ids: readonly string[]): Promise<Array<Run | null>>;
  /** Newest first, cursor-paginated across all shards. */
  select(filter?: RunFilter, page?: PageRequest): Promise<RunPage>;

  /**
   * Claims up to `limit` pending runs that `runner` can execute (its cluster, one of its tags,
   * one of its handlers, due, not expired): highest priority first, then oldest due. Each claimed
   * run becomes `running` with `runner`, `attempt + 1` and `deadline = now + timeToResolve`.
   * Costs a constant number of round trips per shard, whatever `limit` is.
   */
  take(runner: RunnerIdentity, limit: number): Promise<TakeResult>;
  /** Extends leases by their `timeToResolve`. Reports leases that are gone and stop requests. */
  renew(leases: readonly Lease[]): Promise<RenewResult[]>;
  /**
   * Records how attempts ended, one write per shard. `failed` with attempts left schedules a
   * retry at `now + delay * delayFactor^(attempt-1)`; `released` hands the run back to
   * `pending` without spending the attempt. Refused (`accepted: false`) for a stale lease.
   */
  settle(reports: readonly Settlement[]): Promise<SettleResult[]>;
  complete(lease: Lease, result: JsonValue): Promise<boolean>;
  fail(lease: Lease, error: unknown): Promise<boolean>;

  /** pending → `stopped`; running → stop requested (its runner aborts the handler). */
  stop(id: string, reason?: string): Promise<StopResult>;
  /** A finished run → `pending` again with a fresh attempt budget. */
  retry(id: string): Promise<Run>;
  /** Deletes a finished run. Refuses a pending or running one. */
  forget(id: string): Promise<void>;
  /** Resolves when the run is final, or with its current state after `timeoutMs`. */
  wait(id: string, timeoutMs: number): Promise<Run>;

  /** A job's runs summed up: status, counts by status, first start, last end. Null when no run of it exists. */
  job(jobId: string): Promise<JobSummary | null>;
  /** Stops the job's pending runs and asks its running ones to stop, with reason `job cancelled`. */
  cancelJob(jobId: string): Promise<JobChange>;
  /**
   * Re-queues the job's runs that ended without completing (not its revert runs) with a fresh
   * attempt budget; their dependents wait for them again. Completed runs stay done.
   */
  retryJob(jobId: string): Promise<JobChange>;

  /** Counts by status: per shard and total, optionally grouped by name or cluster. */
  statistics(query?: StatisticsQuery): Promise<Statistics>;
  /** Keeps the newest `keepPerName` finished runs per name on each shard; deletes the rest. */
  trim(keepPerName: number, shards?: readonly string[]): Promise<TrimResult>;
  /** Expired leases → retry or `lost`; pending past expiry → `did not start`. */
  sweep(shards?: readonly string[]): Promise<SweepResult>;
  /**
   * Checks the shards' run counts (what `statistics` reads) against the runs and repairs those
   * that drifted — when a shard is quiet enough to count it (see `run-counts.ts`). Optional for
   * custom engines whose statistics count the runs themselves.
   */
  recount?(shards?: readonly string[]): Promise<RecountSummary>;
  /** Checks each shard answers. */
  health(): Promise<ShardHealth[]>;
}

export const JOB_STATUSES = ['submitted', 'running', 'completed', 'failed', 'cancelled'] as const;
/**
 * `submitted`: nothing started yet; `running`: live runs and something started; `completed`:
 * every run completed; `failed`: nothing live and a run ended otherwise; `cancelled`: an
 * operator cancelled it.
 */
export type JobStatus = (typeof JOB_STATUSES)[number];

export interface JobSummary {
  readonly jobId: string;
  readonly shard: string;
  readonly status: JobStatus;
  readonly counts: StatusCounts;
  readonly firstStartedAt: Date | null;
  /** Null while the job has live runs. */
  readonly lastFinishedAt: Date | null;
}

export interface JobChange {
  readonly jobId: string;
  /** Runs written, including what followed (dependents stopped or unblocked). */
  readonly changed: readonly Run[];
  /** Running runs asked to stop: their runners abort the handlers. */
  readonly stopping: readonly string[];
}

export interface CreateResult {
  readonly id: string;
  readonly jobId: string;
  readonly shard: string;
  /** False when a run with this id already existed, or its shard was down. */
  readonly created: boolean;
  /** The shard that could not be reached; the run was not written. */
  readonly unavailable?: string;
}

export interface PageRequest {
  /** @defaultValue 50; at most `LIMITS.pageSize` */
  readonly first?: number;
  /** The `endCursor` of the previous page. */
  readonly after?: string | null;
}

export interface RunPage {
  readonly runs: Run[];
  readonly hasNextPage: boolean;
  /** Null when the page is empty. */
  readonly endCursor: string | null;
  /** Shards that did not answer; their runs are missing from this page. */
  readonly unavailable: string[];
}

export interface TakeResult {
  readonly runs: Run[];
  readonly unavailable: string[];
}

export type RenewResult =
  | { readonly id: string; readonly state: 'renewed'; readonly deadline: Date; readonly stopRequested: boolean }
  | { readonly id: string; readonly state: 'lost' }
  | { readonly id: string; readonly state: 'unavailable'; readonly shard: string };

export type Outcome =
  | { readonly status: 'completed'; readonly result: JsonValue; readonly spawn?: readonly SpawnRequest[] }
  | { readonly status: 'failed'; readonly error: unknown }
  /** The attempt ended because the handler was stopped on request. */
  | { readonly status: 'stopped'; readonly reason?: string }
  /** Shutdown: back to pending, attempt not spent. */
  | { readonly status: 'released' }
  /** The lease expired (used by `sweep`): retry or `lost`. */
  | { readonly status: 'lost'; readonly reason?: string };

export interface Settlement {
  readonly lease: Lease;
  readonly outcome: Outcome;
}

export interface SettleResult {
  readonly id: string;
  /** False when the lease was stale or the shard was down (`unavailable` set). */
  readonly accepted: boolean;
  /** The status written, when accepted. */
  readonly status: RunStatus | null;
  readonly unavailable?: string;
  /** Other runs of its job that this outcome created or changed (subtasks, dependents, reverts). */
  readonly related?: readonly Run[];
}

export interface StopResult {
  readonly id: string;
  /** `stopped` at once (it was pending), or `stopping` (its runner will abort it). */
  readonly state: 'stopped' | 'stopping';
  /** Other runs of its job that the stop changed (dependents stopped, reverts queued). */
  readonly related?: readonly Run[];
}

export type StatusCounts = Record<RunStatus, number> & { total: number };

export interface StatisticsQuery {
  readonly name?: string;
  readonly cluster?: string;
  readonly groupBy?: 'name' | 'cluster';
  /**
   * Count the runs themselves instead of reading the shards' run counts: slow (every run is
   * read), for checking the counts. @defaultValue false
   */
  readonly exact?: boolean;
}

export interface Statistics {
  readonly total: StatusCounts;
  readonly shards: ReadonlyArray<{ readonly shard: string; readonly counts: StatusCounts | null }>;
  readonly groups: ReadonlyArray<{ readonly key: string; readonly counts: StatusCounts }>;
  readonly unavailable: string[];
}

export interface RecountSummary {
  /** Count records replaced because they had drifted from the runs. */
  readonly corrected: number;
  /** Count records of writers idle for an hour, folded into one record per (cluster, name). */
  readonly folded: number;
  /** Shards skipped because runs changed while they were being counted (tried again later). */
  readonly busy: string[];
  readonly unavailable: string[];
}

export interface TrimResult {
  readonly deleted: number;
  readonly unavailable: string[];
}

export interface SweepResult {
  readonly retried: number;
  readonly lost: number;
  readonly didNotStart: number;
  readonly unavailable: string[];
}

export interface ShardHealth {
  readonly shard: string;
  readonly ok: boolean;
  readonly latencyMs: number | null;
  readonly error: string | null;
}

export type { FinalStatus };
