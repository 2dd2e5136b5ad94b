import { shardName } from '../storage/create-store.js';
import { CatalogStore } from './catalog-store.js';
import { MemoryCatalogDatabase } from './memory-catalog-collection.js';
import { MongoCatalogDatabase } from './mongo-catalog-collection.js';

export interface CatalogOptions {
  /** The MongoDB shards (the same list the run storage uses). `null` → an in-memory catalog. */
  readonly mongo: {
    /** One connection string per shard; the path names the database. */
    readonly shards: readonly string[];
    /** @defaultValue 2000 */
    readonly serverSelectionTimeoutMs?: number;
  } | null;
  /** Called before a cluster is deleted; throw to refuse. */
  readonly beforeDeleteCluster?: (slug: string) => Promise<void>;
}

/**
 * Builds the catalog (a `Catalog`; `engine` says which kind). Call `start()` next.
 *
 * With MongoDB the catalog lives on the first shard (`shard-0`) only, beside its runs: it is
 * small, written rarely and read often, and one place to read means every node sees the same
 * definitions and clusters without reconciling copies. The cost is that while `shard-0` is down
 * the catalog is unavailable (runs on the other shards are unaffected); a later change could
 * replicate it across shards. Like the run storage, an empty shard list means embedded mode.
 */
export function createCatalog(options: CatalogOptions): CatalogStore {
  const { mongo } = options;
  const first = mongo?.shards[0];
  const database =
    mongo && first !== undefined
      ? new MongoCatalogDatabase({
          shard: shardName(0),
          url: first,
          ...(mongo.serverSelectionTimeoutMs !== undefined ? { serverSelectionTimeoutMs: mongo.serverSelectionTimeoutMs } : {}),
        })
      : new MemoryCatalogDatabase();
  return new CatalogStore({
    database,
    ...(options.beforeDeleteCluster ? { beforeDelete: options.beforeDeleteCluster } : {}),
  });
}
