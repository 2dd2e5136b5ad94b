import { TaskplaneError } from '../core/errors.js';
import type { NewRun } from '../core/run-input.js';
import { isFinalStatus, type Lease, type Run, type RunStatus } from '../core/types.js';
import type { BucketRouter } from '../storage/bucket-router.js';
import type { CreateResult, JobChange, RenewResult, Settlement, SettleResult, StopResult, SweepResult, TakeResult, TaskStore } from '../storage/contract.js';
import { statusLabel, type NodeMetrics } from './node-metrics.js';

/**
 * Wraps a store so the node counts what it does through it:
 *
 * - every call is timed (`taskplane_store_operation_duration_seconds{operation, shard}`), and
 *   shard failures are counted (`…_errors_total`): a thrown `SHARD_UNAVAILABLE` or unexpected
 *   error, and each shard a cross-shard call lists as `unavailable`;
 * - `create`/`createMany` → runs created; `take` → runs started and their queue wait;
 *   `settle`/`complete` → attempt durations and runs finished; `stop` of a pending run,
 *   `cancelJob` and the storage `sweep` → runs finished.
 *
 * It is a Proxy rather than a class listing the contract's methods, so a method added to the
 * contract later is forwarded (and timed) without a change here. `start`, `close` and `wait` (a
 * long poll, not a shard operation) are forwarded untimed.
 *
 * Durations need the claim time, and settle reports carry only the lease: the runs a `take`
 * returned are remembered (name, cluster, claim time) until they are settled. The runner settles
 * what it took through the same store, so they are known; anything else is counted with an empty
 * name and cluster. Place it inside `withRunEvents`, which sends `complete` and `fail` through
 * `settle`, so a failure's outcome (retry or final) is known.
 */

const UNTIMED = new Set<PropertyKey>(['start', 'close', 'wait']);
/** Runs remembered between their claim and their settlement; a runner holds far fewer. */
const REMEMBERED_RUNS = 50_000;

interface Claim {
  readonly name: string;
  readonly cluster: string;
  readonly startedAt: number;
}

type AnyMethod = (...args: unknown[]) => unknown;

