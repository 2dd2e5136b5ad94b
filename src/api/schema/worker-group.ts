import type { WorkerGroupConfig } from '../../catalog/contract.js';
import { WORKER_GROUPS_CHANNEL } from '../../catalog/worker-groups.js';
import { TaskplaneError } from '../../core/errors.js';
import { builder } from '../builder.js';
import type { ApiContext } from '../context.js';
import type { RunnerView } from '../registry.js';
import { RunnerRef, WorkerGroupRef, type WorkerGroupShape } from './refs.js';

/**
 * Worker groups: runners that share `WORKER_GROUP`, and the config stored for the group in the
 * catalog (its tags, tag priorities, dedicated handler, init command). A group shows when it has
 * a stored config, live runners, or both. Runners follow a change of their group's config within
 * seconds: each put and delete is announced on `config:worker-groups`.
 */

const union = (lists: ReadonlyArray<readonly string[]>) => [...new Set(lists.flat())].sort();

const TagPriorityRef = builder.objectRef<WorkerGroupConfig['tagPriorities'][number]>('TagPriority').implement({
  description: 'How eagerly a group claims runs of one tag: higher first.',
  fields: (t) => ({ tag: t.exposeString('tag'), priority: t.exposeInt('priority') }),
});

const WorkerGroupConfigRef = builder.objectRef<WorkerGroupConfig>('WorkerGroupConfig').implement({
  description: 'A worker group\'s stored config, followed by its running runners.',
  fields: (t) => ({
    tags: t.exposeStringList('tags', {
      description: 'When not empty, the group\'s runners listen to these, plus the tags they set themselves with WORKER_TAGS.',
    }),
    tagPriorities: t.field({
      type: [TagPriorityRef],
      description: 'Runs of higher-priority tags are claimed first; a tag not listed has 0.',
      resolve: (config) => [...config.tagPriorities],
    }),
    dedicatedHandler: t.exposeString('dedicatedHandler', {
      nullable: true,
      description: 'When set, the group\'s runners register and claim only this handler.',
    }),
    initCommand: t.exposeString('initCommand', {
      nullable: true,
      description: 'Run once by each runner at start, before claiming, where its config allows it (RUNNER_ALLOW_INIT_COMMAND).',
    }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});

WorkerGroupRef.implement({
  description: 'Runners that share a worker group (WORKER_GROUP), with the config stored for the group.',
  fields: (t) => ({
    name: t.exposeString('name'),
    cluster: t.string({
      nullable: true,
      deprecationReason: 'A group may span clusters; use `clusters`, or list the groups of one cluster.',
      description: 'The cluster this view is limited to, else the one cluster of its live runners; null when they span several or none run.',
      resolve: (group) => group.cluster ?? (clustersOf(group.runners).length === 1 ? clustersOf(group.runners)[0]! : null),
    }),
    clusters: t.stringList({ description: 'Clusters of its live runners.', resolve: (group) => clustersOf(group.runners) }),
    config: t.field({
      type: WorkerGroupConfigRef,
      nullable: true,
      description: 'The stored config; null when the group has none (its runners use their own tags and handlers).',
      resolve: async (group, _args, context) =>
        group.config !== undefined ? group.config : ((await context.workerGroupConfigs()).find((c) => c.name === group.name) ?? null),
    }),
    runners: t.field({ type: [RunnerRef], description: 'Its live runners.', resolve: (group) => [...group.runners] }),
    capacity: t.int({ resolve: (group) => group.runners.reduce((sum, r) => sum + r.capacity, 0) }),
    load: t.int({ resolve: (group) => group.runners.reduce((sum, r) => sum + r.load, 0) }),
    tags: t.stringList({
      description: 'Tags its live runners claim now (the config\'s, their own, or both).',
      resolve: (group) => union(group.runners.map((r) => r.tags)),
    }),
    handlers: t.stringList({
      description: 'Handlers its live runners claim now.',
      resolve: (group) => union(group.runners.map((r) => r.handlers)),
    }),
  }),
});

function clustersOf(runners: readonly RunnerView[]): string[] {
  return union(runners.map((r) => [r.cluster]));
}

/**
 * The worker groups to show, by name: those with live runners (in `cluster`, when given) and —
 * for the whole deployment only — those with a stored config and no runners.
 */
export async function workerGroupsOf(context: ApiContext, cluster: string | null = null): Promise<WorkerGroupShape[]> {
  const runners = (await context.runners()).filter((r) => cluster === null || r.cluster === cluster);
  const byName = new Map<string, RunnerView[]>();
  for (const runner of runners) byName.set(runner.group, [...(byName.get(runner.group) ?? []), runner]);
  if (cluster === null) for (const config of await context.workerGroupConfigs()) if (!byName.has(config.name)) byName.set(config.name, []);
  return [...byName.keys()].sort().map((name) => ({ name, cluster, runners: sortById(byName.get(name)!) }));
}

function sortById(runners: RunnerView[]): RunnerView[] {
  return runners.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

async function groupNamed(context: ApiContext, name: string, config?: WorkerGroupConfig | null): Promise<WorkerGroupShape> {
  const runners = sortById((await context.runners()).filter((r) => r.group === name));
  return { name, cluster: null, runners, ...(config !== undefined ? { config } : {}) };
}

builder.queryFields((t) => ({
  workerGroups: t.field({
    type: [WorkerGroupRef],
    description: 'Worker groups with a stored config or live runners; with `cluster`, those with live runners there.',
    args: { cluster: t.arg.string() },
    resolve: (_root, args, context) => workerGroupsOf(context, args.cluster ?? null),
  }),
  workerGroup: t.field({
    type: WorkerGroupRef,
    nullable: true,
    description: 'One worker group; null when it has neither a stored config nor live runners.',
    args: { name: t.arg.string({ required: true }) },
    resolve: async (_root, args, context) => {
      const config = await context.deps.catalog.getWorkerGroup(args.name);
      const group = await groupNamed(context, args.name, config);
      return config || group.runners.length > 0 ? group : null;
    },
  }),
}));

const TagPriorityInputRef = builder.inputType('TagPriorityInput', {
  fields: (t) => ({ tag: t.string({ required: true }), priority: t.int({ required: true }) }),
});

const WorkerGroupInputRef = builder.inputType('WorkerGroupInput', {
  description: 'A worker group\'s whole config: a put replaces the stored one, and omitted fields are left empty.',
  fields: (t) => ({
    name: t.string({ required: true, description: 'The group (WORKER_GROUP of its runners).' }),
    tags: t.stringList({ description: 'At most 50, in the run tag format.' }),
    tagPriorities: t.field({ type: [TagPriorityInputRef], description: 'At most 50; each tag once.' }),
    dedicatedHandler: t.string({ description: 'A handler name (`module.function`).' }),
    initCommand: t.string({ description: 'A shell command (`/bin/sh -c`), at most 8 KiB.' }),
  }),
});

const WorkerGroupMutationsRef = builder.objectRef<object>('WorkerGroupMutations').implement({
  description: 'Worker group config: `mutation { workerGroup { put(input: {name: "gpu", tags: ["gpu"]}) { name } } }`.',
  fields: (t) => ({
    put: t.field({
      type: WorkerGroupRef,
      description: 'Stores a group\'s config (replacing any); its running runners follow it within seconds.',
      args: { input: t.arg({ type: WorkerGroupInputRef, required: true }) },
      resolve: async (_ns, args, context) => {
        const { catalog, coordinator } = context.deps;
        const { name, tags, tagPriorities, dedicatedHandler, initCommand } = args.input;
        const config = await catalog.putWorkerGroup({ name, tags, tagPriorities, dedicatedHandler, initCommand });
        await coordinator.publish(WORKER_GROUPS_CHANNEL, { name: config.name });
        return groupNamed(context, config.name, config);
      },
    }),
    delete: t.boolean({
      description: 'Deletes a group\'s stored config; its runners go back to their own tags and handlers.',
      args: { name: t.arg.string({ required: true }) },
      resolve: async (_ns, args, context) => {
        const { catalog, coordinator } = context.deps;
        if (!(await catalog.deleteWorkerGroup(args.name))) {
          throw new TaskplaneError('NOT_FOUND', `no worker group config is named '${args.name}'; list them with query { workerGroups { name config { tags } } }`);
        }
        await coordinator.publish(WORKER_GROUPS_CHANNEL, { name: args.name });
        return true;
      },
    }),
  }),
});

builder.mutationFields((t) => ({
  workerGroup: t.field({ type: WorkerGroupMutationsRef, description: 'Worker group config operations.', nullable: true, resolve: () => ({}) }),
}));
