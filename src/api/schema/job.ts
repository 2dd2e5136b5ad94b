import { withoutNulls } from '../without-nulls.js';
import { parseRunId } from '../../core/run-input.js';
import { builder } from '../builder.js';
import type { ApiContext } from '../context.js';
import type { FlowStepLaunch } from '../../catalog/launcher.js';
import { JOB_STATUSES, type JobStatus, type JobSummary } from '../../storage/contract.js';
import { JobRef, ShardRef, TaskConnectionRef, TaskRef, type JobShape } from './refs.js';
import { StatusCountsRef } from './statistics.js';
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

const JobStatusEnum = builder.enumType('JobStatus', {
  description:
    'SUBMITTED: nothing started yet; RUNNING: live runs and something started; COMPLETED: every run completed; FAILED: nothing live and a run ended otherwise (its dependents were stopped); CANCELLED: an operator cancelled it.',
  values: Object.fromEntries(JOB_STATUSES.map((status) => [status.toUpperCase(), { value: status }])) as Record<Uppercase<JobStatus>, { value: JobStatus }>,
});

function summaryOf(job: JobShape, context: ApiContext): Promise<JobSummary | null> {
  job.summary ??= context.deps.store.job(job.id);
  return job.summary;
}

builder.objectFields(JobRef, (t) => ({
  status: t.field({
    type: JobStatusEnum,
    nullable: true,
    description: 'Null when no run of the job is left.',
    resolve: async (job, _args, context) => (await summaryOf(job, context))?.status ?? null,
  }),
  progress: t.field({
    type: StatusCountsRef,
    nullable: true,
    description: "The job's runs by status (subtasks, flow steps and revert runs included).",
    resolve: async (job, _args, context) => (await summaryOf(job, context))?.counts ?? null,
  }),
  firstStartedAt: t.field({
    type: 'DateTime',
    nullable: true,
    resolve: async (job, _args, context) => (await summaryOf(job, context))?.firstStartedAt ?? null,
  }),
  lastFinishedAt: t.field({
    type: 'DateTime',
    nullable: true,
    description: 'When its last run ended; null while runs are live.',
    resolve: async (job, _args, context) => (await summaryOf(job, context))?.lastFinishedAt ?? null,
  }),
}));

const FlowStepInput = builder.inputType('FlowStepInput', {
  description: 'One step of a flow: a handler (`funcName`) or a task definition (`task`), routed by cluster and tag.',
  fields: (t) => ({
    step: t.string({ required: true, description: 'Unique in the flow; `dependsOn` and dependents\' `ctx.inputs` use it.' }),
    funcName: t.string({ description: 'Handler to run (`module.function`); or `task`.' }),
    task: t.string({ description: "Task definition whose fields are the step's defaults; or `funcName`." }),
    args: t.field({ type: 'JSON' }),
    dependsOn: t.stringList({ description: 'Steps that must complete first; their results reach this step as `ctx.inputs`.' }),
    revert: t.string({ description: 'Handler that undoes this step (given `{ args, result }`) when the flow fails after it completed.' }),
    cluster: t.string(),
    tag: t.string(),
    priority: t.int(),
    maxAttempts: t.int(),
    delay: t.float(),
    delayFactor: t.float(),
    timeToResolve: t.float(),
    timeout: t.float(),
  }),
});

const JobMutationsRef = builder.objectRef<object>('JobMutations');

JobMutationsRef.implement({
  description: 'Job operations: submit a flow, cancel a job, retry a job.',
  fields: (t) => ({
    submit: t.field({
      type: JobRef,
      description:
        'Submits a flow: steps with dependsOn, created together as one job (nothing is created when a step is invalid, a dependency is unknown, dependsOn forms a cycle or a cluster does not exist).',
      args: { steps: t.arg({ type: [FlowStepInput], required: true }) },
      resolve: async (_ns, args, context) => {
        const runs = await context.deps.launcher.submitFlow(args.steps.map(withoutNulls) as unknown as FlowStepLaunch[]);
        return { id: runs[0]!.jobId };
      },
    }),
    cancel: t.field({
      type: JobRef,
      description: 'Stops the pending runs of a job and aborts its running ones (reason `job cancelled`).',
      args: { id: t.arg.id({ required: true }) },
      resolve: async (_ns, args, context) => ({ id: (await context.deps.store.cancelJob(parseRunId(String(args.id), 'id'))).jobId }),
    }),
    retry: t.field({
      type: JobRef,
      description: 'Re-queues the failed, lost, stopped and expired runs of a job; completed runs stay done, so it resumes from there.',
      args: { id: t.arg.id({ required: true }) },
      resolve: async (_ns, args, context) => ({ id: (await context.deps.store.retryJob(parseRunId(String(args.id), 'id'))).jobId }),
    }),
  }),
});

builder.mutationFields((t) => ({
  job: t.field({ type: JobMutationsRef, description: 'Job operations.', nullable: true, resolve: () => ({}) }),
}));
