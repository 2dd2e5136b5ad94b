import type { Logger } from 'pino';
import type { Catalog } from '../catalog/contract.js';
import { createCatalog } from '../catalog/create-catalog.js';
import { Launcher } from '../catalog/launcher.js';
import type { NodeConfig } from '../config/node-config.js';
import type { RunnerGateway } from '../api/runner-gateway/runner-gateway.js';
import type { RemoteRunnerConnection } from '../runner/remote/connect-remote-runner.js';
import type { Coordinator } from '../coordination/contract.js';
import { createCoordinator } from '../coordination/create-coordinator.js';
import { withRunEvents } from '../coordination/publishing-store.js';
import type { DefinitionInput } from '../core/definition.js';
import { coerceError } from '../core/errors.js';
import type { Handler } from '../core/handler.js';
import type { NodeInfo } from '../core/members.js';
import type { JsonValue } from '../core/types.js';
import { metricsRoute, NodeMetrics, registerScrapeGauges, withMetrics } from '../metrics/index.js';
import { loadHandlers } from '../runner/load-handlers.js';
import { Runner } from '../runner/runner.js';
import { Scheduler } from '../scheduler/scheduler.js';
import type { ApplyResult } from '../catalog/contract.js';
import type { TaskStore } from '../storage/contract.js';
import { createTaskStore } from '../storage/create-store.js';
import { ShardKeeper } from '../storage/shard-keeper.js';
import { startHttpServer } from './http-server.js';
import { createLogger } from './logger.js';

const VERSION = '0.1.0';

/**
 * One Taskplane process with the roles its config names. Builds the shared pieces (storage,
 * catalog, coordinator), then each role on top of them.
 *
 * State: `created` → start() → `started` → close() → `closed`. `close()` drains the runner
 * first (running handlers get the drain grace), then stops the other roles, then disconnects.
 */
export interface NodeExtras {
  /** Handlers by name, beside those of the modules listed in the config. */
  readonly handlers?: Readonly<Record<string, Handler>>;
  readonly logger?: Logger;
}

export class TaskplaneNode {
  readonly config: NodeConfig;
  readonly log: Logger;
  readonly #extras: NodeExtras;
  #state: 'created' | 'starting' | 'started' | 'closing' | 'closed' = 'created';
  #coordinator: Coordinator | null = null;
  #store: TaskStore | null = null;
  #rawStore: ReturnType<typeof createTaskStore> | null = null;
  #catalog: Catalog | null = null;
  #runner: Runner | null = null;
  #scheduler: Scheduler | null = null;
  #keeper: ShardKeeper | null = null;
  #api: { close(): Promise<void> } | null = null;
  /** Api nodes: the runner gateway remote runners claim through (`/runner/v1/`). */
  #gateway: RunnerGateway | null = null;
  /** A remote runner node (`node.runner.api`): its adapters over an api node's runner gateway. */
  #remote: RemoteRunnerConnection | null = null;
  #http: { address: string; close(): Promise<void> } | null = null;
  #metrics: NodeMetrics | null = null;
  #heartbeat: NodeJS.Timeout | null = null;
  #startedAt = new Date().toISOString();

  constructor(config: NodeConfig, extras: NodeExtras = {}) {
    this.config = config;
    this.#extras = extras;
    this.log = extras.logger ?? createLogger(config);
  }

  /** `host:port` the HTTP server listens on (api role, or an explicit listen address; once started). */
  get address(): string | null {
    return this.#http?.address ?? null;
  }

  get store(): TaskStore {
    return this.#need(this.#store, 'store');
  }

  get catalog(): Catalog {
    return this.#need(this.#catalog, 'catalog');
  }

  get coordinator(): Coordinator {
    return this.#need(this.#coordinator, 'coordinator');
  }

  /** This node's Prometheus metrics (also served at `/metrics`), for embedders with a server of their own. */
  get metrics(): NodeMetrics {
    return this.#need(this.#metrics, 'metrics');
  }

  get runner(): Runner | null {
    return this.#runner;
  }

  get scheduler(): Scheduler | null {
    return this.#scheduler;
  }

  get shardKeeper(): ShardKeeper | null {
    return this.#keeper;
  }

