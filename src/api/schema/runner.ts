import { builder } from '../builder.js';
import type { RunnerView } from '../registry.js';
import { RunnerRef, TaskConnectionRef, WorkerGroupRef, type WorkerGroupShape } from './refs.js';
import { pageArgs, pageRequest } from './run-connection.js';

/** Runners and worker groups, as the live registry shows them (members with a fresh heartbeat). */

const RunnerStateEnum = builder.enumType('RunnerState', {
  values: { RUNNING: { value: 'running' }, DRAINING: { value: 'draining', description: 'Shutting down: takes no new runs.' } } as const,
});

const union = (lists: ReadonlyArray<readonly string[]>) => [...new Set(lists.flat())].sort();

RunnerRef.implement({
  description: 'A live runner process slot: it claims runs of its cluster that carry one of its tags and have one of its handlers.',
  fields: (t) => ({
    id: t.exposeID('id'),
    node: t.exposeString('node', { description: 'Id of the node (process) the runner lives in.' }),
    cluster: t.exposeString('cluster'),
    group: t.exposeString('group', { description: 'Worker group.' }),
    tags: t.exposeStringList('tags'),
    handlers: t.exposeStringList('handlers', { description: 'Handler names (`funcName`s) it can run.' }),
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

WorkerGroupRef.implement({
  description: 'Runners of one cluster that share a worker group.',
  fields: (t) => ({
    name: t.exposeString('name'),
    cluster: t.exposeString('cluster'),
    runners: t.field({ type: [RunnerRef], resolve: (group) => [...group.runners] }),
    capacity: t.int({ resolve: (group) => group.runners.reduce((sum, r) => sum + r.capacity, 0) }),
    load: t.int({ resolve: (group) => group.runners.reduce((sum, r) => sum + r.load, 0) }),
    tags: t.stringList({ resolve: (group) => union(group.runners.map((r) => r.tags)) }),
    handlers: t.stringList({ resolve: (group) => union(group.runners.map((r) => r.handlers)) }),
  }),
});

/** Runners grouped by (cluster, group), sorted. */
export function workerGroups(runners: readonly RunnerView[]): WorkerGroupShape[] {
  const groups = new Map<string, WorkerGroupShape & { runners: RunnerView[] }>();
  for (const runner of runners) {
    const key = `${runner.cluster}\u0000${runner.group}`;
    const group = groups.get(key) ?? { cluster: runner.cluster, name: runner.group, runners: [] };
    group.runners.push(runner);
    groups.set(key, group);
  }
  return [...groups.keys()].sort().map((key) => groups.get(key)!);
}

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
  workerGroups: t.field({
    type: [WorkerGroupRef],
    args: { cluster: t.arg.string() },
    resolve: async (_root, args, context) =>
      workerGroups((await context.runners()).filter((r) => args.cluster == null || r.cluster === args.cluster)),
  }),
}));
