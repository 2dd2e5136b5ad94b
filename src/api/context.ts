import type { Catalog, WorkerGroupConfig } from '../catalog/contract.js';
import type { Launcher } from '../catalog/launcher.js';
import type { Coordinator, LeaseInfo } from '../coordination/contract.js';
import type { TaskDefinition } from '../core/definition.js';
import { coerceError } from '../core/errors.js';
import type { NodeInfo } from '../core/members.js';
import type { Run } from '../core/types.js';
import type { BucketRouter } from '../storage/bucket-router.js';
import type { ShardHealth, Statistics, StatisticsQuery, TaskStore } from '../storage/contract.js';
import { ANONYMOUS, type Principal } from './auth/tokens.js';
import type { LiveStreams } from './live/streams.js';
import { toNodeView, toRunnerView, type NodeView, type RunnerView } from './registry.js';

/** Where the api logs what clients do not see (masked internal errors, malformed registry entries). */
export interface ApiLogger {
  error(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
}

/** What the api needs from the node. The api owns none of it: the node starts and closes these. */
export interface ApiDeps {
  /** With its `router` (as `createTaskStore` returns it), run loads are split per shard so a down shard fails only its own runs. */
  readonly store: TaskStore & { readonly router?: BucketRouter };
  readonly catalog: Catalog;
  readonly coordinator: Coordinator;
  readonly launcher: Launcher;
  /** This node, listed by `nodes` even before its first heartbeat. */
  readonly node: NodeInfo;
  readonly logger?: ApiLogger;
}

/**
 * Per-request context. Everything a request reads more than once is read once: runs go through
 * the `Task` DataLoader (batched per shard per tick, see `loadRuns`), and registry, lease,
 * health, statistics and definition reads are memoised for the life of the request.
 *
 * A subscription keeps one context for its whole life, so it calls `refresh()` before each event
 * to see the state after that event rather than the state when it subscribed.
 */
export interface ApiContext {
  readonly deps: ApiDeps;
  /** Who sent the request: the token's principal (null: no valid token) and the peer address. */
  readonly caller: Caller;
  /** Subscription streams of this api instance. */
  readonly live: LiveStreams;
  /** The `Task` loader's batch function: one `getMany` per shard. Ids must be valid run ids. */
  loadRuns(ids: readonly string[]): Promise<Array<Run | null | Error>>;
  runners(): Promise<RunnerView[]>;
  nodes(): Promise<NodeView[]>;
  leases(): Promise<LeaseInfo[]>;
  shardHealth(): Promise<ShardHealth[]>;
  statistics(query?: StatisticsQuery): Promise<Statistics>;
  definitions(): Promise<TaskDefinition[]>;
  workerGroupConfigs(): Promise<WorkerGroupConfig[]>;
  /** Called by subscriptions before each event; also clears the loaders registered with `onRefresh`. */
  refresh(): void;
  onRefresh(clear: () => void): void;
}

export interface Caller {
  /** Null when auth is on and the request carried no valid token. */
  readonly principal: Principal | null;
  readonly address: string | null;
}

/** In-process calls (tests, embedders) act as the anonymous admin unless they say otherwise. */
const IN_PROCESS: Caller = { principal: ANONYMOUS, address: null };

export function createContext(deps: ApiDeps, live: LiveStreams, caller: Caller = IN_PROCESS): ApiContext {
  const memo = new Map<string, Promise<unknown>>();
  const clearers = new Set<() => void>();
  const once = <T>(key: string, read: () => Promise<T>): Promise<T> => {
    let value = memo.get(key) as Promise<T> | undefined;
    if (!value) {
      value = read();
      memo.set(key, value);
      // A failed read is not remembered: a later field may try again.
      value.catch(() => memo.delete(key));
    }
    return value;
  };

  return {
    deps,
    caller,
    live,
    loadRuns: (ids) => loadRunsPerShard(deps.store, ids),
    runners: () =>
      once('runners', async () => {
        const members = await deps.coordinator.members('runner');
        return members.flatMap((member) => {
          const view = toRunnerView(member);
          if (!view) deps.logger?.warn({ member: member.id }, 'registry entry of a runner does not parse; left out');
          return view ? [view] : [];
        });
      }),
    nodes: () =>
      once('nodes', async () => {
        const members = await deps.coordinator.members('node');
        const views = members.flatMap((member) => {
          const view = toNodeView(member);
          if (!view) deps.logger?.warn({ member: member.id }, 'registry entry of a node does not parse; left out');
          return view ? [view] : [];
        });
        if (!views.some((view) => view.id === deps.node.id)) views.push({ ...deps.node, lastHeartbeat: null });
        return views.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      }),
    leases: () => once('leases', () => deps.coordinator.listLeases()),
    shardHealth: () => once('health', () => deps.store.health()),
    statistics: (query = {}) => once(`statistics:${JSON.stringify([query.name, query.cluster, query.groupBy, query.exact === true])}`, () => deps.store.statistics(query)),
    definitions: () => once('definitions', () => deps.catalog.listDefinitions()),
    workerGroupConfigs: () => once('workerGroups', () => deps.catalog.listWorkerGroups()),
    refresh() {
      memo.clear();
      for (const clear of clearers) clear();
    },
    onRefresh(clear) {
      clearers.add(clear);
    },
  };
}

/**
 * Loads runs with one `getMany` per shard. Splitting by shard here (rather than one `getMany`
 * for all) keeps a down shard's `SHARD_UNAVAILABLE` on its own runs: the rest still load.
 */
export async function loadRunsPerShard(store: ApiDeps['store'], ids: readonly string[]): Promise<Array<Run | null | Error>> {
  const { router } = store;
  const groups = new Map<number, string[]>();
  for (const id of ids) {
    const shard = router ? router.shardOfRun(id) : 0;
    const group = groups.get(shard);
    if (group) group.push(id);
    else groups.set(shard, [id]);
  }
  const found = new Map<string, Run | null | Error>();
  await Promise.all(
    [...groups.values()].map(async (group) => {
      try {
        const runs = await store.getMany(group);
        group.forEach((id, index) => found.set(id, runs[index] ?? null));
      } catch (error) {
        for (const id of group) found.set(id, coerceError(error));
      }
    }),
  );
  return ids.map((id) => found.get(id) ?? null);
}
