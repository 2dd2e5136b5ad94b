import { RunNotFoundError, RunStateError, ShardUnavailableError, TaskplaneError, ValidationError } from '../core/errors.js';
import { LIMITS } from '../core/limits.js';
import { newRootRunId, newRunIdInJob } from '../core/run-ids.js';
import {
  encodePayload,
  newRunSchema,
  parseInput,
  parseRunId,
  runFilterSchema,
  type NewRun,
  type RunDefaults,
  type RunFilter,
} from '../core/run-input.js';
import { isFinalStatus, type JsonValue, type Lease, type Run, type RunnerIdentity } from '../core/types.js';
import { flowRuns, orderFlow, type Flow } from '../core/flow.js';
import { claimRuns } from './claim-runs.js';
import type * as C from './contract.js';
import { expiryWrite, holdsLease, renewWrite, retryWrite, settlementWrite, stopPendingWrite } from './run-writes.js';
import { reconcileJob, type JobShard } from './job-follow-up.js';
import { cancelJob, retryJob, summarizeJob } from './job-operations.js';
import { insertRuns, recountWhenQuiet } from './run-counts.js';
import { SnapshotCache } from './snapshot-cache.js';
import { commitChanges, MARKER_RETENTION_MS, readRuns, type Change } from './transitions.js';
import { newRunDocument, toRun, type RunDocument } from './run-document.js';
import { selectRuns } from './select-runs.js';
import type { RunUpdateDoc, ShardCollection } from './shard-collection.js';
import type { ShardSet } from './shard-set.js';
import { countRuns, trimRuns } from './upkeep.js';
import { RunWaiters } from './run-waiters.js';

const SWEEP_BATCH = 1000;
/** A final status whose job follow-up is still due this long after it was written was abandoned by its writer. */
const FOLLOW_UP_GRACE_MS = 10_000;
const MARKER_SWEEP_EVERY_MS = 60_000;
/** Re-read-and-retry rounds before a change that keeps colliding is given up. */
const MAX_ROUNDS = 8;

/**
 * What to do with one run, decided on its current document: commit `change` (then map the run
 * as written with `onCommit`), or answer `done` without writing.
 */