export function withMetrics<S extends TaskStore>(store: S & { readonly router?: BucketRouter }, metrics: NodeMetrics): S {
  const claims = new Map<string, Claim>();
  const wrapped = new Map<PropertyKey, AnyMethod>();

  /** The one shard a call touches, or `*`. */
  const shardOfIds = (ids: readonly string[]): string => {
    const { shards, router } = store;
    if (shards.length === 1) return shards[0] ?? '*';
    if (!router || ids.length === 0) return '*';
    const indexes = new Set(ids.map((id) => router.shardOfRun(id)));
    return indexes.size === 1 ? (shards[[...indexes][0]!] ?? '*') : '*';
  };
  const shardOfCall = (operation: string, args: readonly unknown[]): string => {
    switch (operation) {
      case 'get':
      case 'stop':
      case 'retry':
      case 'forget':
      // A job lives on its root run's shard, and its id is the root run's.
      case 'job':
      case 'cancelJob':
      case 'retryJob':
        return typeof args[0] === 'string' ? shardOfIds([args[0]]) : '*';
      case 'getMany':
        return Array.isArray(args[0]) ? shardOfIds(args[0] as string[]) : '*';
      case 'renew':
        return Array.isArray(args[0]) ? shardOfIds((args[0] as Lease[]).map((lease) => lease.id)) : '*';
      case 'settle':
        return Array.isArray(args[0]) ? shardOfIds((args[0] as Settlement[]).map((report) => report.lease.id)) : '*';
      case 'complete':
      case 'fail':
        return shardOfIds([(args[0] as Lease | undefined)?.id ?? '']);
      case 'trim':
      case 'sweep': {
        const only = operation === 'trim' ? args[1] : args[0];
        return Array.isArray(only) && only.length === 1 ? String(only[0]) : store.shards.length === 1 ? (store.shards[0] ?? '*') : '*';
      }
      default:
        return store.shards.length === 1 ? (store.shards[0] ?? '*') : '*';
    }
  };

  /** New runs' shards are known only once written. */
  const shardOfResult = (operation: string, result: unknown): string | null => {
    if (operation === 'create') return (result as Run | null)?.shard ?? null;
    if (operation !== 'createMany' || !Array.isArray(result)) return null;
    const shards = new Set((result as CreateResult[]).map((created) => created.shard));
    return shards.size === 1 ? [...shards][0]! : '*';
  };
  const shardError = (operation: string, shard: string, code: string) => metrics.storeErrors.inc({ operation, shard, code });
  const unavailable = (operation: string, shards: Iterable<string | undefined>) => {
    for (const shard of new Set(shards)) if (shard) shardError(operation, shard, 'SHARD_UNAVAILABLE');
  };

  const finished = (status: RunStatus, name: string, cluster: string, count = 1) => {
    if (count > 0) metrics.runsFinished.inc({ status: statusLabel(status), name: metrics.nameLabel(name), cluster }, count);
  };
  const remember = (id: string, claim: Claim) => {
    claims.delete(id);
    claims.set(id, claim);
    if (claims.size > REMEMBERED_RUNS) {
      const oldest = claims.keys().next();
      if (!oldest.done) claims.delete(oldest.value);
    }
  };
  /** The end of an attempt: its duration by outcome, and the run's final status if it has one. */
  const attemptEnded = (id: string, status: RunStatus, outcome: string) => {
    const claim = claims.get(id);
    claims.delete(id);
    const name = claim?.name ?? '';
    const cluster = claim?.cluster ?? '';
    if (claim) metrics.runDuration.observe({ name: metrics.nameLabel(name), cluster, outcome }, Math.max(0, (Date.now() - claim.startedAt) / 1000));
    if (isFinalStatus(status)) finished(status, name, cluster);
  };

  const created = (run: Run) => {
    metrics.runsCreated.inc({ name: metrics.nameLabel(run.name), cluster: run.cluster });
    if (isFinalStatus(run.status)) finished(run.status, run.name, run.cluster);
  };

  /** What each operation's answer says about runs and shards; `begunAt` is when the call began. */
  const observe: Record<string, (result: never, args: readonly unknown[], begunAt: number) => void> = {
    create: (run: Run) => created(run),
    submitFlow: (runs: Run[]) => runs.forEach(created),
    createMany: (results: CreateResult[], [inputs]) => {
      results.forEach((result, index) => {
        const input = (inputs as readonly NewRun[])[index];
        if (!result.created || !input) return;
        const name = input.name ?? input.funcName;
        const cluster = input.cluster ?? 'default';
        metrics.runsCreated.inc({ name: metrics.nameLabel(name), cluster });
        if (input.status && isFinalStatus(input.status)) finished(input.status, name, cluster);
      });
      unavailable('createMany', results.map((result) => result.unavailable));
    },
    take: (result: TakeResult) => {
      const now = Date.now();
      for (const run of result.runs) {
        const startedAt = run.startedAt?.getTime() ?? now;
        remember(run.id, { name: run.name, cluster: run.cluster, startedAt });
        metrics.runsStarted.inc({ name: metrics.nameLabel(run.name), cluster: run.cluster });
        const due = Math.max(run.createdAt.getTime(), run.runAfter.getTime());
        metrics.queueWait.observe({ name: metrics.nameLabel(run.name), cluster: run.cluster }, Math.max(0, (startedAt - due) / 1000));
      }
      unavailable('take', result.unavailable);
    },
    settle: (results: SettleResult[], [reports], begunAt) => {
      results.forEach((result, index) => {
        const report = (reports as readonly Settlement[])[index];
        if (!result.accepted || result.status === null || !report) return;
        const outcome = result.status === 'pending' ? (report.outcome.status === 'released' ? 'released' : 'retry') : statusLabel(result.status);
        attemptEnded(result.id, result.status, outcome);
        // What the outcome did to the rest of its job: subtasks it spawned were created by this
        // call (so after it began); dependents it stopped or reverts that ended are finished.
        for (const run of result.related ?? []) {
          if (run.createdAt.getTime() >= begunAt) created(run);
          else if (isFinalStatus(run.status)) finished(run.status, run.name, run.cluster);
        }
      });
      unavailable('settle', results.map((result) => result.unavailable));
    },
    complete: (accepted: boolean, [lease]) => {
      if (accepted) attemptEnded((lease as Lease).id, 'completed', 'completed');
    },
    renew: (results: RenewResult[]) => unavailable('renew', results.map((result) => (result.state === 'unavailable' ? result.shard : undefined))),
    stop: (result: StopResult) => {
      // A pending run stopped at once is final now; a running one is counted when its runner settles it.
      if (result.state !== 'stopped') return;
      store.get(result.id).then(
        (run) => finished('stopped', run?.name ?? '', run?.cluster ?? ''),
        () => finished('stopped', '', ''),
      );
    },
    cancelJob: (result: JobChange) => {
      for (const run of result.changed) if (isFinalStatus(run.status)) finished(run.status, run.name, run.cluster);
    },
    sweep: (result: SweepResult) => {
      finished('lost', '', '', result.lost);
      finished('did not start', '', '', result.didNotStart);
      unavailable('sweep', result.unavailable);
    },
    select: (result: { unavailable: string[] }) => unavailable('select', result.unavailable),
    statistics: (result: { unavailable: string[] }) => unavailable('statistics', result.unavailable),
    trim: (result: { unavailable: string[] }) => unavailable('trim', result.unavailable),
  };

  const meter = (operation: string, method: AnyMethod): AnyMethod =>
    function metered(...args: unknown[]): unknown {
      let shard = '*';
      try {
        shard = shardOfCall(operation, args);
      } catch {
        // Arguments of an unexpected shape: the store itself says what is wrong with them.
      }
      const begun = performance.now();
      const begunAt = Date.now();
      const took = (where = shard) => metrics.storeLatency.observe({ operation, shard: where }, (performance.now() - begun) / 1000);
      const succeeded = (result: unknown) => {
        took(shardOfResult(operation, result) ?? shard);
        // Counting must never fail the call it counts (a custom engine may answer in another shape).
        try {
          observe[operation]?.(result as never, args, begunAt);
        } catch {
          // The call itself succeeded.
        }
      };
      const failed = (error: unknown) => {
        took();
        const code = error instanceof TaskplaneError ? error.code : 'INTERNAL';
        if (code !== 'SHARD_UNAVAILABLE' && code !== 'INTERNAL') return;
        const named = (error as { shard?: unknown }).shard;
        shardError(operation, typeof named === 'string' ? named : shard, code);
      };
      let result: unknown;
      try {
        result = method.apply(store, args);
      } catch (error) {
        failed(error);
        throw error;
      }
      // Contract methods answer with promises; anything else a custom engine adds stays synchronous.
      if (!(result instanceof Promise)) {
        succeeded(result);
        return result;
      }
      return result.then(
        (value: unknown) => {
          succeeded(value);
          return value;
        },
        (error: unknown) => {
          failed(error);
          throw error;
        },
      );
    };

  return new Proxy(store, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function' || property === 'constructor') return value;
      let method = wrapped.get(property);
      if (!method) {
        const bound = (value as AnyMethod).bind(target);
        method = UNTIMED.has(property) || typeof property !== 'string' ? bound : meter(property, value as AnyMethod);
        wrapped.set(property, method);
      }
      return method;
    },
  });
}
