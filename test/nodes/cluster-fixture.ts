import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { withRunEvents } from '../../src/coordination/publishing-store.js';
import { RedisCoordinator } from '../../src/coordination/redis-coordinator.js';
import type { TaskStore } from '../../src/storage/contract.js';
import { createTaskStore } from '../../src/storage/create-store.js';
import { projectRoot } from '../services/project-root.js';
import { dropDatabases, testKeyPrefix, testMongoUrls, testRedisUrl } from '../services/context.js';
import { startNodeProcess, type NodeProcess } from './node-process.js';

/**
 * A Taskplane cluster of real node processes on the test FerretDB shards and Redis, plus a client
 * (store + coordinator in the test process) to create runs and read their state the way any
 * other node would.
 */
export class ClusterFixture {
  readonly dir = mkdtempSync(join(tmpdir(), 'tp-cluster-'));
  readonly mongoUrls: string[];
  readonly redis: { url: string; prefix: string };
  readonly nodes = new Map<string, NodeProcess>();
  readonly coordinator: RedisCoordinator;
  readonly store: TaskStore;
  readonly #raw: ReturnType<typeof createTaskStore>;

  /** The cluster-wide `tasks:` every node's config carries. */
  tasks: Record<string, object> = {};

  constructor(label: string) {
    this.mongoUrls = testMongoUrls(label);
    this.redis = { url: testRedisUrl(), prefix: testKeyPrefix(label) };
    this.coordinator = new RedisCoordinator(this.redis);
    this.#raw = createTaskStore({ mongo: { shards: this.mongoUrls } });
    this.store = withRunEvents(this.#raw, this.coordinator);
  }

  file(name: string): string {
    return join(this.dir, name);
  }

  /** Lines of a handler record file: `<runId> <attempt> <pid>`. */
  records(name: string): Array<{ runId: string; attempt: number; pid: number }> {
    const path = this.file(name);
    if (!existsSync(path)) return [];
    return readFileSync(path, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        const [runId, attempt, pid] = line.split(' ');
        return { runId: runId!, attempt: Number(attempt), pid: Number(pid) };
      });
  }

  async start(): Promise<void> {
    await this.coordinator.start();
    await this.#raw.start();
  }

  config(node: Record<string, unknown>): object {
    return {
      node: {
        mongo: { shards: this.mongoUrls },
        redis: this.redis,
        scheduler: { lease_ms: 3000 },
        // FerretDB decodes a whole collection for every filtered query: keep background queries sparse.
        storage: { lease_ms: 3000, sweep_every_ms: 2000, trim_every_ms: 10000 },
        log_level: 'info',
        ...node,
        runner: { poll_ms: 1000, heartbeat_ms: 1000, drain_grace_ms: 3000, ...(node.runner as object | undefined) },
      },
      tasks: this.tasks,
      task_storage: { task_ttr: 60, task_log_max_size: 100_000 },
      modules: { handlers: join(projectRoot, 'test/fixtures/handlers.ts') },
    };
  }

  readonly #nodeSettings = new Map<string, Record<string, unknown>>();

  async startNode(name: string, node: Record<string, unknown>): Promise<NodeProcess> {
    this.#nodeSettings.set(name, node);
    const started = await startNodeProcess({ name, config: this.config({ id: name, ...node }) });
    this.nodes.set(name, started);
    return started;
  }

  /** Rewrites a running node's config file with the current `tasks` (then send it SIGHUP). */
  rewriteConfig(name: string): void {
    writeFileSync(this.node(name).configFile, stringify(this.config({ id: name, ...this.#nodeSettings.get(name) })));
  }

  node(name: string): NodeProcess {
    const node = this.nodes.get(name);
    if (!node) throw new Error(`no node ${name}`);
    return node;
  }

  async close(): Promise<void> {
    await Promise.all([...this.nodes.values()].map((node) => node.stop('SIGKILL', 5000)));
    await this.#raw.close();
    await this.coordinator.close();
    await dropDatabases(this.mongoUrls);
  }
}

/** Polls `check` until it returns a value (not undefined) or `timeoutMs` passes. */
export async function eventually<T>(
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs: number,
  what: string,
  intervalMs = 200,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
