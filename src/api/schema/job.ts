import { parseRunId } from '../../core/run-input.js';
import { builder } from '../builder.js';
import type { ApiContext } from '../context.js';
import { JobRef, ShardRef, TaskConnectionRef, TaskRef } from './refs.js';
import { pageArgs, pageRequest } from './run-connection.js';
import { TaskStatusEnum } from './task-status.js';

/** A job: the runs that share a `jobId` (a root run and what it spawned). A whole job lives on one shard. */

async function shardOfJob(context: ApiContext, jobId: string): Promise<string> {
  const { store } = context.deps;
  const { router } = store;
  if (router) {
    const name = store.shards[router.shardOfBucket(router.bucketOfJob(jobId))];
    if (name !== undefined) return name;
  }
  const root = await TaskRef.getDataloader(context).load(jobId);
  return root instanceof Error || root === null ? (store.shards[0] ?? 'shard-0') : root.shard;
}

JobRef.implement({
  description: 'The runs that share a jobId: a root run and the runs spawned under it. A whole job lives on one shard.',
  fields: (t) => ({
    id: t.exposeID('id', { description: "The root run's id." }),
    root: t.field({
      type: TaskRef,
      nullable: true,
      description: 'The root run; null once it was forgotten or trimmed.',
      resolve: (job) => job.id,
    }),
    shard: t.field({ type: ShardRef, resolve: async (job, _args, context) => ({ name: await shardOfJob(context, job.id) }) }),
    runs: t.field({
      type: TaskConnectionRef,
      description: 'Runs of this job, newest first.',
      args: { status: t.arg({ type: [TaskStatusEnum] }), ...pageArgs },
      resolve: (job, args, context) =>
        context.deps.store.select(
          { jobId: job.id, ...(args.status ? { status: [...args.status] } : {}) },
          pageRequest(args),
        ),
    }),
  }),
});

builder.queryFields((t) => ({
  job: t.field({
    type: JobRef,
    nullable: true,
    description: 'A job by its id (the root run id; the id of any run in it also finds it); null when no run of it exists.',
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, args, context) => {
      const id = parseRunId(String(args.id));
      const root = await TaskRef.getDataloader(context).load(id);
      if (root instanceof Error) throw root;
      if (root) return { id: root.jobId };
      // The root may be gone (trimmed) while runs it spawned remain.
      const { runs } = await context.deps.store.select({ jobId: id }, { first: 1 });
      return runs.length > 0 ? { id } : null;
    },
  }),
}));
