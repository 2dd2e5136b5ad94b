import { parseInput, runFilterSchema } from '../../core/run-input.js';
import { RUN_STATUSES, type RunStatus } from '../../core/types.js';
import type { StatusCounts } from '../../storage/contract.js';
import { builder } from '../builder.js';
import { ShardRef, StatisticsRef, type StatisticsShape } from './refs.js';

/**
 * Counts of runs by status: the DESIGN fields at the top, then per shard, per cluster and per
 * name. Grouped counts are read only when asked for (one aggregation per shard each).
 */

/** GraphQL field names of the counts, in status order (`did not start` → `didNotStart`). */
const COUNT_FIELDS: ReadonlyArray<readonly [string, RunStatus]> = RUN_STATUSES.map((status) => [
  status.replace(/ (\w)/g, (_m, letter: string) => letter.toUpperCase()),
  status,
]);

export const StatusCountsRef = builder.objectRef<StatusCounts>('StatusCounts');

StatusCountsRef.implement({
  description: 'Runs by status.',
  fields: (t) => ({
    ...Object.fromEntries(COUNT_FIELDS.map(([field, status]) => [field, t.int({ resolve: (counts) => counts[status] })])),
    total: t.exposeInt('total'),
  }),
});

const ShardStatisticsRef = builder.objectRef<{ shard: string; counts: StatusCounts | null }>('ShardStatistics');
ShardStatisticsRef.implement({
  fields: (t) => ({
    shard: t.field({ type: ShardRef, resolve: (row) => ({ name: row.shard }) }),
    counts: t.field({ type: StatusCountsRef, nullable: true, description: 'Null when the shard did not answer.', resolve: (row) => row.counts }),
  }),
});

const GroupStatisticsRef = builder.objectRef<{ key: string; counts: StatusCounts }>('GroupStatistics');
GroupStatisticsRef.implement({
  fields: (t) => ({
    key: t.exposeString('key', { description: 'The cluster slug or task name the counts are for.' }),
    counts: t.field({ type: StatusCountsRef, resolve: (row) => row.counts }),
  }),
});

StatisticsRef.implement({
  description: 'Counts of runs by status across all shards that answered.',
  fields: (t) => ({
    ...Object.fromEntries(COUNT_FIELDS.map(([field, status]) => [field, t.int({ resolve: (stats) => stats.result.total[status] })])),
    total: t.int({ resolve: (stats) => stats.result.total.total }),
    byShard: t.field({ type: [ShardStatisticsRef], resolve: (stats) => stats.result.shards.map((row) => ({ ...row })) }),
    byCluster: t.field({
      type: [GroupStatisticsRef],
      resolve: async (stats, _args, context) => [...(await context.statistics({ ...stats.query, groupBy: 'cluster' })).groups],
    }),
    byName: t.field({
      type: [GroupStatisticsRef],
      resolve: async (stats, _args, context) => [...(await context.statistics({ ...stats.query, groupBy: 'name' })).groups],
    }),
    unavailableShards: t.stringList({
      description: 'Shards that did not answer; their runs are not counted.',
      resolve: (stats) => stats.result.unavailable,
    }),
  }),
});

export const statisticsArgs = builder.args((t) => ({
  name: t.string({ description: 'Only runs of this task name.' }),
  cluster: t.string({ description: 'Only runs in this cluster.' }),
}));

export function statisticsQuery(args: { name?: string | null; cluster?: string | null }): StatisticsShape['query'] {
  return { ...(args.name != null ? { name: args.name } : {}), ...(args.cluster != null ? { cluster: args.cluster } : {}) };
}

builder.queryFields((t) => ({
  statistics: t.field({
    type: StatisticsRef,
    args: statisticsArgs,
    resolve: async (_root, args, context) => {
      const query = statisticsQuery(args);
      return { query, result: await context.statistics(query) };
    },
  }),
  exactStatistics: t.field({
    type: StatisticsRef,
    description:
      "The same counts, taken from the runs themselves instead of the shards' run counts: every run of every shard is read, so it is " +
      'slow on large shards (admin only). For checking `statistics`; the storage role repairs drifted counts on its own every 5 minutes.',
    args: statisticsArgs,
    resolve: async (_root, args, context) => {
      const query = { ...statisticsQuery(args), exact: true };
      return { query, result: await context.statistics(query) };
    },
  }),
}));

builder.subscriptionFields((t) => ({
  statistics: t.field({
    type: StatisticsRef,
    description: 'The counts now, then again whenever they change (at most once per second).',
    args: statisticsArgs,
    subscribe: (_root, args, context) => {
      const query = statisticsQuery(args);
      // Checked as the store checks it, so a bad filter is refused at once instead of opening a
      // stream that never yields and logs a failed read on every change.
      parseInput(runFilterSchema.pick({ name: true, cluster: true }), query, 'statistics');
      return context.live.statistics(query);
    },
    resolve: (stats, _args, context) => {
      context.refresh();
      return stats;
    },
  }),
}));
