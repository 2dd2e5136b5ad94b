import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import { withRunEvents } from '../../src/coordination/publishing-store.js';
import type { RunEvent } from '../../src/coordination/contract.js';
import { RedisCoordinator } from '../../src/coordination/redis-coordinator.js';
import type { NewRun } from '../../src/core/run-input.js';
import { FINAL_STATUSES, isFinalStatus, type RunStatus } from '../../src/core/types.js';
import type { TaskStore } from '../../src/storage/contract.js';
import { createTaskStore } from '../../src/storage/create-store.js';
import { startNodeProcess, type NodeProcess } from '../nodes/node-process.js';
import { deleteStoredRuns, readStoredRuns, type AuditRun } from './audit.js';
import { withDatabase } from '../services/database-url.js';
import { projectRoot } from '../services/project-root.js';

/**
 * The fault suite's stand: a Taskplane cluster of real node processes (`node-process.ts`) on
 * MongoDB-protocol shards and Redis, plus a client (store + coordinator in this process) that
 * creates runs, watches the `runs` channel and kills, restarts and counts node processes.
 *
 * It does not depend on vitest: the test file (`fault-suite.test.ts`) passes the servers the test
 * setup started, and the long form (`bench/chaos.ts`) passes servers it started itself.
 *
 * Every process start is an *incarnation* with a node id of its own (`runner-1`, then
 * `runner-1.2`, `runner-1.3` after restarts): storage writes that id into each attempt's history,
 * and the fixture handler (test/fixtures/chaos-handlers.ts) writes it into the side-effect log,
 * so the audit can tell which process did what.
 */

/** Servers a scenario runs on: base URLs (no database) and Redis. */
export interface ChaosServices {
  readonly mongoBaseUrls: readonly string[];
  readonly redisUrl: string;
}

export interface Incarnation {
  /** The role name the scenario uses (`runner-1`). */
  readonly name: string;
  /** The node id of this process (`runner-1.2`). */
  readonly id: string;
  readonly pid: number;
  readonly startedAt: number;
  /** How it ended (`SIGKILL`, `SIGTERM`, `exit 0` …); null while it runs. */
  ended: string | null;
}

export interface ClusterOptions {
  /** Names the databases and the Redis prefix. */
  readonly label: string;
  /** One database URL per shard (see `databaseUrls`). */
  readonly mongoUrls: readonly string[];
  readonly redisUrl: string;
  /** `node:` settings every node gets (merged under each node's own). */
  readonly nodeDefaults?: Record<string, unknown>;
  readonly log: (message: string) => void;
}

export const HANDLERS_MODULE = join(projectRoot, 'test/fixtures/chaos-handlers.ts');

/** `tpchaos_<label>_<random>_<index>` on each server: fresh databases for one scenario. */
export function databaseUrls(baseUrls: readonly string[], label: string): string[] {
  const stem = `tpchaos_${label.replace(/[^a-z0-9]+/gi, '_').slice(0, 20)}_${randomBytes(3).toString('hex')}`;
  return baseUrls.map((base, index) => withDatabase(base, `${stem}_${index}`));
}

export class ChaosCluster {
  readonly dir = mkdtempSync(join(tmpdir(), 'tp-chaos-'));
  /** The side-effect log every run of the scenario writes to (see chaos-handlers.ts). */
  readonly sideEffects = join(this.dir, 'effects.log');
  readonly mongoUrls: readonly string[];
  readonly redis: { url: string; prefix: string };
  readonly coordinator: RedisCoordinator;
  /** A client store that announces its creates (runners are woken as by any api node). */
  readonly store: TaskStore;
  readonly incarnations: Incarnation[] = [];
  /** Ids of the runs the scenario created (the audit expects each of them to end once). */
  readonly created: string[] = [];
  /** Final statuses announced on the `runs` channel, per run. */
  readonly announced = new Map<string, RunStatus[]>();
  /** Finished runs read and then deleted from the shards during the scenario (`archiveFinished`); the audit reads them with the rest. */
  readonly archived: AuditRun[] = [];
  /** The cluster-wide `tasks:` section of the nodes started from now on. */
  tasks: Record<string, object> = {};
  readonly #raw: ReturnType<typeof createTaskStore>;
  readonly #options: ClusterOptions;
  readonly #nodes = new Map<string, { settings: Record<string, unknown>; process: NodeProcess | null; incarnation: Incarnation | null; generation: number }>();
  #unsubscribe: (() => void) | null = null;

