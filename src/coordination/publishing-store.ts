import { ShardUnavailableError } from '../core/errors.js';
import type { Flow } from '../core/flow.js';
import type { NewRun, RunFilter } from '../core/run-input.js';
import type { JsonValue, Lease, Run, RunnerIdentity } from '../core/types.js';
import type {
  CreateResult,
  JobChange,
  JobSummary,
  PageRequest,
  RenewResult,
  RunPage,
  Settlement,
  SettleResult,
  ShardHealth,
  Statistics,
  StatisticsQuery,
  StopResult,
  RecountSummary,
  SweepResult,
  TakeResult,
  TaskStore,
  TrimResult,
} from '../storage/contract.js';
import type { Channel, Coordinator, RunEvent } from './contract.js';

/** Runs whose name, job and cluster are remembered, so settle events need no read. */
const REMEMBERED_RUNS = 10_000;

/**
 * Wraps a store so that every successful write is announced through the coordinator:
 *
 * - `runs`: one message per call, an array of `RunEvent` — created (`create`, `createMany`),
 *   claimed (`take` → `running`), settled (`settle`, `complete`, `fail` → the status written, which
 *   is `pending` for a retry or a release), stopped (`stop` of a pending run), retried (`retry`),
 *   forgotten (`forget` → status `forgotten`).
 * - `work:<cluster>`: `{ count }` once per distinct cluster whose runs became pending (created,
 *   retried, released, or failed with attempts left), so that cluster's runners claim at once.
 * - `stop`: `{ id }` when a running run is asked to stop (`stop`, `cancelJob`), so its runner aborts the handler.
 * - Runs that followed from a write (subtasks created, dependents unblocked or stopped, reverts
 *   queued: `related` in `settle` and `stop` results, `changed` of job operations) are announced
 *   as whole runs with the call's message.
 *
 * Publishing never fails or slows a store call: messages are sent fire-and-forget after the write
 * returned, and the coordinator's `publish` never throws.
 *
 * Where the events' `name`, `jobId` and `cluster` come from: `create`, `take` and `retry` return
 * whole runs and `createMany` has its inputs, so those cost nothing; the facts are remembered
 * (the last `REMEMBERED_RUNS` runs) because a runner settles the runs it took through the same
 * store. A settled or stopped run not remembered here is read with one `getMany` per call, in the
 * background, and its events are published when that read returns (so they may arrive after
 * events of later calls; `at` says when the change happened). A forgotten run is gone, so its
 * event has empty `name`, `jobId` and `cluster` when it was not remembered (reading it first
 * would slow `forget`), and `attempt` 0. `sweep` returns counts, not runs, so what it
 * changes is not announced; subscribers that care also poll.
 *
 * `complete` and `fail` go through the wrapped store's `settle` (the contract defines them as a
 * one-report settle): it says which status was written — a failure with attempts left is
 * `pending`, not `failed`.
 */
export function withRunEvents(store: TaskStore, coordinator: Coordinator): TaskStore {
  return new RunEventStore(store, coordinator);
}

interface RunFacts {
  readonly name: string;
  readonly jobId: string;
  readonly cluster: string;
}

/** A change to announce; `attempt: null` means "read it with the facts". */
interface Change {
  readonly id: string;
  readonly status: string;
  readonly attempt: number | null;
}

class RunEventStore implements TaskStore {
  readonly #store: TaskStore;
  readonly #coordinator: Coordinator;
  /** Insertion-ordered, so the first key is the oldest. */
  readonly #facts = new Map<string, RunFacts>();

  constructor(store: TaskStore, coordinator: Coordinator) {
    this.#store = store;
    this.#coordinator = coordinator;
  }

  get engine(): string {
    return this.#store.engine;
  }

  get shards(): readonly string[] {
    return this.#store.shards;
  }

  start(): Promise<void> {
    return this.#store.start();
  }

  close(): Promise<void> {
    return this.#store.close();
  }

