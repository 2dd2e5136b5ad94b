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
  /** HTTP listen address of the api role. @defaultValue 127.0.0.1:4000 */
  readonly listen: { readonly host: string; readonly port: number };
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
    /** Tags listened to; always includes `default` unless `exclusiveTags`. @defaultValue [`default`] */
    readonly tags: readonly string[];
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
  /** @defaultValue `info` */
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
}
