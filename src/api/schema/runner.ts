import { builder } from '../builder.js';
import { RunnerRef, TaskConnectionRef } from './refs.js';
import { pageArgs, pageRequest } from './run-connection.js';

/** Runners, as the live registry shows them (members with a fresh heartbeat). Worker groups: `worker-group.ts`. */

const RunnerStateEnum = builder.enumType('RunnerState', {
  values: { RUNNING: { value: 'running' }, DRAINING: { value: 'draining', description: 'Shutting down: takes no new runs.' } } as const,
});

RunnerRef.implement({
  description: 'A live runner process slot: it claims runs of its cluster that carry one of its tags and have one of its handlers.',
  fields: (t) => ({
    id: t.exposeID('id'),
    node: t.exposeString('node', { description: 'Id of the node (process) the runner lives in.' }),
    cluster: t.exposeString('cluster'),
    group: t.exposeString('group', { description: 'Worker group.' }),
    tags: t.exposeStringList('tags', { description: 'Tags it claims now: its own (WORKER_TAGS), or as its worker group\'s config sets them.' }),
    handlers: t.exposeStringList('handlers', { description: 'Handler names (`funcName`s) it claims now: those it loaded, or its group\'s dedicated one.' }),
    dedicatedHandler: t.string({
      nullable: true,
      description: 'Its worker group\'s dedicated handler, when the group names one.',
      resolve: (runner) => runner.dedicatedHandler ?? null,
    }),
    capacity: t.exposeInt('capacity', { description: 'Runs it executes at once, at most.' }),
    load: t.exposeInt('load', { description: 'Runs executing now.' }),
    state: t.field({ type: RunnerStateEnum, resolve: (runner) => runner.state }),
    startedAt: t.field({ type: 'DateTime', resolve: (runner) => new Date(runner.startedAt) }),
    lastHeartbeat: t.expose('lastHeartbeat', { type: 'DateTime' }),
    running: t.field({
      type: TaskConnectionRef,
      description: 'Runs it holds now.',
      args: pageArgs,
      resolve: (runner, args, context) => context.deps.store.select({ runner: runner.id, status: ['running'] }, pageRequest(args)),
    }),
  }),
});

builder.queryFields((t) => ({
  runners: t.field({
    type: [RunnerRef],
    description: 'Live runners, optionally of one cluster, worker group or handler.',
    args: { cluster: t.arg.string(), group: t.arg.string(), handler: t.arg.string() },
    resolve: async (_root, args, context) =>
      (await context.runners())
        .filter(
          (r) =>
            (args.cluster == null || r.cluster === args.cluster) &&
            (args.group == null || r.group === args.group) &&
            (args.handler == null || r.handlers.includes(args.handler)),
        )
        .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)),
  }),
}));
