import { RunNotFoundError, RunStateError, ShardUnavailableError, TaskplaneError, ValidationError } from '../core/errors.js';
import type { Flow } from '../core/flow.js';
import { LIMITS } from '../core/limits.js';
import { parseInput, parseRunId, runFilterSchema, type NewRun, type RunDefaults, type RunFilter } from '../core/run-input.js';
import { isFinalStatus, type JsonValue, type Lease, type Run, type RunnerIdentity } from '../core/types.js';
import { claimRuns } from './claim-runs.js';
import type * as C from './contract.js';
import { decideOne } from './decide-changes.js';
import { followUpRuns } from './follow-up-runs.js';
import type { JobShard } from './job-follow-up.js';
import { cancelJob, retryJob, summarizeJob } from './job-operations.js';
import { renewLeases, settleLeases } from './lease-reports.js';
import { createFlow, createRun, createRuns } from './new-runs.js';
import { recountWhenQuiet } from './run-counts.js';
import { toRun, type RunDocument } from './run-document.js';
import { RunWaiters } from './run-waiters.js';
import { retryWrite, stopPendingWrite } from './run-writes.js';
import { selectRuns } from './select-runs.js';
import type { ShardCollection } from './shard-collection.js';
import type { ShardSet } from './shard-set.js';
import { SnapshotCache } from './snapshot-cache.js';
import { newSweepTurns, sweepRuns } from './sweep-runs.js';
import { readRuns } from './transitions.js';
import { countRuns, trimRuns } from './upkeep.js';

/**
 * The storage contract over a set of shards. Both engines use this class: the MongoDB engine
 * with driver-backed shards, the embedded engine with mingo-backed ones. All storage logic —
 * routing, claiming, leases, retries, sweeping, trimming — lives here and in its helpers.
 *
 * State: `new` → `started` (after `start()`) → `closed` (after `close()`).
 */