  constructor(options: ClusterOptions) {
    this.#options = options;
    this.mongoUrls = options.mongoUrls;
    this.redis = { url: options.redisUrl, prefix: `tpchaos:${options.label}:${randomBytes(3).toString('hex')}:` };
    // Its own Redis may be killed in a scenario: the client must not report every failed call.
    this.coordinator = new RedisCoordinator({ ...this.redis, onError: () => {} });
    this.#raw = createTaskStore({ mongo: { shards: [...this.mongoUrls], serverSelectionTimeoutMs: 1000 } });
    this.store = withRunEvents(this.#raw, this.coordinator);
  }

  async start(): Promise<void> {
    await this.coordinator.start();
    await this.#raw.start();
    this.#unsubscribe = this.coordinator.subscribe('runs', (message) => {
      if (!Array.isArray(message)) return;
      for (const event of message as unknown as RunEvent[]) {
        if (!isFinalStatus(event.status as RunStatus)) continue;
        const seen = this.announced.get(event.id) ?? [];
        seen.push(event.status as RunStatus);
        this.announced.set(event.id, seen);
      }
    });
  }

  /** The config file of one node: shared settings, then the node's own. */
  config(id: string, settings: Record<string, unknown>): object {
    const defaults = this.#options.nodeDefaults ?? {};
    const pick = (key: string) => ({ ...(defaults[key] as object | undefined), ...(settings[key] as object | undefined) });
    return {
      node: {
        log_level: 'info',
        ...defaults,
        ...settings,
        id,
        mongo: { shards: [...this.mongoUrls] },
        redis: this.redis,
        scheduler: { lease_ms: 3000, ...pick('scheduler') },
        // FerretDB reads a whole collection for every filtered query: keep background queries sparse.
        storage: { lease_ms: 3000, sweep_every_ms: 1000, trim_every_ms: 600_000, ...pick('storage') },
        runner: { poll_ms: 1000, heartbeat_ms: 1000, drain_grace_ms: 2000, ...pick('runner') },
      },
      tasks: this.tasks,
      // Nothing is trimmed: the audit reads every run the scenario made.
      task_storage: { task_ttr: 60, task_log_max_size: 1_000_000 },
      modules: { chaos: HANDLERS_MODULE },
    };
  }

  /** Starts node `name` (again, after it ended) as a new incarnation; resolves once it logged `node started`. */
  async startNode(name: string, settings?: Record<string, unknown>): Promise<Incarnation> {
    const entry = this.#nodes.get(name) ?? { settings: settings ?? {}, process: null, incarnation: null, generation: 0 };
    if (settings) entry.settings = settings;
    if (entry.process && entry.incarnation?.ended === null) throw new Error(`node ${name} is running already`);
    entry.generation++;
    const id = entry.generation === 1 ? name : `${name}.${entry.generation}`;
    this.#nodes.set(name, entry);
    const started = await startNodeProcess({ name: id, config: this.config(id, entry.settings), env: { TASKPLANE_CHAOS_NODE: id } });
    const incarnation: Incarnation = { name, id, pid: started.pid, startedAt: Date.now(), ended: null };
    entry.process = started;
    entry.incarnation = incarnation;
    this.incarnations.push(incarnation);
    void started.exited.then(({ code, signal }) => {
      incarnation.ended = signal ?? `exit ${code}`;
    });
    this.#options.log(`started ${id} (pid ${started.pid})`);
    return incarnation;
  }

  /** The running process of node `name`. */
  node(name: string): NodeProcess {
    const child = this.#nodes.get(name)?.process;
    if (!child) throw new Error(`no node ${name}`);
    return child;
  }

  /** The node id of `name`'s current (or last) incarnation. */
  currentId(name: string): string {
    const incarnation = this.#nodes.get(name)?.incarnation;
    if (!incarnation) throw new Error(`no node ${name}`);
    return incarnation.id;
  }

  running(name: string): boolean {
    return this.#nodes.get(name)?.incarnation?.ended === null;
  }

  /** Sends `signal` to node `name` and waits for its exit (SIGTERM: its drain; SIGKILL after `timeoutMs`). */
  async stopNode(name: string, signal: NodeJS.Signals, timeoutMs = 30_000): Promise<string> {
    const entry = this.#nodes.get(name);
    if (!entry?.process) throw new Error(`no node ${name}`);
    const { code, signal: by } = await entry.process.stop(signal, timeoutMs);
    const how = by ?? `exit ${code}`;
    if (entry.incarnation) entry.incarnation.ended = how;
    this.#options.log(`${signal} → ${entry.incarnation?.id} ended (${how})`);
    return how;
  }

  /**
   * Creates runs in `createMany` batches and remembers the ids that were written. Returns the
   * results, including refusals (a shard that is down).
   */
  async createRuns(runs: readonly NewRun[], batch = 500): Promise<Array<{ id: string; created: boolean; shard: string; unavailable?: string }>> {
    const results = [];
    for (let from = 0; from < runs.length; from += batch) {
      const page = await this.store.createMany(runs.slice(from, from + batch));
      for (const result of page) if (result.created) this.created.push(result.id);
      results.push(...page);
    }
    return results;
  }

  /**
   * What `statistics` says (it reads the shards' run counts, which a writer that died between
   * writing runs and adding their deltas leaves off until the storage node recounts), before and
   * after forcing that recount.
   */
  async statisticsTotals(): Promise<{ before: Record<string, number>; afterRecount: Record<string, number> | null }> {
    const before = { ...(await this.#raw.statistics()).total };
    if (!this.#raw.recount) return { before, afterRecount: null };
    await this.#raw.recount();
    return { before, afterRecount: { ...(await this.#raw.statistics()).total } };
  }

  /**
   * Moves runs that finished more than `olderThanMs` ago off the shards, into `archived`: the long
   * load keeps each shard's collection small this way, as `task_log_max_size` does for a real
   * cluster (on FerretDB every document write scans the collection). A finished run never changes
   * again, and a late write to a deleted run finds nothing, so the audit of `archived` plus what
   * is still stored, against the whole side-effect log, is the audit of every run.
   */
  async archiveFinished(olderThanMs: number): Promise<number> {
    const runs = await readStoredRuns(this.mongoUrls, { status: { $in: [...FINAL_STATUSES] }, finishedAt: { $lt: new Date(Date.now() - olderThanMs) } });
    if (runs.length === 0) return 0;
    this.archived.push(...runs);
    const deleted = await deleteStoredRuns(this.mongoUrls, runs);
    if (deleted !== runs.length) throw new Error(`archived ${runs.length} finished runs but deleted ${deleted}`);
    return runs.length;
  }

  /** Index of the shard that holds run `id` (`shard-<index>`). */
  shardOf(id: string): number {
    return this.#raw.router.shardOfRun(id);
  }

  /** Side-effect log lines (see chaos-handlers.ts). */
  records(): SideEffectRecord[] {
    return readSideEffects(this.sideEffects);
  }

  /** Tail of every node's log, for a failing scenario's message. */
  logTails(lines = 40): string {
    return [...this.#nodes.values()]
      .flatMap((entry) => (entry.process ? [`── ${entry.incarnation?.id} ──\n${entry.process.logs().split('\n').slice(-lines).join('\n')}`] : []))
      .join('\n');
  }

  /**
   * Kills every node and closes the client. With `keep` (a failed scenario) the work dir and the
   * databases stay for a post-mortem; otherwise both are removed.
   */
  async close(keep = false): Promise<void> {
    await Promise.all([...this.#nodes.values()].map((entry) => entry.process?.stop('SIGKILL', 5000)));
    this.#unsubscribe?.();
    await this.#raw.close();
    await this.coordinator.close();
    if (keep) return;
    await dropDatabases(this.mongoUrls);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export interface SideEffectRecord {
  readonly kind: 'S' | 'E';
  readonly runId: string;
  readonly attempt: number;
  readonly node: string;
  readonly pid: number;
  /** When it was written (epoch ms). */
  readonly at: number;
}

export function readSideEffects(file: string): SideEffectRecord[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [kind, runId, attempt, node, pid, at] = line.split(' ');
      return { kind: kind as 'S' | 'E', runId: runId!, attempt: Number(attempt), node: node!, pid: Number(pid), at: Number(at) };
    });
}

/** Drops the databases the URLs name; a server that is down is skipped. */
export async function dropDatabases(urls: readonly string[]): Promise<void> {
  await Promise.all(
    urls.map(async (url) => {
      const client = new MongoClient(url, { serverSelectionTimeoutMS: 2000, connectTimeoutMS: 2000 });
      try {
        await client.db().dropDatabase();
      } catch {
        // Best effort: a scenario may have left a server down.
      } finally {
        await client.close().catch(() => {});
      }
    }),
  );
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls a check until it returns a value: the node tests' helper. */
export { eventually } from '../nodes/cluster-fixture.js';
