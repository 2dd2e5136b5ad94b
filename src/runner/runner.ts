import type { Logger } from 'pino';
import type { Coordinator } from '../coordination/contract.js';
import { coerceError } from '../core/errors.js';
import type { Handler } from '../core/handler.js';
import { LIMITS } from '../core/limits.js';
import type { RunnerInfo } from '../core/members.js';
import { leaseOf, type JsonValue, type Run, type RunnerIdentity } from '../core/types.js';
import type { TaskStore } from '../storage/contract.js';
import { RunExecution } from './run-execution.js';
import { SettlementQueue } from './settlement-queue.js';
import { WakeSignal } from './wake-signal.js';

/**
 * The runner role: claims runs its handlers can execute and runs at most `capacity` at once.
 *
 * State: `idle` → start() → `running` → drain() → `draining` → `closed`.
 * - Claiming: one loop. When slots are free it takes up to that many runs in one `take` (a
 *   constant number of round trips per shard), then sleeps until a wake-up — `work:<cluster>` on
 *   the coordinator, a slot freeing up after a full claim — or `pollMs`, the fallback that keeps
 *   work moving while Redis is down and finds retries whose backoff has passed.
 * - Leases: every `renewEveryMs` the leases a third of the way through their `timeToResolve`
 *   are renewed in one batch; a lease reported lost aborts its handler, a stop request aborts it
 *   as `stopped`. Stops also arrive at once on the `stop` channel.
 * - Outcomes go through a `SettlementQueue` (batched settle calls).
 * - Drain: stop claiming, let handlers finish for `drainGraceMs`, then abort the rest and hand
 *   them back to `pending` without spending an attempt.
 */
export interface RunnerOptions {
  readonly store: TaskStore;
  readonly coordinator: Coordinator;
  readonly log: Logger;
  readonly id: string;
  readonly node: string;
  readonly cluster: string;
  readonly group: string;
  readonly tags: readonly string[];
  readonly handlers: ReadonlyMap<string, Handler>;
  readonly capacity: number;
  readonly pollMs: number;
  readonly drainGraceMs: number;
  readonly heartbeatMs: number;
  /** A running run's stop request is looked up in storage at least this often (Redis delivers it at once). @defaultValue 2000 */
  readonly stopCheckMs?: number;
  /** How often leases are checked; a lease is renewed once a third of its time has passed. @defaultValue 250 */
  readonly renewEveryMs?: number;
}

type State = 'idle' | 'running' | 'draining' | 'closed';

export class Runner {
  readonly #options: RunnerOptions;
  readonly #log: Logger;
  readonly #identity: RunnerIdentity;
  readonly #active = new Map<string, RunExecution>();
  readonly #wake = new WakeSignal();
  readonly #settlements: SettlementQueue;
  readonly #unsubscribe: Array<() => void> = [];
  readonly #timers: NodeJS.Timeout[] = [];
  readonly #startedAt = new Date().toISOString();
  #state: State = 'idle';
  #loop: Promise<void> | null = null;
  #idleWaiters: Array<() => void> = [];

  constructor(options: RunnerOptions) {
    this.#options = options;
    this.#log = options.log.child({ runner: options.id });
    this.#identity = { id: options.id, cluster: options.cluster, tags: [...options.tags], handlers: [...options.handlers.keys()] };
    this.#settlements = new SettlementQueue(options.store, this.#log);
  }

  get state(): State {
    return this.#state;
  }

  get load(): number {
    return this.#active.size;
  }

  start(): void {
    if (this.#state !== 'idle') throw new Error(`runner ${this.#options.id} is ${this.#state}; start it once`);
    this.#state = 'running';
    const { coordinator, cluster } = this.#options;
    this.#unsubscribe.push(coordinator.subscribe(`work:${cluster}`, () => this.#wake.wake()));
    this.#unsubscribe.push(
      coordinator.subscribe('stop', (message) => {
        const id = typeof message === 'object' && message !== null && !Array.isArray(message) ? message.id : undefined;
        if (typeof id === 'string') this.#active.get(id)?.abort({ kind: 'stop' });
      }),
    );
    this.#timers.push(setInterval(() => void this.#renew(), this.#options.renewEveryMs ?? 250));
    this.#timers.push(setInterval(() => void this.#heartbeat(), this.#options.heartbeatMs));
    void this.#heartbeat();
    this.#loop = this.#claimLoop();
    this.#log.info({ cluster, tags: this.#identity.tags, handlers: this.#identity.handlers.length, capacity: this.#options.capacity }, 'runner started');
  }

