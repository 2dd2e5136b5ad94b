import { describe, expect, it } from 'vitest';
import { bucketOf, jobHash } from '../../src/core/bucket-hash.js';
import { isRunId, newRunIdInJob, scheduledRunId } from '../../src/core/run-ids.js';
import { BucketRouter } from '../../src/storage/bucket-router.js';

describe('job hash', () => {
  // Pinned: stored runs route by these values. The figures were cross-checked with an
  // independent Python implementation of FNV-1a 32 + fmix32.
  it.each([
    ['', 2872998923, 11],
    ['a', 444641715, 435],
    ['7b0f8a56-3d0e-4b8c-9f2f-1a2b3c4d5e6f', 3110638849, 257],
    ['00000000-0000-4000-8000-000000000000', 1564448355, 611],
  ])('hashes %j to %d (bucket %d of 1024)', (id, hash, bucket) => {
    expect(jobHash(id)).toBe(hash);
    expect(bucketOf(id, 1024)).toBe(bucket);
  });

  it('ignores the case of a job id', () => {
    expect(jobHash('7B0F8A56-3D0E-4B8C-9F2F-1A2B3C4D5E6F')).toBe(3110638849);
  });

  it('spreads random ids evenly over buckets', () => {
    const counts = new Array<number>(16).fill(0);
    for (let i = 0; i < 16_000; i++) counts[bucketOf(crypto.randomUUID(), 16)]!++;
    for (const count of counts) expect(count).toBeGreaterThan(800);
  });
});

describe('run ids', () => {
  it('draws ids inside a job that route to the job’s bucket', () => {
    const jobId = crypto.randomUUID();
    for (let i = 0; i < 20; i++) {
      const id = newRunIdInJob(jobId, 1024);
      expect(isRunId(id)).toBe(true);
      expect(id).not.toBe(jobId);
      expect(bucketOf(id, 1024)).toBe(bucketOf(jobId, 1024));
    }
  });

  it('derives the same id for the same definition and tick, and another for the next tick', () => {
    const tick = new Date('2026-01-01T00:00:05.000Z');
    const id = scheduledRunId('my_reload', tick);
    expect(isRunId(id)).toBe(true);
    expect(id[14]).toBe('5');
    expect(scheduledRunId('my_reload', new Date(tick))).toBe(id);
    expect(scheduledRunId('my_reload', new Date(tick.getTime() + 1000))).not.toBe(id);
    expect(scheduledRunId('other', tick)).not.toBe(id);
  });

  it('recognises UUIDs only', () => {
    expect(isRunId('7b0f8a56-3d0e-4b8c-9f2f-1a2b3c4d5e6f')).toBe(true);
    expect(isRunId('7b0f8a56-3d0e-4b8c-9f2f-1a2b3c4d5e6')).toBe(false);
    expect(isRunId("'; drop table runs; --")).toBe(false);
  });
});

describe('bucket router', () => {
  it('splits buckets into equal contiguous ranges in shard order', () => {
    expect(new BucketRouter(1024, 3).ranges()).toEqual([
      { shard: 0, from: 0, to: 341 },
      { shard: 1, from: 342, to: 682 },
      { shard: 2, from: 683, to: 1023 },
    ]);
  });

  it('follows an explicit map and refuses a bad one', () => {
    const map = Array.from({ length: 8 }, (_, bucket) => (bucket % 2 === 0 ? 1 : 0));
    const router = new BucketRouter(8, 2, map);
    expect(router.shardOfBucket(0)).toBe(1);
    expect(router.shardOfBucket(1)).toBe(0);
    expect(() => new BucketRouter(8, 2, [0, 1])).toThrow(/one shard per bucket \(8\), got 2/);
    expect(() => new BucketRouter(8, 2, [0, 1, 2, 0, 0, 0, 0, 0])).toThrow(/bucketMap\.2: shard index 2/);
    expect(() => new BucketRouter(0, 1)).toThrow(/buckets/);
    expect(() => new BucketRouter(4, 5)).toThrow(/need 1 to 4 shards/);
  });
});
