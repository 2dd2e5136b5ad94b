import type { Logger } from 'pino';
import type { Catalog, WorkerGroupConfig } from '../catalog/contract.js';
import type { Coordinator } from '../coordination/contract.js';
import { coerceError } from '../core/errors.js';
import type { Handler } from '../core/handler.js';
import { LIMITS } from '../core/limits.js';
import type { RunnerInfo } from '../core/members.js';
import type { JsonValue, Run, RunnerIdentity } from '../core/types.js';
import type { TaskStore } from '../storage/contract.js';
import { checkRunnerCluster } from './check-cluster.js';
import { effectiveRouting, sameRouting, type Routing } from './effective-routing.js';
import { runGroupInitCommand } from './init-command.js';
import { renewLeases } from './lease-renewal.js';
import type { RunExecution } from './run-execution.js';
import { RuntimeSet, type RuntimeSetOptions } from './runtimes/runtime-set.js';
import { SettlementQueue } from './settlement-queue.js';
import { WakeSignal } from './wake-signal.js';
import { WorkerGroupWatch } from './worker-group-watch.js';

/**
 * The runner role: claims runs its handlers can execute and runs at most `capacity` at once.
 *
 * State: `idle` → start() → `starting` → `running` → drain() → `draining` → `closed`.
 * - Start (with a catalog): the runner's cluster must exist (else `UnknownClusterError`); its
 *   worker group's config is read, and the group's init command, if any, is run to completion
 *   when `allowInitCommand` — all before the first claim.
 * - Routing: what it claims (tags, claim order by tag priority, handlers) follows its worker
 *   group's config while it runs (`WorkerGroupWatch`, `effectiveRouting`); each change is
 *   announced in the next heartbeat, which is sent at once.
 * - Claiming: one loop. When slots are free it takes up to that many runs in one `take` (a
 *   constant number of round trips per shard) — one `take` per tag-priority level, highest first,
 *   when the group gives its tags different priorities — then sleeps until a wake-up —
 *   `work:<cluster>` on the coordinator, a slot freeing up after a full claim, a routing change —
 *   or `pollMs`, the fallback that keeps work moving while Redis is down and finds retries whose
 *   backoff has passed. Runs due within `lookaheadMs` are taken too and begun at their due time
 *   (a periodical's tick is created ahead by the scheduler), holding their slot until then.
 * - Leases: every `renewEveryMs` the leases a third of the way through their `timeToResolve`
 *   are renewed in one batch; a lease reported lost aborts its handler, a stop request aborts it
 *   as `stopped`. Stops also arrive at once on the `stop` channel.
 * - Execution: each run's handler runs in its runtime (`inline`, or a `process` child; the run's
 *   own, else `runtime`), bounded by its `run_timeout` (else `runTimeout`). However an attempt
 *   is cut short — timeout, stop, lease loss, drain — the handler's signal fires and it has
 *   `abortGraceMs` to return before it is killed (`process`) or abandoned (`inline`); see
 *   run-execution.ts. A slot is never held longer than that.
 * - Outcomes go through a `SettlementQueue` (batched settle calls).
 * - Drain: stop claiming, let handlers finish for `drainGraceMs`, then abort the rest and hand
 *   them back to `pending` without spending an attempt (after at most `abortGraceMs` more), and
 *   end the `process` runtime's children.
 *
 * Its options add to `RuntimeSetOptions` (default runtime and run timeout, abort grace, the
 * modules process children may load, their pool size).
 */
