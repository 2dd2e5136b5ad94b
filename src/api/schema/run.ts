import { parseRunId } from '../../core/run-input.js';
import { builder } from '../builder.js';
import { waitingReason } from '../waiting-reason.js';
import { AttemptRef, JobRef, RunnerRef, ShardRef, TaskConnectionRef, TaskDefinitionRef, TaskRef } from './refs.js';
import { pageArgs, pageRequest } from './run-connection.js';
import { AttemptOutcomeEnum, HandlerRuntimeEnum, TaskKindEnum, TaskStatusEnum } from './task-status.js';

/** A run (`Task`): what it is, where it is, why it waits, and how its attempts went. */

AttemptRef.implement({
  description: 'One claim of a run by a runner, recorded when the attempt ended.',
  fields: (t) => ({
    attempt: t.exposeInt('attempt'),
    runner: t.exposeString('runner', { description: 'Id of the runner that held this attempt.' }),
    startedAt: t.expose('startedAt', { type: 'DateTime' }),
    finishedAt: t.expose('finishedAt', { type: 'DateTime' }),
    outcome: t.field({ type: AttemptOutcomeEnum, resolve: (attempt) => attempt.outcome }),
    error: t.string({
      nullable: true,
      description: 'The error message of a failed attempt. Stacks stay in the server logs.',
      resolve: (attempt) => attempt.error?.message ?? null,
    }),
  }),
});