  async start(): Promise<void> {
    if (this.#state !== 'created') throw new Error(`node ${this.config.nodeId} is ${this.#state}; start it once`);
    this.#state = 'starting';
    try {
      await this.#startRoles();
      this.#state = 'started';
    } catch (error) {
      await this.close().catch(() => {});
      throw error;
    }
  }

  async #startRoles(): Promise<void> {
    const { config, log } = this;
    const roles = new Set(config.roles);
    // Load handlers first: a bad module should stop the node before it connects anywhere.
    const handlers = roles.has('runner') ? await loadHandlers(config.modules, this.#extras.handlers) : null;
    // The config allows `node.runner.api` only on a runner-only node without databases.
    if (config.runner.api && handlers) return this.#startRemoteRunner(config.runner.api, handlers);

    const coordinator = createCoordinator({ redis: config.redis, onError: (err: Error) => log.warn({ err }, 'coordination error') });
    this.#coordinator = coordinator;
    await coordinator.start();
    const rawStore = createTaskStore({
      ...(config.mongo ? { mongo: { shards: config.mongo.shards, buckets: config.mongo.buckets } } : {}),
      defaults: config.runDefaults,
    });
    this.#rawStore = rawStore;
    await rawStore.start();
    const metrics = new NodeMetrics({ nodeId: config.nodeId, roles: config.roles, version: VERSION });
    this.#metrics = metrics;
    // Metering sits inside withRunEvents, which routes complete/fail through settle (see metered-store.ts).
    const store = Object.assign(withRunEvents(withMetrics(rawStore, metrics), coordinator), { router: rawStore.router });
    this.#store = store;
    const catalog = createCatalog({ mongo: config.mongo ? { shards: config.mongo.shards } : null });
    this.#catalog = catalog;
    await catalog.start();
    log.info(
      { roles: config.roles, storage: rawStore.engine, shards: rawStore.shards.length, coordination: coordinator.kind },
      config.mongo ? 'node starting' : 'node starting (embedded: in-process storage and coordination, single node)',
    );

    if (roles.has('scheduler')) await this.applyDefinitions(config.tasks);
    if (roles.has('storage')) {
      this.#keeper = new ShardKeeper({ store, coordinator, log, nodeId: config.nodeId, ...config.storage });
      this.#keeper.start();
    }
    if (roles.has('scheduler')) {
      this.#scheduler = new Scheduler({ store, catalog, coordinator, log, nodeId: config.nodeId, leaseMs: config.scheduler.leaseMs, leadMs: config.scheduler.leadMs });
      this.#scheduler.start();
    }
    if (handlers) {
      // The catalog lets it check its cluster and follow its worker group's config.
      // `modules` is what the process runtime's children may load: the same list, nothing else.
      this.#runner = new Runner({ store, coordinator, catalog, log, id: config.nodeId, node: config.nodeId, handlers, modules: config.modules, ...config.runner });
      await this.#runner.start();
    }
    const runner = this.#runner;
    registerScrapeGauges(metrics, {
      store,
      coordinator,
      catalog,
      ...(runner ? { runner: () => ({ cluster: config.runner.cluster, group: config.runner.group, capacity: config.runner.capacity, load: runner.load }) } : {}),
      // Cluster-wide figures cost a statistics aggregation per shard: api nodes serve them, not every runner.
      clusterWide: roles.has('api'),
      log,
    });
    const metricsEntry = { prefix: '/metrics', handle: metricsRoute(metrics, log) };
    if (roles.has('api')) {
      // Loaded only here: runner-only nodes never pay for GraphQL in startup time or memory.
      const { createApi } = await import('../api/yoga.js');
      const node = () => this.info();
      // `node` is read per request, so it shows the address the server actually bound (port 0 → the real port).
      const api = createApi({ store, catalog, coordinator, launcher: new Launcher(store, catalog), get node() { return node(); }, logger: log }, { access: config.api });
      this.#api = api;
      const { createRunnerGateway } = await import('../api/runner-gateway/runner-gateway.js');
      const gateway = createRunnerGateway({ store, catalog, coordinator, tokens: config.api.runnerTokens, requestsPerMinute: config.api.runnerRequestsPerMinute, log });
      this.#gateway = gateway;
      this.#http = await startHttpServer(config.listen.host, config.listen.port, {
        graphql: api.yoga as never,
        ready: () => this.ready(),
        // Routes beside /graphql, /healthz and /readyz, by path prefix; the first match wins,
        // so the UI's catch-all `/` stays last.
        extra: [
          metricsEntry,
          { prefix: '/runner/v1/', handle: (req, res) => gateway.handle(req, res) },
          { prefix: '/', handle: (await import('../ui/static-server.js')).createUiHandler() },
        ],
      });
      log.info({ url: `http://${this.#http.address}/graphql` }, 'api listening');
    } else if (config.listen.explicit) {
      // Health and metrics only. Not on the default port unless asked: several runner-only nodes
      // on one machine would collide there.
      this.#http = await startHttpServer(config.listen.host, config.listen.port, { graphql: null, ready: () => this.ready(), extra: [metricsEntry] });
      log.info({ url: `http://${this.#http.address}/metrics` }, 'health and metrics listening');
    }
    await this.#beat();
    this.#heartbeat = setInterval(() => void this.#beat(), 2000);
  }

  /**
   * A remote runner: the runner role over an api node's runner gateway, with no storage, catalog
   * or coordinator of its own — it never opens a MongoDB or Redis connection. A refused token
   * stops the start (`RunnerTokenRefusedError`, exit status 2).
   */
  async #startRemoteRunner(api: { readonly url: string; readonly token: string }, handlers: ReadonlyMap<string, Handler>): Promise<void> {
    const { config, log } = this;
    log.info({ roles: config.roles, gateway: api.url }, 'node starting (remote runner: claims through the api node, no database connections)');
    const { connectRemoteRunner } = await import('../runner/remote/connect-remote-runner.js');
    const remote = await connectRemoteRunner({ api, node: config.nodeId, cluster: config.runner.cluster, group: config.runner.group, log });
    this.#remote = remote;
    const metrics = new NodeMetrics({ nodeId: config.nodeId, roles: config.roles, version: VERSION });
    this.#metrics = metrics;
    const runner = new Runner({
      ...config.runner,
      store: remote.store,
      coordinator: remote.coordinator,
      catalog: remote.catalog,
      log,
      id: remote.runnerId,
      node: config.nodeId,
      handlers,
      modules: config.modules,
    });
    this.#runner = runner;
    await runner.start();
    registerScrapeGauges(metrics, {
      // No shards to ping and no cluster-wide figures from here: the api nodes serve those.
      store: { health: async () => [], statistics: () => Promise.reject(new Error('a remote runner reads no statistics')) },
      coordinator: { members: async () => [], listLeases: async () => [] },
      runner: () => ({ cluster: config.runner.cluster, group: config.runner.group, capacity: config.runner.capacity, load: runner.load }),
      log,
    });
    if (config.listen.explicit) {
      const metricsEntry = { prefix: '/metrics', handle: metricsRoute(metrics, log) };
      this.#http = await startHttpServer(config.listen.host, config.listen.port, { graphql: null, ready: () => this.ready(), extra: [metricsEntry] });
      log.info({ url: `http://${this.#http.address}/metrics` }, 'health and metrics listening');
    }
  }

  /** Replaces the config-sourced task definitions (start and SIGHUP) and tells schedulers. */
  async applyDefinitions(tasks: readonly DefinitionInput[]): Promise<ApplyResult> {
    const result = await this.catalog.applyConfigDefinitions(tasks);
    if (result.added.length + result.updated.length + result.removed.length > 0) {
      this.log.info(result, 'task definitions applied');
      await this.coordinator.publish('definitions', { reason: 'config' });
    }
    return result;
  }

  /** Whether every role can work now (`/readyz`). */
  async ready(): Promise<{ ok: boolean; details: object }> {
    if (this.#remote) {
      const remote = await this.#remote.ready();
      return { ok: remote.ok, details: { embedded: false, roles: this.config.roles, ...remote.details } };
    }
    const [shards, coordination] = await Promise.all([this.store.health(), this.coordinator.health()]);
    const ok = shards.every((s) => s.ok) && coordination.ok;
    return { ok, details: { embedded: this.config.mongo === null, roles: this.config.roles, shards, coordination } };
  }

  info(): NodeInfo {
    return {
      id: this.config.nodeId,
      roles: [...this.config.roles],
      listen: this.#http?.address ?? (this.config.roles.includes('api') ? `${this.config.listen.host}:${this.config.listen.port}` : null),
      storage: this.#rawStore?.engine ?? (this.#remote ? 'remote' : 'unknown'),
      coordination: this.#coordinator?.kind ?? (this.#remote ? 'runner-gateway' : 'unknown'),
      pid: process.pid,
      version: VERSION,
      startedAt: this.#startedAt,
    };
  }

  async close(): Promise<void> {
    if (this.#state === 'closed' || this.#state === 'closing') return;
    this.#state = 'closing';
    if (this.#heartbeat) clearInterval(this.#heartbeat);
    const step = async (what: string, fn: () => Promise<void> | undefined) => {
      try {
        await fn();
      } catch (error) {
        this.log.error({ err: coerceError(error) }, `closing ${what} failed`);
      }
    };
    await step('runner', () => this.#runner?.drain());
    await step('remote runner connection', () => this.#remote?.close());
    await step('runner gateway', async () => this.#gateway?.close());
    await step('http', () => this.#http?.close());
    await step('api', () => this.#api?.close());
    await step('scheduler', () => this.#scheduler?.close());
    await step('storage role', () => this.#keeper?.close());
    await step('registry', () => this.#coordinator?.leave('node', this.config.nodeId));
    await step('catalog', () => this.#catalog?.close());
    await step('store', () => this.#rawStore?.close());
    await step('coordinator', () => this.#coordinator?.close());
    this.#state = 'closed';
    this.log.info('node closed');
  }

  async #beat(): Promise<void> {
    await this.#coordinator?.heartbeat('node', this.config.nodeId, this.info() as unknown as JsonValue, 6000);
  }

  #need<T>(value: T | null, what: string): T {
    if (value === null) throw new Error(`node ${this.config.nodeId} is ${this.#state}: its ${what} is not ready`);
    return value;
  }
}
