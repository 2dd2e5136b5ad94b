import type { DefinitionInput } from '../core/definition.js';
import type { Role } from '../core/members.js';
import type { RunDefaults } from '../core/run-input.js';

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
    /** Runs at once (`task_runner.capacity`). @defaultValue 128 */
    readonly capacity: number;
    /** Polling interval when no wake-up arrives. @defaultValue 1000 */
    readonly pollMs: number;
    /** SIGTERM: how long running handlers may finish before they are aborted and handed back. @defaultValue 10000 */
    readonly drainGraceMs: number;
    /** @defaultValue 2000 */
    readonly heartbeatMs: number;
  };
  readonly scheduler: {
    /** Leader lease length; a standby takes over this long after the leader stops renewing. @defaultValue 5000 */
    readonly leaseMs: number;
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
  };
  /** @defaultValue `info` */
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
}