type Decision<T> = { readonly change: RunUpdateDoc | 'delete'; readonly onCommit: (after: RunDocument) => T } | { readonly done: T };

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
  /** When each shard was last searched for abandoned follow-ups (see `sweep`). */
  readonly #followUpScans = new Map<ShardCollection, number>();
  /** When each shard's old revision markers were last deleted (see `sweep`). */
  readonly #markerSweeps = new Map<ShardCollection, number>();
  #state: 'new' | 'started' | 'closed' = 'new';
  /** Shards that were unreachable at start; their indexes are created when they answer again. */
  readonly #unindexed = new Set<ShardCollection>();
  /** Runs as this store's own writes (claims, renewals) left them: see snapshot-cache.ts. */
  readonly #snapshots = new SnapshotCache();

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
    const doc = this.#newDocument(run, 'run', new Date());
    const [result] = await this.#insert([doc]);
    if (result?.unavailable) throw new ShardUnavailableError(result.unavailable);
    if (!result?.created) throw new TaskplaneError('CONFLICT', `run ${doc._id} already exists`);
    return toRun(doc, result.shard);
  }

  async createMany(runs: readonly NewRun[]): Promise<C.CreateResult[]> {
    if (runs.length > LIMITS.createBatch) {
      throw new ValidationError('runs', `at most ${LIMITS.createBatch} runs per call, got ${runs.length}`);
    }
    const now = new Date();
    // Validate everything before writing anything.
    return this.#insert(runs.map((input, index) => this.#newDocument(input, `runs[${index}]`, now)));
  }

  async submitFlow(flow: Flow): Promise<Run[]> {
    const ordered = orderFlow(flow);
    const jobId = newRootRunId();
    const ids = ordered.map((_, i) => (i === 0 ? jobId : newRunIdInJob(jobId, this.#shards.router.bucketCount)));
    const now = new Date();
    const docs = flowRuns(ordered, ids).map((input, i) => this.#newDocument(input, `flow.steps.${ordered[i]!.step}`, now));
    const results = await this.#insert(docs);
    const down = results.find((result) => result.unavailable !== undefined);
    if (down?.unavailable) throw new ShardUnavailableError(down.unavailable);
    return docs.map((doc, i) => toRun(doc, results[i]!.shard));
  }

  /** One unordered insert per shard; a down shard marks its runs `unavailable` instead of failing the rest. */
  async #insert(docs: readonly RunDocument[]): Promise<C.CreateResult[]> {
    const outcome = new Map<string, C.CreateResult>();
    const byShard = this.#shards.groupByShard(docs, (doc) => this.#shards.forJob(doc.jobId));
    await Promise.all(
      [...byShard].map(async ([collection, shardDocs]) => {
        const { shard } = collection;
        try {
          const { duplicates } = await insertRuns(collection, shardDocs);
          for (const { _id: id, jobId } of shardDocs) outcome.set(id, { id, jobId, shard, created: !duplicates.has(id) });
        } catch (error) {
          if (!(error instanceof ShardUnavailableError)) throw error;
          for (const { _id: id, jobId } of shardDocs) outcome.set(id, { id, jobId, shard, created: false, unavailable: shard });
        }
      }),
    );
    return docs.map((doc) => outcome.get(doc._id)!);
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
    const results = new Map<string, C.RenewResult>();
    await this.#perShard(leases, async (collection, shardLeases) => {
      const byId = new Map(shardLeases.map((lease) => [lease.id, lease]));
      const decided = await this.#decideEach<C.RenewResult>(collection, [...byId.keys()], (id, doc, now) =>
        holdsLease(doc, byId.get(id)!)
          ? {
              change: renewWrite(doc, now),
              onCommit: (after) => ({ id, state: 'renewed', deadline: after.deadline!, stopRequested: after.stopRequested }),
            }
          : { done: { id, state: 'lost' } },
      );
      for (const [id, result] of decided) results.set(id, result);
    }, (lease, shard) => results.set(lease.id, { id: lease.id, state: 'unavailable', shard }));
    return leases.map((lease) => results.get(lease.id) ?? { id: lease.id, state: 'lost' });
  }

  async settle(reports: readonly C.Settlement[]): Promise<C.SettleResult[]> {
    const results = new Map<string, C.SettleResult>();
    const outcomes = new Map(reports.map((report) => [report.lease.id, report.outcome]));
    await this.#perShard(reports.map((report) => report.lease), async (collection, shardLeases) => {
      const byId = new Map(shardLeases.map((lease) => [lease.id, lease]));
      const followUps: RunDocument[] = [];
      const decided = await this.#decideEach<C.SettleResult>(collection, [...byId.keys()], (id, doc, now) => {
        if (!holdsLease(doc, byId.get(id)!)) return { done: { id, accepted: false, status: null } };
        const { write, status } = settlementWrite(doc, outcomes.get(id)!, now);
        return {
          change: write,
          onCommit: (after) => {
            if (after.followUp) followUps.push(after);
            return { id, accepted: true, status };
          },
        };
      });
      for (const [id, result] of decided) results.set(id, result);
      for (const [id, related] of await this.#followUp(collection, followUps)) {
        results.set(id, { ...results.get(id)!, related });
      }
    }, (lease, shard) => results.set(lease.id, { id: lease.id, accepted: false, status: null, unavailable: shard }));
    for (const result of results.values()) if (result.accepted) this.#waiters.wake(result.id);
    return reports.map((report) => results.get(report.lease.id) ?? { id: report.lease.id, accepted: false, status: null });
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
    const result = await this.#decideOne<C.StopResult>(runId, 'stop', (doc, now) => {
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
    return this.#decideOne<Run>(runId, 'retry', (doc, now) =>
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

  /**
   * Applies what final statuses mean for the rest of their jobs (`job-follow-up.ts`). A failure
   * here is left to the sweep, which finds `followUp` still set: the final status itself is
   * already written and must be reported as such. Returns, per run, the runs that followed.
   */
  async #followUp(collection: ShardCollection, docs: readonly RunDocument[]): Promise<Map<string, Run[]>> {
    const related = new Map<string, Run[]>();
    const jobs = new Map(docs.map((doc) => [doc.jobId, doc._id]));
    // The runs whose ends are followed up are reported by their own results, not as related.
    const own = new Set(docs.map((doc) => doc._id));
    for (const [jobId, runId] of jobs) {
      try {
        const touched = await reconcileJob(this.#jobShard(jobId), jobId);
        for (const doc of touched) this.#waiters.wake(doc._id);
        related.set(runId, touched.filter((doc) => !own.has(doc._id)).map((doc) => toRun(doc, collection.shard)));
      } catch (error) {
        if (!(error instanceof ShardUnavailableError) && !(error instanceof TaskplaneError)) throw error;
      }
    }
    return related;
  }

  async forget(id: string): Promise<void> {
    const runId = parseRunId(id);
    await this.#decideOne<true>(runId, 'forget', (doc) =>
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
    const counts = { retried: 0, lost: 0, didNotStart: 0 };
    const { unavailable } = await this.#shards.scatter(async (collection) => {
      // Expired leases and expired pending runs, found by one query (on FerretDB every filtered
      // find decodes the whole collection). The documents read are the snapshots the changes are
      // decided on; a run that changed meanwhile (its runner renewed after all) loses its marker
      // and is left.
      for (;;) {
        const now = new Date();
        const found = await collection.find(
          { $or: [{ status: 'running', deadline: { $lt: now } }, { status: 'pending', expiresAt: { $lte: now } }] },
          { limit: SWEEP_BATCH },
        );
        const changes = found.map((doc) => ({
          doc,
          write: doc.status === 'running' ? settlementWrite(doc, { status: 'lost' }, now).write : expiryWrite(doc, now),
        }));
        const { committed } = await commitChanges(collection, changes, now);
        for (const after of committed) {
          if (after.status === 'did not start') counts.didNotStart++;
          else if (after.status === 'lost') counts.lost++;
          else counts.retried++;
          this.#waiters.wake(after._id);
        }
        await this.#followUp(collection, committed.filter((after) => after.followUp));
        if (found.length < SWEEP_BATCH) break;
      }
      // Follow-ups whose writer died before applying them (a settle is normally done within
      // milliseconds; older ones were abandoned). Rare, so looked for less often than leases
      // expire: on FerretDB every filtered find reads the whole collection.
      if (takeTurn(this.#followUpScans, collection, FOLLOW_UP_GRACE_MS)) {
        const abandoned = await collection.find(
          { followUp: true, updatedAt: { $lt: new Date(Date.now() - FOLLOW_UP_GRACE_MS) } },
          { limit: SWEEP_BATCH },
        );
        await this.#followUp(collection, abandoned);
      }
      // Markers only need to go eventually (they are kept 15 minutes): once a minute is enough.
      if (takeTurn(this.#markerSweeps, collection, MARKER_SWEEP_EVERY_MS)) {
        await collection.deleteMarkers(new Date(Date.now() - MARKER_RETENTION_MS));
      }
    }, this.#shards.select(shards));
    return { ...counts, unavailable };
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

  #newDocument(input: NewRun, field: string, now: Date): RunDocument {
    const parsed = parseInput(newRunSchema, input, field);
    const encodedArgs = encodePayload(parsed.args === undefined ? [] : parsed.args, `${field}.args`);
    if (parsed.parentId !== undefined && parsed.jobId === undefined) {
      throw new ValidationError(`${field}.jobId`, 'is required with parentId (a subtask joins its parent’s job)');
    }
    const { router } = this.#shards;
    const jobId = parsed.jobId ?? parsed.id ?? newRootRunId();
    const id = parsed.id ?? (parsed.jobId === undefined ? jobId : newRunIdInJob(parsed.jobId, router.bucketCount));
    const bucket = router.bucketOfJob(jobId);
    if (router.bucketOfJob(id) !== bucket) {
      throw new ValidationError(`${field}.id`, `does not route to bucket ${bucket} of job ${jobId}; omit id to let storage draw one`);
    }
    return newRunDocument({ ...parsed, args: undefined }, { id, jobId, bucket, encodedArgs, defaults: this.#defaults, now });
  }

  async #settleOne(settlement: C.Settlement): Promise<boolean> {
    const [result] = await this.settle([settlement]);
    if (result?.unavailable) throw new ShardUnavailableError(result.unavailable);
    return result?.accepted === true;
  }

  /** Groups leases by shard and runs `write` per shard in parallel; `onUnavailable` per lease of a down shard. */
  async #perShard(
    leases: readonly Lease[],
    write: (collection: ShardCollection, leases: Lease[]) => Promise<void>,
    onUnavailable: (lease: Lease, shard: string) => void,
  ): Promise<void> {
    const byShard = this.#shards.groupByShard(leases, (lease) => this.#shards.forRun(parseRunId(lease.id, 'lease.id')));
    await Promise.all(
      [...byShard].map(async ([collection, shardLeases]) => {
        try {
          await write(collection, shardLeases);
        } catch (error) {
          if (!(error instanceof ShardUnavailableError)) throw error;
          for (const lease of shardLeases) onUnavailable(lease, collection.shard);
        }
      }),
    );
  }

  /**
   * Decides a change for each run on its current document and commits the changes together;
   * runs another writer changed first are re-read and decided again.
   */
  async #decideEach<T>(
    collection: ShardCollection,
    ids: readonly string[],
    decide: (id: string, doc: RunDocument | undefined, now: Date) => Decision<T>,
  ): Promise<Map<string, T>> {
    const results = new Map<string, T>();
    let open = [...new Set(ids)];
    for (let round = 0; open.length > 0; round++) {
      if (round === MAX_ROUNDS) {
        throw new TaskplaneError('CONFLICT', `run ${open[0]} kept changing while being written; try again`);
      }
      const now = new Date();
      const decisions = new Map<string, { doc: RunDocument | undefined; decision: Decision<T> }>();
      // First round: what this store last wrote, where that leads to a change (see snapshot-cache.ts).
      if (round === 0) {
        for (const [id, doc] of this.#snapshots.lookup(open, now.getTime())) {
          const decision = decide(id, doc, now);
          if ('change' in decision) decisions.set(id, { doc, decision });
        }
      }
      const unread = open.filter((id) => !decisions.has(id));
      const current = new Map((await readRuns(collection, unread)).map((doc) => [doc._id, doc]));
      for (const id of unread) decisions.set(id, { doc: current.get(id), decision: decide(id, current.get(id), now) });
      const changes: Change[] = [];
      const onCommit = new Map<string, (after: RunDocument) => T>();
      for (const [id, { doc, decision }] of decisions) {
        if ('done' in decision) {
          results.set(id, decision.done);
        } else {
          changes.push({ doc: doc!, write: decision.change });
          onCommit.set(id, decision.onCommit);
        }
      }
      const { committed, conflicted } = await commitChanges(collection, changes, now);
      const deleted = new Set(changes.filter((change) => change.write === 'delete').map((change) => change.doc._id));
      this.#snapshots.remember(committed.filter((after) => !deleted.has(after._id)));
      this.#snapshots.forget([...deleted, ...conflicted.map((doc) => doc._id)]);
      for (const after of committed) results.set(after._id, onCommit.get(after._id)!(after));
      open = conflicted.map((doc) => doc._id);
    }
    return results;
  }

  /** `#decideEach` for one run by id: a missing run is `NOT_FOUND`; a decided `Error` is thrown. */
  async #decideOne<T>(runId: string, operation: string, decide: (doc: RunDocument, now: Date) => Decision<T | Error>): Promise<T> {
    const results = await this.#decideEach<T | Error>(this.#shards.forRun(runId), [runId], (id, doc, now) =>
      doc ? decide(doc, now) : { done: new RunNotFoundError(id) },
    );
    const result = results.get(runId);
    if (result === undefined) throw new TaskplaneError('INTERNAL', `${operation} of run ${runId} decided nothing`);
    if (result instanceof Error) throw result;
    return result;
  }
}

/** True (and noted in `last`) when `everyMs` have passed since `collection`'s last turn. */
function takeTurn(last: Map<ShardCollection, number>, collection: ShardCollection, everyMs: number): boolean {
  const now = Date.now();
  if (now - (last.get(collection) ?? 0) < everyMs) return false;
  last.set(collection, now);
  return true;
}
