import { bucketOf } from '../core/bucket-hash.js';
import { ValidationError } from '../core/errors.js';

/**
 * The bucket → shard map. By default the buckets are split into contiguous, equal ranges in
 * shard order (1024 buckets on 3 shards: 0–341, 342–682, 683–1023). An explicit map (one shard
 * index per bucket) lets an operator move buckets when shards are added.
 *
 * The bucket count is fixed for the life of a deployment: it is part of how ids route.
 */
export class BucketRouter {
  readonly bucketCount: number;
  readonly shardCount: number;
  readonly #shardOfBucket: Uint16Array;

  constructor(bucketCount: number, shardCount: number, explicitMap?: readonly number[]) {
    if (!Number.isInteger(bucketCount) || bucketCount < 1 || bucketCount > 65536) {
      throw new ValidationError('buckets', `must be an integer from 1 to 65536, got ${bucketCount}`);
    }
    if (!Number.isInteger(shardCount) || shardCount < 1 || shardCount > bucketCount) {
      throw new ValidationError('shards', `need 1 to ${bucketCount} shards, got ${shardCount}`);
    }
    this.bucketCount = bucketCount;
    this.shardCount = shardCount;
    this.#shardOfBucket = new Uint16Array(bucketCount);
    if (explicitMap) {
      if (explicitMap.length !== bucketCount) {
        throw new ValidationError('bucketMap', `must list one shard per bucket (${bucketCount}), got ${explicitMap.length}`);
      }
      explicitMap.forEach((shard, bucket) => {
        if (!Number.isInteger(shard) || shard < 0 || shard >= shardCount) {
          throw new ValidationError(`bucketMap.${bucket}`, `shard index ${shard} is not one of 0..${shardCount - 1}`);
        }
        this.#shardOfBucket[bucket] = shard;
      });
    } else {
      for (let bucket = 0; bucket < bucketCount; bucket++) {
        this.#shardOfBucket[bucket] = Math.floor((bucket * shardCount) / bucketCount);
      }
    }
  }

  bucketOfJob(jobId: string): number {
    return bucketOf(jobId, this.bucketCount);
  }

  shardOfBucket(bucket: number): number {
    return this.#shardOfBucket[bucket] ?? 0;
  }

  /** Shard index of a run: every run id hashes to its job's bucket (see `core/run-ids.ts`). */
  shardOfRun(runId: string): number {
    return this.shardOfBucket(this.bucketOfJob(runId));
  }

  /** Contiguous bucket ranges per shard, for display. */
  ranges(): Array<{ shard: number; from: number; to: number }> {
    const ranges: Array<{ shard: number; from: number; to: number }> = [];
    for (let bucket = 0; bucket < this.bucketCount; bucket++) {
      const shard = this.shardOfBucket(bucket);
      const last = ranges.at(-1);
      if (last && last.shard === shard && last.to === bucket - 1) last.to = bucket;
      else ranges.push({ shard, from: bucket, to: bucket });
    }
    return ranges;
  }
}