  async create(input: NewRun): Promise<Run> {
    const run = await this.#store.create(input);
    this.#announceRuns([run]);
    return run;
  }

  async createMany(inputs: readonly NewRun[]): Promise<CreateResult[]> {
    const results = await this.#store.createMany(inputs);
    const at = new Date().toISOString();
    const events: RunEvent[] = [];
    results.forEach((result, index) => {
      const input = inputs[index];
      if (!result.created || !input) return;
      const facts = { name: input.name ?? input.funcName, jobId: result.jobId, cluster: input.cluster ?? 'default' };
      this.#remember(result.id, facts);
      events.push({ id: result.id, ...facts, status: input.status ?? 'pending', attempt: 0, at });
    });
    this.#publish(events);
    return results;
  }

  async submitFlow(flow: Flow): Promise<Run[]> {
    const runs = await this.#store.submitFlow(flow);
    this.#announceRuns(runs);
    return runs;
  }

  get(id: string): Promise<Run | null> {
    return this.#store.get(id);
  }

  getMany(ids: readonly string[]): Promise<Array<Run | null>> {
    return this.#store.getMany(ids);
  }

  select(filter?: RunFilter, page?: PageRequest): Promise<RunPage> {
    return this.#store.select(filter, page);
  }

  async take(runner: RunnerIdentity, limit: number): Promise<TakeResult> {
    const result = await this.#store.take(runner, limit);
    this.#announceRuns(result.runs);
    return result;
  }

  renew(leases: readonly Lease[]): Promise<RenewResult[]> {
    return this.#store.renew(leases);
  }

  async settle(reports: readonly Settlement[]): Promise<SettleResult[]> {
    const results = await this.#store.settle(reports);
    const changes: Change[] = [];
    results.forEach((result, index) => {
      const report = reports[index];
      if (!result.accepted || result.status === null || !report) return;
      // A release hands the attempt back; every other outcome spent it.
      const released = result.status === 'pending' && report.outcome.status === 'released';
      changes.push({ id: result.id, status: result.status, attempt: report.lease.attempt - (released ? 1 : 0) });
    });
    this.#announce(changes, true);
    this.#announceRuns(results.flatMap((result) => result.related ?? []));
    return results;
  }

  complete(lease: Lease, result: JsonValue): Promise<boolean> {
    return this.#settleOne({ lease, outcome: { status: 'completed', result } });
  }

  fail(lease: Lease, error: unknown): Promise<boolean> {
    return this.#settleOne({ lease, outcome: { status: 'failed', error } });
  }

  async stop(id: string, reason?: string): Promise<StopResult> {
    const result = await this.#store.stop(id, reason);
    if (result.state === 'stopping') this.#send('stop', { id: result.id });
    else this.#announce([{ id: result.id, status: 'stopped', attempt: null }], true);
    if (result.related) this.#announceRuns(result.related);
    return result;
  }

  job(jobId: string): Promise<JobSummary | null> {
    return this.#store.job(jobId);
  }

  cancelJob(jobId: string): Promise<JobChange> {
    return this.#announceJobChange(this.#store.cancelJob(jobId));
  }

  retryJob(jobId: string): Promise<JobChange> {
    return this.#announceJobChange(this.#store.retryJob(jobId));
  }

