import { requireCluster } from '../../catalog/require-cluster.js';
import { withoutNulls } from '../without-nulls.js';
import type { LaunchOptions } from '../../catalog/launcher.js';
import { parseRunId } from '../../core/run-input.js';
import type { JsonValue } from '../../core/types.js';
import { builder } from '../builder.js';
import type { ApiContext } from '../context.js';
import { TaskMutationsRef } from './refs.js';
import { HandlerRuntimeEnum } from './task-status.js';

/**
 * Run operations under `mutation { task { … } }`, Tarantool-compatible: `start` and `create`
 * return the new run's id, `stop` and `retry` the id, `forget` true.
 *
 * Fields of a namespace object run in parallel (only root mutation fields run in order), so a
 * document that must stop then forget the same run sends two `task { … }` selections or two
 * requests.
 */

const TaskOptionsInput = builder.inputType('TaskOptions', {
  description: "Per-launch choices; each overrides the definition's (or the defaults, for anonymous tasks).",
  fields: (t) => ({
    cluster: t.string({ description: 'Cluster slug; the run waits there for a runner and never runs elsewhere.' }),
    tag: t.string({ description: 'Only runners listening to this tag take the run.' }),
    priority: t.int({ description: 'Higher runs first.' }),
    maxAttempts: t.int(),
    delay: t.float({ description: 'Seconds before the first retry.' }),
    delayFactor: t.float({ description: 'Each further retry waits delay × delayFactor^(attempt-1) seconds.' }),
    timeToResolve: t.float({ description: 'Seconds a lease lasts without renewal.' }),
    timeout: t.float({ description: 'Seconds a run may stay pending before it becomes DID_NOT_START.' }),
    runtime: t.field({ type: HandlerRuntimeEnum, description: "Where the handler runs. Default: the definition's, else the runner's (`task_runner.runtime`)." }),
    runTimeout: t.float({ description: "Seconds one attempt may run before its handler is aborted. Default: the definition's, else the runner's (`task_runner.run_timeout`)." }),
    runAfter: t.field({ type: 'DateTime', description: 'Not claimed before this instant.' }),
    jobId: t.id({ description: 'Join this job (a subtask).' }),
    parentId: t.id({ description: 'The run that spawns this one; needs jobId.' }),
  }),
});

type OptionsArg = typeof TaskOptionsInput.$inferInput;

/** GraphQL options as `LaunchOptions`: nulls dropped, ids and the cluster checked. */
async function launchOptions(options: OptionsArg | null | undefined, context: ApiContext): Promise<LaunchOptions> {
  if (!options) return {};
  const result = withoutNulls(options);
  if (options.jobId != null) result['jobId'] = parseRunId(String(options.jobId), 'options.jobId');
  if (options.parentId != null) result['parentId'] = parseRunId(String(options.parentId), 'options.parentId');
  if (options.cluster != null) result['cluster'] = await requireCluster(context.deps.catalog, options.cluster, 'options.cluster');
  return result as LaunchOptions;
}

const payload = (args: unknown): JsonValue | undefined => (args === null || args === undefined ? undefined : (args as JsonValue));

TaskMutationsRef.implement({
  description: 'Run and task-definition operations: `mutation { task { start(name: "my_reload") } }`.',
  fields: (t) => ({
    start: t.id({
      description:
        "Launches task definition `name`; returns the new run's id. A name with no definition is recorded as an UNKNOWN_TASK run and answered with NOT_FOUND (extensions.runId names the record).",
      args: {
        name: t.arg.string({ required: true }),
        args: t.arg({ type: 'JSON', description: "Replaces the definition's args." }),
        options: t.arg({ type: TaskOptionsInput }),
      },
      resolve: async (_ns, args, context) =>
        (await context.deps.launcher.start(args.name, payload(args.args), await launchOptions(args.options, context))).id,
    }),
    create: t.id({
      description: "Launches an anonymous run of handler `funcName` (`module.function`); returns the new run's id.",
      args: {
        funcName: t.arg.string({ required: true }),
        args: t.arg({ type: 'JSON' }),
        options: t.arg({ type: TaskOptionsInput }),
      },
      resolve: async (_ns, args, context) =>
        (await context.deps.launcher.create(args.funcName, payload(args.args), await launchOptions(args.options, context))).id,
    }),
    stop: t.id({
      description: 'Pending → STOPPED at once; running → its handler is aborted, then STOPPED. Returns the id.',
      args: { id: t.arg.id({ required: true }), reason: t.arg.string() },
      resolve: async (_ns, args, context) =>
        (await context.deps.store.stop(parseRunId(String(args.id)), args.reason ?? undefined)).id,
    }),
    retry: t.id({
      description: 'A finished run → PENDING again with a fresh attempt budget. Returns the id.',
      args: { id: t.arg.id({ required: true }) },
      resolve: async (_ns, args, context) => (await context.deps.store.retry(parseRunId(String(args.id)))).id,
    }),
    forget: t.boolean({
      description: 'Deletes a finished run. Returns true.',
      args: { id: t.arg.id({ required: true }) },
      resolve: async (_ns, args, context) => {
        await context.deps.store.forget(parseRunId(String(args.id)));
        return true;
      },
    }),
  }),
});

builder.mutationFields((t) => ({
  task: t.field({ type: TaskMutationsRef, description: 'Run and task-definition operations.', nullable: true, resolve: () => ({}) }),
}));