export interface RunnerOptions extends RuntimeSetOptions {
  /** What a runner needs of storage: a local store, or the remote one over the runner gateway (src/runner/remote/). */
  readonly store: Pick<TaskStore, 'take' | 'renew' | 'settle'>;
  readonly coordinator: Pick<Coordinator, 'subscribe' | 'heartbeat' | 'leave'>;
  readonly log: Logger;
  readonly id: string;
  readonly node: string;
  readonly cluster: string;
  readonly group: string;
  /** Tags listened to while the group's config names none (with `default`, as configured). */
  readonly tags: readonly string[];
  /** Tags set explicitly (`WORKER_TAGS`); added to the group's tags when it names some. @defaultValue null */
  readonly ownTags?: readonly string[] | null;
  readonly handlers: ReadonlyMap<string, Handler>;
  readonly capacity: number;
  readonly pollMs: number;
  readonly drainGraceMs: number;
  readonly heartbeatMs: number;
  /** A running run's stop request is looked up in storage at least this often (Redis delivers it at once). @defaultValue 2000 */
  readonly stopCheckMs?: number;
  /** How often leases are checked; a lease is renewed once a third of its time has passed. @defaultValue 250 */
  readonly renewEveryMs?: number;
  /**
   * Where the runner checks its cluster and reads its worker group's config. Without one it
   * keeps its own tags and handlers and runs no init command (embedded tools, benchmarks).
   */
  readonly catalog?: Pick<Catalog, 'getCluster' | 'listClusters' | 'getWorkerGroup'>;
  /** Run the worker group's init command at start. @defaultValue false */
  readonly allowInitCommand?: boolean;
  /** @defaultValue 300000 (5 min) */
  readonly initCommandTimeoutMs?: number;
  /** The group's config is re-read at least this often (a change message makes it sooner). @defaultValue 2000 */
  readonly groupCheckMs?: number;
  /** Runs due this soon are claimed now and begun at their due time (see `RunnerIdentity.lookaheadMs`). @defaultValue 0 */
  readonly lookaheadMs?: number;
}

type State = 'idle' | 'starting' | 'running' | 'draining' | 'closed';

export class Runner {
  readonly #options: RunnerOptions;
  readonly #log: Logger;
  /** What `take` is asked for; replaced (never mutated) when the group's config changes. */
  #identity: RunnerIdentity;
  #routing: Routing;
  #watch: WorkerGroupWatch | null = null;
  /** Aborts the start (the init command) when the runner is closed while starting. */
  readonly #starting = new AbortController();
  readonly #active = new Map<string, RunExecution>();
  readonly #wake = new WakeSignal();
  readonly #settlements: SettlementQueue;
  readonly #unsubscribe: Array<() => void> = [];
  readonly #timers: NodeJS.Timeout[] = [];
  readonly #startedAt = new Date().toISOString();
  #state: State = 'idle';
  #loop: Promise<void> | null = null;
  #idleWaiters: Array<() => void> = [];
  readonly #runtimes: RuntimeSet;

  constructor(options: RunnerOptions) {
    this.#options = options;
    this.#log = options.log.child({ runner: options.id });
    this.#routing = effectiveRouting(this.#ownRouting(), null);
    this.#identity = this.#identityOf(this.#routing);
    this.#settlements = new SettlementQueue(options.store, this.#log);
    this.#runtimes = new RuntimeSet({ ...options, log: this.#log });
  }

  get state(): State {
    return this.#state;
  }

  get load(): number {
    return this.#active.size;
  }

  /**
   * Handlers that ignored their signal past the abort grace: `killed` (process runtime children)
   * and `abandoned` (inline calls that may still be running in this process).
   */
  get gaveUp(): { readonly killed: number; readonly abandoned: number } {
    return this.#runtimes.gaveUp;
  }

  /** Pids of the `process` runtime's live children. */
  get processPids(): number[] {
    return this.#runtimes.processPids;
  }

  /** What `take` is asked for now. */
  get identity(): RunnerIdentity {
    return this.#identity;
  }

  /**
   * Starts claiming. With a catalog, first checks the cluster, applies the worker group's config
   * and runs its init command; rejects (and claims nothing) when one of those fails. Without a
   * catalog, claiming starts before this returns.
   */
  async start(): Promise<void> {
    if (this.#state !== 'idle') throw new Error(`runner ${this.#options.id} is ${this.#state}; start it once`);
    this.#state = 'starting';
    const { coordinator, cluster, catalog } = this.#options;
    if (catalog) {
      // close() may come while a step is in flight: it aborts the init command, and no later step runs.
      const stillStarting = () => {
        if (this.#state !== 'starting') throw new Error(`runner ${this.#options.id} was closed while starting`);
      };
      await checkRunnerCluster(catalog, cluster);
      stillStarting();
      const group = await catalog.getWorkerGroup(this.#options.group);
      stillStarting();
      this.#applyGroup(group);
      await runGroupInitCommand(group, {
        allowed: this.#options.allowInitCommand ?? false,
        timeoutMs: this.#options.initCommandTimeoutMs ?? 300_000,
        log: this.#log,
        signal: this.#starting.signal,
      });
      stillStarting();
      this.#watch = new WorkerGroupWatch({
        catalog,
        coordinator,
        group: this.#options.group,
        log: this.#log,
        onChange: (config) => this.#applyGroup(config),
        ...(this.#options.groupCheckMs !== undefined ? { everyMs: this.#options.groupCheckMs } : {}),
      });
      this.#watch.start(group);
    }
    this.#state = 'running';
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
    this.#log.info(
      { cluster, group: this.#options.group, tags: this.#identity.tags, handlers: this.#identity.handlers.length, capacity: this.#options.capacity },
      'runner started',
    );
  }

  #identityOf(routing: Routing): RunnerIdentity {
    const { id, cluster, lookaheadMs = 0 } = this.#options;
    return { id, cluster, tags: routing.tags, handlers: routing.handlers, ...(lookaheadMs > 0 ? { lookaheadMs } : {}) };
  }

  #ownRouting() {
    const { tags, ownTags, handlers } = this.#options;
    return { tags, ownTags: ownTags ?? null, handlers: [...handlers.keys()] };
  }

