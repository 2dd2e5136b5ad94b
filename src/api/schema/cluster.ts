import { DEFAULT_CLUSTER } from '../../catalog/contract.js';
import { TaskplaneError } from '../../core/errors.js';
import { builder } from '../builder.js';
import type { ApiContext } from '../context.js';
import { ClusterMutationsRef, ClusterRef, RunnerRef, WorkerGroupRef } from './refs.js';
import { StatusCountsRef } from './statistics.js';
import { workerGroupsOf } from './worker-group.js';

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
      description: 'Worker groups with live runners in this cluster (each with only those runners).',
      resolve: (cluster, _args, context) => workerGroupsOf(context, cluster.slug),
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
      description: 'Creates a cluster; its slug is `name-<generated id>`, or `slug` when given (lowercase letters, digits and `-`, at most 63 characters).',
      args: { name: t.arg.string({ required: true }), slug: t.arg.string(), description: t.arg.string() },
      resolve: (_ns, args, context) =>
        context.deps.catalog.createCluster({
          name: args.name,
          ...(args.slug != null ? { slug: args.slug } : {}),
          ...(args.description != null ? { description: args.description } : {}),
        }),
    }),
    update: t.field({
      type: ClusterRef,
      description: 'Renames a cluster or changes its description (`description: null` clears it). Its slug never changes.',
      args: { slug: t.arg.string({ required: true }), name: t.arg.string(), description: t.arg.string() },
      resolve: async (_ns, args, context) => {
        const changes: { name?: string; description?: string | null } = {};
        // An omitted argument keeps the value; `name: null` is the same as omitting it (a cluster always has a name).
        if (args.name != null) changes.name = args.name;
        if (args.description !== undefined) changes.description = args.description;
        const updated = await context.deps.catalog.updateCluster(args.slug, changes);
        if (!updated) throw notFound(args.slug);
        return updated;
      },
    }),
    delete: t.boolean({
      description:
        'Deletes a cluster that has no live runners and no pending or running runs. The default cluster cannot be deleted.',
      args: { slug: t.arg.string({ required: true }) },
      resolve: async (_ns, args, context) => {
        const { catalog } = context.deps;
        if (args.slug === DEFAULT_CLUSTER) throw new TaskplaneError('CONFLICT', 'the default cluster cannot be deleted');
        if (!(await catalog.getCluster(args.slug))) throw notFound(args.slug);
        await refuseBusyCluster(context, args.slug);
        if (!(await catalog.deleteCluster(args.slug))) {
          throw new TaskplaneError('NOT_FOUND', `no cluster has slug '${args.slug}'`);
        }
        return true;
      },
    }),
  }),
});

function notFound(slug: string): TaskplaneError {
  return new TaskplaneError('NOT_FOUND', `no cluster has slug '${slug}'; list them with query { clusters { slug } }`);
}

/**
 * A cluster in use is not deleted: its runs never move to another cluster (they would be
 * stranded), and its runners would keep serving a cluster nobody can target.
 */
async function refuseBusyCluster(context: ApiContext, slug: string): Promise<void> {
  const runners = (await context.runners()).filter((r) => r.cluster === slug).map((r) => r.id).sort();
  if (runners.length > 0) {
    const named = runners.length > 10 ? `${runners.slice(0, 10).join(', ')} and ${runners.length - 10} more` : runners.join(', ');
    throw new TaskplaneError(
      'CONFLICT',
      `cluster '${slug}' still has ${runners.length} live runner${runners.length === 1 ? '' : 's'} (${named}); stop them or point them at another cluster (RUNNER_CLUSTER) first`,
    );
  }
  const live = await context.deps.store.select({ cluster: slug, status: ['pending', 'running'] }, { first: 1 });
  if (live.runs.length > 0) {
    throw new TaskplaneError(
      'CONFLICT',
      `cluster '${slug}' still has pending or running runs (e.g. ${live.runs[0]!.id}); stop them or let them finish first`,
    );
  }
}

builder.mutationFields((t) => ({
  cluster: t.field({ type: ClusterMutationsRef, description: 'Cluster operations.', nullable: true, resolve: () => ({}) }),
}));
