import { DEFAULT_RUN_DEFAULTS, type RunDefaults } from '../core/run-input.js';
import { BucketRouter } from './bucket-router.js';
import type { TaskStore } from './contract.js';
import { MemoryCollection } from './memory-collection.js';
import { MongoCollection } from './mongo-collection.js';
import { ShardedTaskStore } from './sharded-store.js';
import { ShardSet } from './shard-set.js';

export interface StorageOptions {
  /** MongoDB shards. Omitted → the embedded engine. */
  readonly mongo?: {
    /** One connection string per shard; the path names the database. */
    readonly shards: readonly string[];
    /** @defaultValue 1024 */
    readonly buckets?: number;
    /** Explicit bucket → shard index map (one entry per bucket). @defaultValue equal contiguous ranges */
    readonly bucketMap?: readonly number[];
    /** @defaultValue 2000 */
    readonly serverSelectionTimeoutMs?: number;
    /** A shard command with no answer for this long fails as `SHARD_UNAVAILABLE`. @defaultValue 60000 */
    readonly socketTimeoutMs?: number;
    /** Observes every command sent to any shard (benchmarks count them). */
    readonly onCommand?: (shard: string, commandName: string) => void;
  };
  /** Embedded engine settings, used when `mongo` is omitted. */
  readonly embedded?: {
    /** In-process shards; more than one exercises the same routing as MongoDB. @defaultValue 1 */
    readonly shards?: number;
    /** @defaultValue 1024 */
    readonly buckets?: number;
  };
  /** Defaults for runs that do not set these fields. */
  readonly defaults?: Partial<RunDefaults>;
}

/** Shard names as shown in errors, statistics and cursors: `shard-0`, `shard-1`, … */
export function shardName(index: number): string {
  return `shard-${index}`;
}

/** Builds the MongoDB engine or, with no `mongo` settings, the embedded engine. Call `start()` next. */
export function createTaskStore(options: StorageOptions = {}): TaskStore & { readonly router: BucketRouter } {
  const defaults: RunDefaults = Object.freeze({ ...DEFAULT_RUN_DEFAULTS, ...options.defaults });
  const { mongo } = options;
  if (mongo && mongo.shards.length > 0) {
    const collections = mongo.shards.map((url, index) => {
      const name = shardName(index);
      return new MongoCollection({
        name,
        url,
        ...(mongo.serverSelectionTimeoutMs !== undefined ? { serverSelectionTimeoutMs: mongo.serverSelectionTimeoutMs } : {}),
        ...(mongo.socketTimeoutMs !== undefined ? { socketTimeoutMs: mongo.socketTimeoutMs } : {}),
        ...(mongo.onCommand ? { onCommand: (command: string) => mongo.onCommand!(name, command) } : {}),
      });
    });
    const router = new BucketRouter(mongo.buckets ?? 1024, collections.length, mongo.bucketMap);
    return new ShardedTaskStore('mongodb', new ShardSet(collections, router), defaults);
  }
  const count = options.embedded?.shards ?? 1;
  const collections = Array.from({ length: count }, (_, index) => new MemoryCollection(shardName(index)));
  const router = new BucketRouter(options.embedded?.buckets ?? 1024, collections.length);
  return new ShardedTaskStore('embedded', new ShardSet(collections, router), defaults);
}