  /** Stops claiming, waits up to `graceMs` for running handlers, hands the rest back, then closes. */
  async drain(graceMs = this.#options.drainGraceMs): Promise<void> {
    if (this.#state === 'closed' || this.#state === 'idle') {
      this.#state = 'closed';
      return;
    }
    if (this.#state === 'running') {
      this.#state = 'draining';
      this.#wake.wake();
      this.#log.info({ running: this.#active.size, graceMs }, 'runner draining');
      void this.#heartbeat();
      await this.#loop;
      await this.#whenIdle(graceMs);
      for (const execution of this.#active.values()) execution.abort({ kind: 'shutdown' });
      await this.#whenIdle(1000);
      // Outcomes must reach storage before the process exits; a shard down this long is left to lease expiry.
      await this.#settlements.drain(15_000);
      this.#state = 'closed';
      for (const unsubscribe of this.#unsubscribe) unsubscribe();
      for (const timer of this.#timers) clearInterval(timer);
      this.#settlements.close();
      await this.#options.coordinator.leave('runner', this.#options.id);
      this.#log.info('runner closed');
    }
  }

  close(): Promise<void> {
    return this.drain(0);
  }

  async #claimLoop(): Promise<void> {
    const { capacity, pollMs, store } = this.#options;
    while (this.#state === 'running') {
      const free = capacity - this.#active.size;
      if (free <= 0) {
        await this.#wake.wait(pollMs);
        continue;
      }
      let claimed: Run[] = [];
      try {
        const taken = await store.take(this.#identity, Math.min(free, LIMITS.takeBatch));
        claimed = taken.runs;
        if (taken.unavailable.length > 0) this.#log.warn({ shards: taken.unavailable }, 'shards unavailable while claiming');
      } catch (error) {
        this.#log.error({ err: coerceError(error) }, 'claim failed');
      }
      for (const run of claimed) this.#execute(run);
      if (this.#state !== 'running') break;
      // A full claim suggests more work is waiting: claim again as soon as a slot frees.
      if (claimed.length === 0 || claimed.length < free) await this.#wake.wait(pollMs);
    }
  }

  #execute(run: Run): void {
    const handler = this.#options.handlers.get(run.funcName);
    const execution = new RunExecution(run, leaseOf(run));
    this.#active.set(run.id, execution);
    if (this.#state !== 'running') execution.abort({ kind: 'shutdown' });
    const finish = (outcome: Awaited<ReturnType<RunExecution['execute']>>) => {
      this.#active.delete(run.id);
      if (outcome?.status === 'stopped') this.#settlements.addUrgent({ lease: execution.lease, outcome });
      else if (outcome) this.#settlements.add({ lease: execution.lease, outcome });
      this.#wake.wake();
      if (this.#active.size === 0) for (const resolve of this.#idleWaiters.splice(0)) resolve();
    };
    if (!handler) {
      // take() only returns runs of our handlers; this guards against a store that does not.
      finish({ status: 'failed', error: new Error(`runner ${this.#options.id} has no handler '${run.funcName}'`) });
      return;
    }
    execution.execute(handler, this.#log).then(finish, (error: unknown) => finish({ status: 'failed', error }));
  }

  async #renew(): Promise<void> {
    const now = Date.now();
    // Due: a third of the lease has passed — or `stopCheckMs` since storage last answered, so a
    // stop request whose Redis message was lost still reaches the handler within that time.
    const stopCheckMs = this.#options.stopCheckMs ?? 2000;
    const due = [...this.#active.values()].filter(
      (e) => !e.aborted && (e.deadline.getTime() - now < (e.run.timeToResolve * 1000 * 2) / 3 || now - e.confirmedAt >= stopCheckMs),
    );
    for (const execution of due) execution.confirmedAt = now;
    for (const execution of this.#active.values()) {
      if (!execution.aborted && execution.deadline.getTime() <= now) execution.abort({ kind: 'lease-lost' });
    }
    if (due.length === 0) return;
    try {
      const results = await this.#options.store.renew(due.map((e) => e.lease));
      for (const result of results) {
        const execution = this.#active.get(result.id);
        if (!execution) continue;
        if (result.state === 'lost') execution.abort({ kind: 'lease-lost' });
        else if (result.state === 'renewed') {
          execution.deadline = result.deadline;
          if (result.stopRequested) execution.abort({ kind: 'stop' });
        }
      }
    } catch (error) {
      this.#log.error({ err: coerceError(error), count: due.length }, 'lease renewal failed; will retry');
    }
  }

  async #heartbeat(): Promise<void> {
    const { coordinator, id, node, cluster, group, tags, capacity, heartbeatMs } = this.#options;
    const info: RunnerInfo = {
      id,
      node,
      cluster,
      group,
      tags: [...tags],
      handlers: this.#identity.handlers,
      capacity,
      load: this.#active.size,
      state: this.#state === 'running' ? 'running' : 'draining',
      startedAt: this.#startedAt,
    };
    await coordinator.heartbeat('runner', id, info as unknown as JsonValue, heartbeatMs * 3);
  }

  #whenIdle(timeoutMs: number): Promise<void> {
    if (this.#active.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.#idleWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}