TaskRef.implement({
  description: 'One run of a task definition, or of an anonymous task created by handler name.',
  fields: (t) => ({
    id: t.exposeID('id'),
    jobId: t.exposeID('jobId', { description: 'The root run of the job this run belongs to (its own id for a root run).' }),
    name: t.exposeString('name', { description: 'Definition name, or the handler name for an anonymous run.' }),
    funcName: t.exposeString('funcName'),
    kind: t.field({ type: TaskKindEnum, resolve: (run) => run.kind }),
    status: t.field({ type: TaskStatusEnum, resolve: (run) => run.status }),
    attempt: t.exposeInt('attempt', { description: 'Attempts spent so far (0 while never claimed).' }),
    maxAttempts: t.exposeInt('maxAttempts'),
    args: t.expose('args', { type: 'JSON', nullable: true }),
    result: t.expose('result', { type: 'JSON', nullable: true, description: "The handler's return value once COMPLETED." }),
    error: t.string({
      nullable: true,
      description: 'Error message of the last failed attempt. Stacks stay in the server logs.',
      resolve: (run) => run.error?.message ?? null,
    }),
    reason: t.exposeString('reason', {
      nullable: true,
      description: 'Why the run is in its status when that is not obvious (`lease expired`, `stopped by operator` …).',
    }),
    priority: t.exposeInt('priority'),
    cluster: t.exposeString('cluster'),
    tag: t.exposeString('tag'),
    delay: t.exposeFloat('delay', { description: 'Seconds before the first retry.' }),
    delayFactor: t.exposeFloat('delayFactor'),
    timeToResolve: t.exposeFloat('timeToResolve', { description: 'Seconds a lease lasts without renewal.' }),
    timeout: t.exposeFloat('timeout', { description: "Seconds after creation at which a pending run becomes DID_NOT_START." }),
    runtime: t.field({ type: HandlerRuntimeEnum, nullable: true, description: "Where its handler runs; null: its runner's default (`task_runner.runtime`).", resolve: (run) => run.runtime }),
    runTimeout: t.exposeFloat('runTimeout', { nullable: true, description: "Seconds one attempt may run before its handler is aborted; null: its runner's default (`task_runner.run_timeout`)." }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    runAfter: t.expose('runAfter', { type: 'DateTime', description: 'Not claimed before this instant.' }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime' }),
    startedAt: t.expose('startedAt', { type: 'DateTime', nullable: true }),
    finishedAt: t.expose('finishedAt', { type: 'DateTime', nullable: true }),
    deadline: t.expose('deadline', { type: 'DateTime', nullable: true, description: 'Lease end of a running attempt.' }),
    stopRequested: t.exposeBoolean('stopRequested'),
    runnerId: t.exposeString('runner', { nullable: true, description: 'The runner holding (or that last held) the run.' }),
    runner: t.field({
      type: RunnerRef,
      nullable: true,
      description: 'That runner as the live registry shows it; null when it is gone.',
      resolve: async (run, _args, context) => {
        if (run.runner === null) return null;
        return (await context.runners()).find((runner) => runner.id === run.runner) ?? null;
      },
    }),
    history: t.field({ type: [AttemptRef], resolve: (run) => [...run.history] }),
    step: t.exposeString('step', { nullable: true, description: "Its name in a flow (or the name its parent gave a subtask); keys its result in dependents' inputs." }),
    dependsOn: t.idList({ description: 'Runs of the same job that must complete before this one is claimed.', resolve: (run) => [...run.dependsOn] }),
    dependencies: t.field({
      type: [TaskRef],
      nullable: { list: false, items: true },
      description: 'The runs in dependsOn (null for one that was forgotten or trimmed).',
      resolve: (run) => [...run.dependsOn],
    }),
    blocked: t.exposeBoolean('blocked', { description: 'PENDING but not claimable: a run in dependsOn has not completed yet.' }),
    inputs: t.expose('inputs', { type: 'JSON', nullable: true, description: 'Results of dependsOn keyed by step (or id), given to the handler as ctx.inputs.' }),
    revert: t.exposeString('revert', { nullable: true, description: 'Handler that undoes this flow step when the flow fails after it completed.' }),
    revertOfId: t.exposeID('revertOf', { nullable: true, description: 'For a revert run: the step run it undoes.' }),
    waitingReason: t.string({
      nullable: true,
      description:
        'Why a PENDING run is not running yet (dependencies not completed, no live runner in its cluster has its handler or tag, all are busy, or it is due later). Null when a live runner can take it now, or when it is not pending.',
      resolve: async (run, _args, context) => {
        if (run.status !== 'pending') return null;
        if (run.blocked) {
          const deps = await TaskRef.getDataloader(context).loadMany([...run.dependsOn]);
          const open = deps.flatMap((dep, i) =>
            dep instanceof Error || dep === null || dep.status === 'completed' ? [] : [`${dep.step ?? run.dependsOn[i]} (${dep.status})`],
          );
          return `waiting for dependencies: ${open.join(', ') || 'completing now'}`;
        }
        return waitingReason(run, await context.runners());
      },
    }),
    shard: t.field({ type: ShardRef, resolve: (run) => ({ name: run.shard }) }),
    job: t.field({ type: JobRef, resolve: (run) => ({ id: run.jobId }) }),
    parent: t.field({
      type: TaskRef,
      nullable: true,
      description: 'The run that spawned this one (batched with every other load of this request).',
      resolve: (run) => run.parentId,
    }),
    children: t.field({
      type: TaskConnectionRef,
      description: 'Runs this one spawned, newest first.',
      args: pageArgs,
      resolve: (run, args, context) =>
        context.deps.store.select({ jobId: run.jobId, parentId: run.id }, pageRequest(args)),
    }),
    definition: t.field({
      type: TaskDefinitionRef,
      nullable: true,
      description: 'The definition this run was launched from, if it still exists.',
      resolve: async (run, _args, context) =>
        run.kind === 'anonymous' ? null : ((await context.definitions()).find((d) => d.name === run.name) ?? null),
    }),
  }),
});

builder.queryFields((t) => ({
  task: t.field({
    type: TaskRef,
    nullable: true,
    description: 'A run by id; null when there is none (never created, forgotten or trimmed).',
    args: { id: t.arg.id({ required: true }) },
    // Returning the id hands the load to the batched Task loader.
    resolve: (_root, args) => parseRunId(String(args.id)),
  }),
}));

builder.subscriptionFields((t) => ({
  taskUpdated: t.field({
    type: TaskRef,
    description:
      'Runs as they change (created, claimed, finished …), from any node: one update per change. `status` and `attempt` are what the change wrote; other fields are read after it. All filters are optional and combine with AND.',
    args: {
      id: t.arg.id(),
      name: t.arg.string(),
      jobId: t.arg.id(),
      status: t.arg({ type: [TaskStatusEnum], description: 'Only changes into one of these statuses.' }),
    },
    subscribe: (_root, args, context) => {
      const filter = {
        ...(args.id != null ? { id: parseRunId(String(args.id)) } : {}),
        ...(args.name != null ? { name: args.name } : {}),
        ...(args.jobId != null ? { jobId: parseRunId(String(args.jobId), 'jobId') } : {}),
        ...(args.status != null ? { status: [...args.status] } : {}),
      };
      // The context lives as long as the subscription: drop what earlier events loaded.
      context.onRefresh(() => TaskRef.getDataloader(context).clearAll());
      return context.live.taskUpdates(filter);
    },
    resolve: (run, _args, context) => {
      context.refresh();
      return run;
    },
  }),
}));
