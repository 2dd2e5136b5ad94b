import type { DefinitionInput } from '../core/definition.js';
import type { Role } from '../core/members.js';
import type { RunDefaults } from '../core/run-input.js';
import type { Runtime } from '../core/types.js';

/**
 * A node's compiled configuration: what `loadConfig` returns after reading the file, applying
 * environment overrides, validating, filling defaults and converting units. Everything else
 * receives this frozen object and never reads files or environment variables itself.
 *
 * Units: every `…Ms` field is milliseconds; definitions and run defaults keep seconds, as the
 * Tarantool YAML does.
 */
export interface NodeConfig {
  /** Absolute path of the config file, or null for the built-in embedded default. */
  readonly file: string | null;
  /** Directory that relative module paths resolve against (the file's, or the cwd). */
  readonly baseDir: string;
  readonly roles: readonly Role[];
  /** Node id; @defaultValue `<hostname>-<pid>-<random>` */
  readonly nodeId: string;
  /**
   * HTTP listen address: `/graphql` (api role), `/healthz`, `/readyz` and `/metrics`.
   * @defaultValue 127.0.0.1:4000
   */
  readonly listen: {
    readonly host: string;
    readonly port: number;
    /**
     * True when the address was set (`node.listen`, `TASKPLANE_LISTEN` or `PORT`), false for the
     * default. A node without the api role serves health and metrics only when it was set, so
     * several such nodes on one machine do not fight over the default port.
     */
    readonly explicit: boolean;
  };
  /** Null → embedded storage. */
  readonly mongo: {
    readonly shards: readonly string[];
    /** @defaultValue 1024 */
    readonly buckets: number;
  } | null;
  /** Null → in-process coordination (single node only). */
  readonly redis: {
    readonly url: string;
    /** @defaultValue `taskplane:` */
    readonly prefix: string;
  } | null;
  readonly runner: {
    /** @defaultValue `default` */
    readonly cluster: string;
    /** @defaultValue `default` */
    readonly group: string;
    /**
     * Tags listened to while the worker group's config names no tags: the configured ones plus
     * `default` (untagged runs carry it). @defaultValue [`default`]
     */
    readonly tags: readonly string[];
    /**
     * The tags `WORKER_TAGS` or `node.runner.tags` set, as written (no `default` added), or null
     * when neither is set. When the group's config names tags, a runner listens to those plus
     * these, so this tells "set to nothing in particular" apart from "set to `default`".
     * @defaultValue null
     */
    readonly ownTags: readonly string[] | null;
    /**
     * Whether this runner runs its worker group's `initCommand` at start (`RUNNER_ALLOW_INIT_COMMAND`).
     * Off by default: the command comes from the shared catalog, so anyone who may change worker
     * groups could otherwise run shell commands on every runner. @defaultValue false
     */
    readonly allowInitCommand: boolean;
    /** How long the init command may run before the runner gives up and stops. @defaultValue 300000 (5 min) */
    readonly initCommandTimeoutMs: number;
    /**
     * A remote runner: the api node whose runner gateway it claims through, and its runner token
     * (`node.runner.api`, `TASKPLANE_RUNNER_API_URL` / `TASKPLANE_RUNNER_TOKEN`). Set only on a
     * node whose roles are `[runner]` and that has no `mongo` or `redis`: it holds no database
     * credentials. @defaultValue null (the runner reaches the databases itself)
     */
    readonly api: { readonly url: string; readonly token: string } | null;
    /** Runs at once (`task_runner.capacity`). @defaultValue 128 */
    readonly capacity: number;
    /** Polling interval when no wake-up arrives. @defaultValue 1000 */
    readonly pollMs: number;
    /** SIGTERM: how long running handlers may finish before they are aborted and handed back. @defaultValue 10000 */
    readonly drainGraceMs: number;
    /** @defaultValue 2000 */
    readonly heartbeatMs: number;
    /** How runs that name no runtime execute their handler (`task_runner.runtime`). @defaultValue `inline` */
    readonly runtime: Runtime;
    /**
     * Seconds one attempt of a run that names no `run_timeout` may run before its handler's signal
     * fires (`task_runner.run_timeout`). @defaultValue 3600 (1 h)
     */
    readonly runTimeout: number;
    /**
     * After a handler's signal fires (run timeout, stop, lease loss, shutdown), how long it has to
     * return before its child process is killed (`process`) or it is abandoned (`inline`).
     * @defaultValue 5000
     */
    readonly abortGraceMs: number;
    /** Idle child processes the `process` runtime keeps warm for the next run. @defaultValue 2 */
    readonly processPoolSize: number;
    /**
     * Runs due this soon are claimed ahead and begun at their due time (`node.runner.lookahead_ms`),
     * so a tick's handler starts on the tick, not a claim's round trips after it. Keep it at least
     * the scheduler's `lead_ms`. @defaultValue 1000
     */
    readonly lookaheadMs: number;
  };
  readonly scheduler: {
    /** Leader lease length; a standby takes over this long after the leader stops renewing. @defaultValue 5000 */
    readonly leaseMs: number;
    /** Each periodical tick's run is created this long before the tick, due at the tick (`node.scheduler.lead_ms`). @defaultValue 500 */
    readonly leadMs: number;
  };
  readonly storage: {
    /** Per-shard upkeep lease. @defaultValue 10000 */
    readonly leaseMs: number;
    /** How often expired leases and pending runs are swept. @defaultValue 1000 */
    readonly sweepEveryMs: number;
    /** How often finished history is trimmed. @defaultValue 10000 */
    readonly trimEveryMs: number;
    /** Finished runs kept per task name per shard (`task_storage.task_log_max_size`). @defaultValue 100 */
    readonly taskLogMaxSize: number;
  };
  /** Defaults for runs (`task_storage.task_ttr` → `timeToResolve`). */
  readonly runDefaults: RunDefaults;
  /** Task definitions from `tasks:` (validated, camelCase). */
  readonly tasks: readonly DefinitionInput[];
  /** Handler modules: name → absolute path. Only these are ever imported. */
  readonly modules: Readonly<Record<string, string>>;
  readonly api: {
    /**
     * Whether GraphQL requests need a token. `node.api.auth: auto` (the default) turns it on
     * whenever the node listens beyond loopback; `TASKPLANE_AUTH` overrides.
     */
    readonly auth: boolean;
    /** Tokens by SHA-256 (never the tokens themselves). */
    readonly tokens: ReadonlyArray<{ readonly name: string; readonly role: 'viewer' | 'operator' | 'admin'; readonly sha256: string }>;
    /** Origins allowed by CORS; empty → CORS off (no Access-Control headers). @defaultValue [] */
    readonly corsOrigins: readonly string[];
    /** Mutations each caller (token, or address without auth) may send per minute, per api node. @defaultValue 600 */
    readonly mutationsPerMinute: number;
    /**
     * Runner tokens by SHA-256, each scoped to one cluster (`node.api.runner_tokens`): what remote
     * runners show the runner gateway (`/runner/v1/`). Required there whatever `auth` says. @defaultValue []
     */
    readonly runnerTokens: ReadonlyArray<{
      readonly name: string;
      readonly cluster: string;
      readonly sha256: string;
      /** Clusters besides its own where its runs may spawn subtasks (`spawn_clusters`). @defaultValue [] */
      readonly spawnClusters: readonly string[];
    }>;
    /** Runner gateway requests per runner token per minute, per api node. @defaultValue 12000 */
    readonly runnerRequestsPerMinute: number;
  };
  /** @defaultValue `info` */
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
}
