import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { RedisCoordinator } from '../../src/coordination/redis-coordinator.js';
import { withRunEvents } from '../../src/coordination/publishing-store.js';
import type { Handler } from '../../src/core/handler.js';
import { Runner } from '../../src/runner/runner.js';
import type { TaskStore } from '../../src/storage/contract.js';
import { createTaskStore } from '../../src/storage/create-store.js';
import { deferCleanup, interruptedBy } from './cleanup.js';
import { CommandCounter } from './command-counter.js';
import { CompletionWatch } from './completion-watch.js';
import { databaseName, dropDatabases, freshDatabaseUrls, type MongoServers } from './mongo-servers.js';

/** The runner's timing options as a node gets them by default (`src/config/load-config.ts`). */
export interface RunnerTimings {
  readonly pollMs: number;
  readonly drainGraceMs: number;
  readonly heartbeatMs: number;
  readonly renewEveryMs: number;
}

export interface RunnerStandOptions {
  /** Names this stand's databases (`tpbench_<key>_…`) and Redis prefix. */
  readonly key: string;
  readonly servers: MongoServers;
  readonly shards: number;
  readonly redisUrl: string;
  readonly handlers: ReadonlyMap<string, Handler>;
  readonly capacity: number;
  readonly timings: RunnerTimings;
  readonly log: Logger;
}

/**
 * One runner as a node builds it — a MongoDB store wrapped by `withRunEvents` over a Redis
 * coordinator, and `Runner` — on fresh databases, next to a client (its own store and
 * coordinator, same databases and prefix) that creates runs and reads statistics, and a
 * `watch` on the client's coordinator that counts completions. Only the runner's store feeds
 * `counter`, so the client's commands are never counted.
 *
 * State: `create()` → stand ready, runner idle → `runner.start()` → `close()` (runner closed,
 * coordinators and stores closed, databases dropped). `close()` is also registered as a cleanup,
 * so a signal or a failure does not leave connections open.
 */
export class RunnerStand {
  readonly client: TaskStore;
  readonly runner: Runner;
  readonly counter: CommandCounter;
  readonly watch: CompletionWatch;
  readonly databases: string[];
  readonly #close: () => Promise<void>;

  private constructor(client: TaskStore, runner: Runner, counter: CommandCounter, watch: CompletionWatch, databases: string[], close: () => Promise<void>) {
    this.client = client;
    this.runner = runner;
    this.counter = counter;
    this.watch = watch;
    this.databases = databases;
    this.#close = close;
  }

  static async create(options: RunnerStandOptions): Promise<RunnerStand> {
    const { key, servers, shards, redisUrl, log } = options;
    const urls = freshDatabaseUrls(servers.baseUrls, key, shards);
    const prefix = `tpbench:${key}:${randomBytes(4).toString('hex')}:`;
    const onError = (error: Error) => log.warn({ err: error }, 'coordination error');
    const counter = new CommandCounter();
    const runnerRaw = createTaskStore({ mongo: { shards: urls, onCommand: counter.record } });
    const clientRaw = createTaskStore({ mongo: { shards: urls } });
    const runnerCoordinator = new RedisCoordinator({ url: redisUrl, prefix, onError });
    const clientCoordinator = new RedisCoordinator({ url: redisUrl, prefix, onError });
    const runner = new Runner({
      store: withRunEvents(runnerRaw, runnerCoordinator),
      coordinator: runnerCoordinator,
      log,
      id: `bench-runner-${randomBytes(4).toString('hex')}`,
      node: 'bench',
      cluster: 'default',
      group: 'default',
      tags: ['default'],
      handlers: options.handlers,
      capacity: options.capacity,
      ...options.timings,
    });
    let watch: CompletionWatch | null = null;
    const closeAll = async () => {
      await runner.close();
      watch?.close();
      await Promise.allSettled([runnerCoordinator.close(), clientCoordinator.close()]);
      await Promise.allSettled([runnerRaw.close(), clientRaw.close()]);
      // On a signal, local servers are killed and their data removed anyway: only external ones need the drop.
      if (!interruptedBy() || servers.external) await dropDatabases(urls);
    };
    const close = deferCleanup(`close ${key}`, closeAll);
    try {
      await Promise.all([runnerCoordinator.start(), clientCoordinator.start(), runnerRaw.start(), clientRaw.start()]);
      watch = new CompletionWatch(clientCoordinator);
    } catch (error) {
      await close();
      throw error;
    }
    return new RunnerStand(withRunEvents(clientRaw, clientCoordinator), runner, counter, watch, urls.map(databaseName), close);
  }

  close(): Promise<void> {
    return this.#close();
  }
}
