import { ShardUnavailableError } from '../core/errors.js';
import type { BucketRouter } from './bucket-router.js';
import type { ShardCollection } from './shard-collection.js';

/** The shards of a store and how runs route to them. */
export class ShardSet {
  readonly collections: readonly ShardCollection[];
  readonly router: BucketRouter;
  readonly #byName: ReadonlyMap<string, ShardCollection>;

  constructor(collections: readonly ShardCollection[], router: BucketRouter) {
    this.collections = collections;
    this.router = router;
    this.#byName = new Map(collections.map((collection) => [collection.shard, collection]));
  }

  get names(): string[] {
    return this.collections.map((collection) => collection.shard);
  }

  forRun(runId: string): ShardCollection {
    return this.#at(this.router.shardOfRun(runId));
  }

  forJob(jobId: string): ShardCollection {
    return this.#at(this.router.shardOfBucket(this.router.bucketOfJob(jobId)));
  }

  /** Groups items by the shard that holds them, keeping their order within each shard. */
  groupByShard<T>(items: readonly T[], shardOf: (item: T) => ShardCollection): Map<ShardCollection, T[]> {
    const groups = new Map<ShardCollection, T[]>();
    for (const item of items) {
      const collection = shardOf(item);
      const group = groups.get(collection);
      if (group) group.push(item);
      else groups.set(collection, [item]);
    }
    return groups;
  }

  /** The named shards (all when `names` is omitted); unknown names are ignored. */
  select(names?: readonly string[]): ShardCollection[] {
    if (!names) return [...this.collections];
    return names.flatMap((name) => {
      const collection = this.#byName.get(name);
      return collection ? [collection] : [];
    });
  }

  /**
   * Runs `read` on each shard in parallel. A shard that cannot be reached is listed in
   * `unavailable` instead of failing the whole read; any other error is thrown.
   */
  async scatter<T>(
    read: (collection: ShardCollection) => Promise<T>,
    shards: readonly ShardCollection[] = this.collections,
  ): Promise<{ results: Array<{ collection: ShardCollection; value: T }>; unavailable: string[] }> {
    const settled = await Promise.allSettled(shards.map((collection) => read(collection)));
    const results: Array<{ collection: ShardCollection; value: T }> = [];
    const unavailable: string[] = [];
    settled.forEach((outcome, index) => {
      const collection = shards[index]!;
      if (outcome.status === 'fulfilled') results.push({ collection, value: outcome.value });
      else if (outcome.reason instanceof ShardUnavailableError) unavailable.push(collection.shard);
      else throw outcome.reason;
    });
    return { results, unavailable };
  }

  #at(index: number): ShardCollection {
    const collection = this.collections[index];
    if (!collection) throw new Error(`bucket map points at shard ${index}, but there are ${this.collections.length}`);
    return collection;
  }
}