  async #announceJobChange(change: Promise<JobChange>): Promise<JobChange> {
    const result = await change;
    this.#announceRuns(result.changed);
    for (const id of result.stopping) this.#send('stop', { id });
    return result;
  }

  async retry(id: string): Promise<Run> {
    const run = await this.#store.retry(id);
    this.#announceRuns([run]);
    return run;
  }

  async forget(id: string): Promise<void> {
    await this.#store.forget(id);
    this.#announce([{ id, status: 'forgotten', attempt: 0 }], false);
    this.#facts.delete(id);
  }

  wait(id: string, timeoutMs: number): Promise<Run> {
    return this.#store.wait(id, timeoutMs);
  }

  statistics(query?: StatisticsQuery): Promise<Statistics> {
    return this.#store.statistics(query);
  }

  trim(keepPerName: number, shards?: readonly string[]): Promise<TrimResult> {
    return this.#store.trim(keepPerName, shards);
  }

  recount(shards?: readonly string[]): Promise<RecountSummary> {
    return this.#store.recount ? this.#store.recount(shards) : Promise.resolve({ corrected: 0, folded: 0, busy: [], unavailable: [] });
  }

  sweep(shards?: readonly string[]): Promise<SweepResult> {
    return this.#store.sweep(shards);
  }

  health(): Promise<ShardHealth[]> {
    return this.#store.health();
  }

  async #settleOne(settlement: Settlement): Promise<boolean> {
    const [result] = await this.settle([settlement]);
    if (result?.unavailable) throw new ShardUnavailableError(result.unavailable);
    return result?.accepted === true;
  }

  /** Runs the store returned whole: everything is known. */
  #announceRuns(runs: readonly Run[]): void {
    const at = new Date().toISOString();
    for (const run of runs) this.#remember(run.id, run);
    this.#publish(runs.map((run) => ({ id: run.id, name: run.name, jobId: run.jobId, cluster: run.cluster, status: run.status, attempt: run.attempt, at })));
  }

  /**
   * Changes known by id: facts come from memory, the rest from one background `getMany` unless
   * `read` is false (the run is gone).
   */
  #announce(changes: readonly Change[], read: boolean): void {
    if (changes.length === 0) return;
    const at = new Date().toISOString();
    const unknown = changes.filter((change) => change.attempt === null || !this.#facts.has(change.id)).map((change) => change.id);
    const build = (fetched: ReadonlyMap<string, Run>): RunEvent[] =>
      changes.map((change) => {
        const run = fetched.get(change.id);
        const facts = this.#facts.get(change.id) ?? run ?? { name: '', jobId: '', cluster: '' };
        return { id: change.id, name: facts.name, jobId: facts.jobId, cluster: facts.cluster, status: change.status, attempt: change.attempt ?? run?.attempt ?? 0, at };
      });
    const finish = (fetched: ReadonlyMap<string, Run>): void => {
      this.#publish(build(fetched));
      // Kept after a final status too: a `forget` may come next.
      for (const run of fetched.values()) this.#remember(run.id, run);
    };
    if (!read || unknown.length === 0) {
      finish(new Map());
      return;
    }
    this.#store
      .getMany(unknown)
      .then(
        (runs) => finish(new Map(runs.flatMap((run) => (run ? [[run.id, run] as const] : [])))),
        // The store may be closed or a shard down: announce what is known.
        () => finish(new Map()),
      )
      // Nothing here may surface as an unhandled rejection: that would end the process.
      .catch(() => {});
  }

  /** One `runs` message for the call, and one wake-up per cluster whose runs became pending. */
  #publish(events: readonly RunEvent[]): void {
    if (events.length === 0) return;
    this.#send('runs', events as unknown as JsonValue);
    const pending = new Map<string, number>();
    for (const event of events) {
      if (event.status === 'pending' && event.cluster !== '') pending.set(event.cluster, (pending.get(event.cluster) ?? 0) + 1);
    }
    for (const [cluster, count] of pending) this.#send(`work:${cluster}`, { count });
  }

  #send(channel: Channel, message: JsonValue): void {
    try {
      // The contract says publish never throws; a coordinator that does still must not fail the write.
      this.#coordinator.publish(channel, message).catch(() => {});
    } catch {
      // See above.
    }
  }

  #remember(id: string, facts: RunFacts): void {
    this.#facts.delete(id);
    this.#facts.set(id, { name: facts.name, jobId: facts.jobId, cluster: facts.cluster });
    if (this.#facts.size > REMEMBERED_RUNS) {
      const oldest = this.#facts.keys().next();
      if (!oldest.done) this.#facts.delete(oldest.value);
    }
  }
}