export class ShardedTaskStore implements C.TaskStore {
  readonly engine: string;
  readonly #shards: ShardSet;
  readonly #defaults: RunDefaults;
  readonly #waiters = new RunWaiters();
  /** When each shard last took the sweep's rarer steps (see sweep-runs.ts). */
  readonly #sweepTurns = newSweepTurns();
  #state: 'new' | 'started' | 'closed' = 'new';
  /** Shards that were unreachable at start; their indexes are created when they answer again. */
  readonly #unindexed = new Set<ShardCollection>();
  /** Runs as this store's own writes (claims, renewals) left them: see snapshot-cache.ts. */
  readonly #snapshots = new SnapshotCache();
  /** Job follow-ups of runs this store just gave final statuses (see follow-up-runs.ts). */
  readonly #followUp = (collection: ShardCollection, docs: readonly RunDocument[]): Promise<Map<string, Run[]>> =>
    followUpRuns(collection, docs, (jobId) => this.#jobShard(jobId), this.#waiters);

  constructor(engine: string, shards: ShardSet, defaults: RunDefaults) {
    this.engine = engine;
    this.#shards = shards;
    this.#defaults = defaults;
  }

  get shards(): readonly string[] {
    return this.#shards.names;
  }

  get router() {
    return this.#shards.router;
  }

  async start(): Promise<void> {
    if (this.#state === 'started') return;
    if (this.#state === 'closed') throw new TaskplaneError('INTERNAL', 'the store is closed');
    await Promise.all(this.#shards.collections.map((collection) => this.#prepare(collection)));
    this.#state = 'started';
  }

  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#waiters.wakeAll();
    await Promise.all(this.#shards.collections.map((collection) => collection.close()));
  }

  async create(run: NewRun): Promise<Run> {
    return createRun(this.#shards, this.#defaults, run);
  }

  async createMany(runs: readonly NewRun[]): Promise<C.CreateResult[]> {
    return createRuns(this.#shards, this.#defaults, runs);
  }

  async submitFlow(flow: Flow): Promise<Run[]> {
    return createFlow(this.#shards, this.#defaults, flow);
  }

  async get(id: string): Promise<Run | null> {
    const runId = parseRunId(id);
    const collection = this.#shards.forRun(runId);
    const [doc] = await collection.find({ _id: runId }, { limit: 1 });
    return doc ? toRun(doc, collection.shard) : null;
  }

  async getMany(ids: readonly string[]): Promise<Array<Run | null>> {
    const runIds = ids.map((id, index) => parseRunId(id, `ids[${index}]`));
    const byShard = this.#shards.groupByShard([...new Set(runIds)], (id) => this.#shards.forRun(id));
    const found = new Map<string, Run>();
    await Promise.all(
      [...byShard].map(async ([collection, shardIds]) => {
        for (const doc of await readRuns(collection, shardIds)) {
          found.set(doc._id, toRun(doc, collection.shard));
        }
      }),
    );
    return runIds.map((id) => found.get(id) ?? null);
  }

  async select(filter: RunFilter = {}, page: C.PageRequest = {}): Promise<C.RunPage> {
    const parsed = parseInput(runFilterSchema, filter, 'filter');
    const first = page.first ?? 50;
    if (!Number.isInteger(first) || first < 1 || first > LIMITS.pageSize) {
      throw new ValidationError('first', `must be an integer from 1 to ${LIMITS.pageSize}, got ${first}`);
    }
    const result = await selectRuns(this.#shards, parsed, first, page.after ?? null);
    return {
      runs: result.entries.map(({ doc, collection }) => toRun(doc, collection.shard)),
      hasNextPage: result.hasNextPage,
      endCursor: result.endCursor,
      unavailable: result.unavailable,
    };
  }

  async take(runner: RunnerIdentity, limit: number): Promise<C.TakeResult> {
    if (!Number.isInteger(limit) || limit < 1 || limit > LIMITS.takeBatch) {
      throw new ValidationError('limit', `must be an integer from 1 to ${LIMITS.takeBatch}, got ${limit}`);
    }
    if (runner.tags.length === 0 || runner.handlers.length === 0) return { runs: [], unavailable: [] };
    const { claimed, unavailable } = await claimRuns(this.#shards, runner, limit, new Date());
    for (const { docs } of claimed) this.#snapshots.remember(docs);
    return {
      runs: claimed.flatMap(({ collection, docs }) => docs.map((doc) => toRun(doc, collection.shard))),
      unavailable,
    };
  }

  async renew(leases: readonly Lease[]): Promise<C.RenewResult[]> {
    return renewLeases(this.#shards, this.#snapshots, leases);
  }

  async settle(reports: readonly C.Settlement[]): Promise<C.SettleResult[]> {
    return settleLeases(this.#shards, this.#snapshots, this.#waiters, reports, this.#followUp);
  }

  async complete(lease: Lease, result: JsonValue): Promise<boolean> {
    return this.#settleOne({ lease, outcome: { status: 'completed', result } });
  }

  async fail(lease: Lease, error: unknown): Promise<boolean> {
    return this.#settleOne({ lease, outcome: { status: 'failed', error } });
  }

  async stop(id: string, reason = 'stopped by operator'): Promise<C.StopResult> {
    const runId = parseRunId(id);
    if (reason.length > LIMITS.reasonLength) throw new ValidationError('reason', `must be at most ${LIMITS.reasonLength} characters`);
    const stopped: RunDocument[] = [];
    const result = await decideOne<C.StopResult>(this.#shards, this.#snapshots, runId, 'stop', (doc, now) => {
      if (doc.status === 'pending') {
        return {
          change: stopPendingWrite(doc, now, reason),
          onCommit: (after) => {
            if (after.followUp) stopped.push(after);
            return { id: runId, state: 'stopped' };
          },
        };
      }
      if (doc.status === 'running') {
        if (doc.stopRequested) return { done: { id: runId, state: 'stopping' } };
        return { change: { $set: { stopRequested: true, reason } }, onCommit: () => ({ id: runId, state: 'stopping' }) };
      }
      return { done: new RunStateError(runId, doc.status, 'stop') };
    });
    if (result.state === 'stopped') this.#waiters.wake(runId);
    const related = (await this.#followUp(this.#shards.forRun(runId), stopped)).get(runId);
    return related ? { ...result, related } : result;
  }

  async retry(id: string): Promise<Run> {
    const runId = parseRunId(id);
    const collection = this.#shards.forRun(runId);
    const current = await this.get(runId);
    // A flow step waits again for dependencies that are not completed (a job retry re-queues them).
    const deps = current && current.dependsOn.length > 0 ? await readRuns(collection, current.dependsOn) : [];
    const blocked = deps.some((dep) => dep.status !== 'completed');
    return decideOne<Run>(this.#shards, this.#snapshots, runId, 'retry', (doc, now) =>
      isFinalStatus(doc.status)
        ? { change: retryWrite(doc, now, blocked), onCommit: (after) => toRun(after, collection.shard) }
        : { done: new RunStateError(runId, doc.status, 'retry') },
    );
  }

  async job(jobId: string): Promise<C.JobSummary | null> {
    return summarizeJob(this.#jobShard(parseRunId(jobId, 'jobId')), parseRunId(jobId, 'jobId'));
  }

  async cancelJob(jobId: string): Promise<C.JobChange> {
    return this.#jobChange(jobId, cancelJob);
  }

  async retryJob(jobId: string): Promise<C.JobChange> {
    return this.#jobChange(jobId, retryJob);
  }

  async #jobChange(
    jobId: string,
    operation: (shard: JobShard, jobId: string) => Promise<{ changed: RunDocument[]; stopping: string[] }>,
  ): Promise<C.JobChange> {
    const id = parseRunId(jobId, 'jobId');
    const shard = this.#jobShard(id);
    const { changed, stopping } = await operation(shard, id);
    for (const doc of changed) this.#waiters.wake(doc._id);
    return { jobId: id, changed: changed.map((doc) => toRun(doc, shard.collection.shard)), stopping };
  }

  #jobShard(jobId: string): JobShard {
    return { collection: this.#shards.forJob(jobId), bucketCount: this.#shards.router.bucketCount, defaults: this.#defaults };
  }

  async forget(id: string): Promise<void> {
    const runId = parseRunId(id);
    await decideOne<true>(this.#shards, this.#snapshots, runId, 'forget', (doc) =>
      isFinalStatus(doc.status) ? { change: 'delete', onCommit: () => true } : { done: new RunStateError(runId, doc.status, 'forget') },
    );
  }

  async wait(id: string, timeoutMs: number): Promise<Run> {
    const runId = parseRunId(id);
    if (!Number.isFinite(timeoutMs) || timeoutMs < 0) throw new ValidationError('timeoutMs', 'must be a non-negative number');
    const deadline = Date.now() + timeoutMs;
    let interval = 20;
    for (;;) {
      const run = await this.get(runId);
      if (!run) throw new RunNotFoundError(runId);
      const left = deadline - Date.now();
      if (isFinalStatus(run.status) || left <= 0 || this.#state === 'closed') return run;
      await this.#waiters.sleep(runId, Math.min(interval, left));
      interval = Math.min(interval * 2, 500);
    }
  }

  statistics(query: C.StatisticsQuery = {}): Promise<C.Statistics> {
    const parsed = parseInput(runFilterSchema.pick({ name: true, cluster: true }), { name: query.name, cluster: query.cluster }, 'statistics');
    if (query.groupBy !== undefined && query.groupBy !== 'name' && query.groupBy !== 'cluster') {
      throw new ValidationError('groupBy', "must be 'name' or 'cluster'");
    }
    return countRuns(this.#shards, { ...parsed, ...(query.groupBy ? { groupBy: query.groupBy } : {}), exact: query.exact === true });
  }

  trim(keepPerName: number, shards?: readonly string[]): Promise<C.TrimResult> {
    if (!Number.isInteger(keepPerName) || keepPerName < 0) {
      throw new ValidationError('keepPerName', `must be a non-negative integer, got ${keepPerName}`);
    }
    return trimRuns(this.#shards, keepPerName, this.#shards.select(shards));
  }

  async recount(shards?: readonly string[]): Promise<C.RecountSummary> {
    const { results, unavailable } = await this.#shards.scatter((collection) => recountWhenQuiet(collection), this.#shards.select(shards));
    return {
      corrected: results.reduce((sum, { value }) => sum + value.corrected, 0),
      folded: results.reduce((sum, { value }) => sum + value.folded, 0),
      busy: results.filter(({ value }) => !value.quiet).map(({ collection }) => collection.shard),
      unavailable,
    };
  }

  async sweep(shards?: readonly string[]): Promise<C.SweepResult> {
    return sweepRuns(this.#shards, this.#shards.select(shards), this.#sweepTurns, this.#waiters, this.#followUp);
  }

  async health(): Promise<C.ShardHealth[]> {
    return Promise.all(
      this.#shards.collections.map(async (collection) => {
        const started = performance.now();
        try {
          await collection.ping();
          if (this.#unindexed.has(collection)) await this.#prepare(collection);
          return { shard: collection.shard, ok: true, latencyMs: performance.now() - started, error: null };
        } catch (error) {
          return { shard: collection.shard, ok: false, latencyMs: null, error: (error as Error).message };
        }
      }),
    );
  }

  async #prepare(collection: ShardCollection): Promise<void> {
    try {
      await collection.connect();
      await collection.ensureIndexes();
      this.#unindexed.delete(collection);
    } catch (error) {
      if (!(error instanceof ShardUnavailableError)) throw error;
      this.#unindexed.add(collection);
    }
  }

  async #settleOne(settlement: C.Settlement): Promise<boolean> {
    const [result] = await this.settle([settlement]);
    if (result?.unavailable) throw new ShardUnavailableError(result.unavailable);
    return result?.accepted === true;
  }
}
