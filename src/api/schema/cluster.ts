import { DEFAULT_CLUSTER } from '../../catalog/contract.js';
import { TaskplaneError } from '../../core/errors.js';
import { builder } from '../builder.js';
import { ClusterMutationsRef, ClusterRef, RunnerRef, WorkerGroupRef } from './refs.js';
import { workerGroups } from './runner.js';
import { StatusCountsRef } from './statistics.js';

/** Clusters: named groups of runners. A run targets one cluster and never runs elsewhere. */

ClusterRef.implement({
  description: 'A named group of runners. Its slug is `name-<generated id>`; the `default` cluster always exists.',
  fields: (t) => ({
    slug: t.exposeString('slug'),
    name: t.exposeString('name'),
    description: t.exposeString('description', { nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    isDefault: t.boolean({ resolve: (cluster) => cluster.slug === DEFAULT_CLUSTER }),
    runners: t.field({
      type: [RunnerRef],
      resolve: async (cluster, _args, context) => (await context.runners()).filter((r) => r.cluster === cluster.slug),
    }),
    workerGroups: t.field({
      type: [WorkerGroupRef],
      resolve: async (cluster, _args, context) => workerGroups((await context.runners()).filter((r) => r.cluster === cluster.slug)),
    }),
    counts: t.field({
      type: StatusCountsRef,
      nullable: true,
      description: 'Runs targeting this cluster by status; null when it has none.',
      resolve: async (cluster, _args, context) =>
        (await context.statistics({ groupBy: 'cluster' })).groups.find((g) => g.key === cluster.slug)?.counts ?? null,
    }),
  }),
});

builder.queryFields((t) => ({
  clusters: t.field({ type: [ClusterRef], resolve: (_root, _args, context) => context.deps.catalog.listClusters() }),
  cluster: t.field({
    type: ClusterRef,
    nullable: true,
    args: { slug: t.arg.string({ required: true }) },
    resolve: (_root, args, context) => context.deps.catalog.getCluster(args.slug),
  }),
}));

ClusterMutationsRef.implement({
  description: 'Cluster operations: `mutation { cluster { create(name: "testing") { slug } } }`.',
  fields: (t) => ({
    create: t.field({
      type: ClusterRef,
      description: 'Creates a cluster; its slug is `name-<generated id>`.',
      args: { name: t.arg.string({ required: true }), description: t.arg.string() },
      resolve: (_ns, args, context) =>
        context.deps.catalog.createCluster({ name: args.name, ...(args.description != null ? { description: args.description } : {}) }),
    }),
    delete: t.boolean({
      description: 'Deletes a cluster that has no pending or running runs. The default cluster cannot be deleted.',
      args: { slug: t.arg.string({ required: true }) },
      resolve: async (_ns, args, context) => {
        const { catalog, store } = context.deps;
        if (args.slug === DEFAULT_CLUSTER) throw new TaskplaneError('CONFLICT', 'the default cluster cannot be deleted');
        if (!(await catalog.getCluster(args.slug))) {
          throw new TaskplaneError('NOT_FOUND', `no cluster has slug '${args.slug}'; list them with query { clusters { slug } }`);
        }
        // Runs never move to another cluster: deleting one with live runs would strand them.
        const live = await store.select({ cluster: args.slug, status: ['pending', 'running'] }, { first: 1 });
        if (live.runs.length > 0) {
          throw new TaskplaneError(
            'CONFLICT',
            `cluster '${args.slug}' still has pending or running runs (e.g. ${live.runs[0]!.id}); stop them or let them finish first`,
          );
        }
        if (!(await catalog.deleteCluster(args.slug))) {
          throw new TaskplaneError('NOT_FOUND', `no cluster has slug '${args.slug}'`);
        }
        return true;
      },
    }),
  }),
});

builder.mutationFields((t) => ({
  cluster: t.field({ type: ClusterMutationsRef, description: 'Cluster operations.', resolve: () => ({}) }),
}));
