import { builder } from '../builder.js';
import { ShardRef } from './refs.js';
import { StatusCountsRef } from './statistics.js';

/** Shards: one MongoDB database each (or an in-process one in embedded mode), with their buckets. */

const BucketRangeRef = builder.objectRef<{ from: number; to: number }>('BucketRange');
BucketRangeRef.implement({
  description: 'A contiguous range of buckets, both ends included.',
  fields: (t) => ({ from: t.exposeInt('from'), to: t.exposeInt('to') }),
});

const ShardHealthRef = builder.objectRef<{ ok: boolean; latencyMs: number | null; error: string | null }>('ShardHealth');
ShardHealthRef.implement({
  fields: (t) => ({
    ok: t.exposeBoolean('ok'),
    latencyMs: t.exposeFloat('latencyMs', { nullable: true, description: 'Round trip of a ping; null when it failed.' }),
    error: t.exposeString('error', { nullable: true }),
  }),
});

ShardRef.implement({
  description: 'One database holding a share of the buckets (`bucket = hash(jobId) mod bucketCount`).',
  fields: (t) => ({
    name: t.exposeString('name'),
    engine: t.string({ description: '`mongodb`, `embedded`, or a custom engine.', resolve: (_shard, _args, context) => context.deps.store.engine }),
    bucketRanges: t.field({
      type: [BucketRangeRef],
      description: 'Buckets this shard holds (empty when the store does not expose its bucket map).',
      resolve: (shard, _args, context) => {
        const { router, shards } = context.deps.store;
        const index = shards.indexOf(shard.name);
        return router ? router.ranges().filter((range) => range.shard === index) : [];
      },
    }),
    bucketCount: t.int({
      nullable: true,
      description: 'How many buckets this shard holds.',
      resolve: (shard, _args, context) => {
        const { router, shards } = context.deps.store;
        if (!router) return null;
        const index = shards.indexOf(shard.name);
        return router.ranges().reduce((sum, range) => sum + (range.shard === index ? range.to - range.from + 1 : 0), 0);
      },
    }),
    health: t.field({
      type: ShardHealthRef,
      resolve: async (shard, _args, context) =>
        (await context.shardHealth()).find((h) => h.shard === shard.name) ?? { ok: false, latencyMs: null, error: 'not checked' },
    }),
    counts: t.field({
      type: StatusCountsRef,
      nullable: true,
      description: 'Runs on this shard by status; null when it did not answer.',
      resolve: async (shard, _args, context) => (await context.statistics()).shards.find((row) => row.shard === shard.name)?.counts ?? null,
    }),
  }),
});

builder.queryFields((t) => ({
  shards: t.field({
    type: [ShardRef],
    resolve: (_root, _args, context) => context.deps.store.shards.map((name) => ({ name })),
  }),
}));