  /** Follows the group's config: new routing, a log line and an early heartbeat when it changed. */
  #applyGroup(group: WorkerGroupConfig | null): void {
    const routing = effectiveRouting(this.#ownRouting(), group);
    const changed = !sameRouting(routing, this.#routing) || routing.problem !== this.#routing.problem;
    this.#routing = routing;
    this.#identity = this.#identityOf(routing);
    if (!changed && this.#state !== 'starting') return;
    const priorities = routing.levels.length > 1 ? routing.levels : undefined;
    this.#log.info(
      { group: this.#options.group, configured: group !== null, tags: routing.tags, priorities, dedicatedHandler: routing.dedicatedHandler, handlers: routing.handlers.length },
      group ? 'following the worker group config' : 'worker group has no stored config; using the runner\'s own tags and handlers',
    );
    if (routing.problem) this.#log.error({ group: this.#options.group }, routing.problem);
    if (this.#state === 'running') {
      void this.#heartbeat();
      this.#wake.wake();
    }
  }

  /** Stops claiming, waits up to `graceMs` for running handlers, hands the rest back, then closes. */
  async drain(graceMs = this.#options.drainGraceMs): Promise<void> {
    if (this.#state === 'closed' || this.#state === 'idle' || this.#state === 'starting') {
      this.#state = 'closed';
      this.#starting.abort();
      await this.#runtimes.close();
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
      // Each ends within the abort grace: returned, or killed or abandoned at its end.
      await this.#whenIdle((this.#options.abortGraceMs ?? 5000) + 1000);
      // Outcomes must reach storage before the process exits; a shard down this long is left to lease expiry.
      await this.#settlements.drain(15_000);
      this.#state = 'closed';
      for (const unsubscribe of this.#unsubscribe) unsubscribe();
      for (const timer of this.#timers) clearInterval(timer);
      this.#watch?.close();
      this.#settlements.close();
      await this.#runtimes.close();
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
      const identity = this.#identity;
      const { levels } = this.#routing;
      let claimed = 0;
      try {
        // Higher-priority tags first; a level is asked only for the slots the ones above left free.
        for (const tags of levels) {
          const want = Math.min(free - claimed, LIMITS.takeBatch);
          if (want <= 0) break;
          const taken = await store.take(levels.length === 1 ? identity : { ...identity, tags }, want);
          if (taken.unavailable.length > 0) this.#log.warn({ shards: taken.unavailable }, 'shards unavailable while claiming');
          for (const run of taken.runs) this.#execute(run);
          claimed += taken.runs.length;
        }
      } catch (error) {
        this.#log.error({ err: coerceError(error) }, 'claim failed');
      }
      if (this.#state !== 'running') break;
      // A full claim suggests more work is waiting: claim again as soon as a slot frees.
      if (claimed === 0 || claimed < free) await this.#wake.wait(pollMs);
    }
  }

  #execute(run: Run): void {
    const handler = this.#options.handlers.get(run.funcName);
    const execution = this.#runtimes.execution(run);
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
    execution.execute().then(finish, (error: unknown) => finish({ status: 'failed', error }));
  }

  #renew(): Promise<void> {
    return renewLeases(this.#active, this.#options.store, this.#options.stopCheckMs ?? 2000, this.#log);
  }

  async #heartbeat(): Promise<void> {
    const { coordinator, id, node, cluster, group, capacity, heartbeatMs } = this.#options;
    const info: RunnerInfo = {
      id,
      node,
      cluster,
      group,
      // What it claims now, so the api's waiting reasons follow the group's config.
      tags: [...this.#identity.tags],
      handlers: [...this.#identity.handlers],
      dedicatedHandler: this.#routing.dedicatedHandler,
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
