import { requireCluster } from '../../catalog/require-cluster.js';
import { withoutNulls } from '../without-nulls.js';
import type { InputFieldBuilder } from '@pothos/core';
import type { Catalog } from '../../catalog/contract.js';
import type { DefinitionInput, TaskDefinition } from '../../core/definition.js';
import { TaskplaneError } from '../../core/errors.js';
import { TASK_KINDS, type JsonValue } from '../../core/types.js';
import { builder } from '../builder.js';
import { nextFireAt } from '../next-fire.js';
import { TaskConnectionRef, TaskDefinitionRef, TaskMutationsRef, TaskRef } from './refs.js';
import { pageArgs, pageRequest } from './run-connection.js';
import { StatusCountsRef } from './statistics.js';
import { enumName, HandlerRuntimeEnum, TaskStatusEnum } from './task-status.js';

/** Task definitions: list them with their next fire time, last run and counts; define, update, remove. */

const DefinitionKindEnum = builder.enumType('DefinitionKind', {
  values: Object.fromEntries(TASK_KINDS.map((kind) => [enumName(kind), { value: kind }])) as Record<string, { value: (typeof TASK_KINDS)[number] }>,
});

const DefinitionSourceEnum = builder.enumType('DefinitionSource', {
  values: {
    CONFIG: { value: 'config', description: 'From the config file; replaced on reload, changed only there.' },
    API: { value: 'api', description: 'Defined through the API; kept until removed.' },
  } as const,
});

TaskDefinitionRef.implement({
  description: 'A registered task. Launching it (`task { start(name) }`, or its schedule) creates a run.',
  fields: (t) => ({
    name: t.exposeString('name'),
    kind: t.field({ type: DefinitionKindEnum, resolve: (def) => def.kind }),
    funcName: t.exposeString('funcName'),
    args: t.expose('args', { type: 'JSON', nullable: true }),
    schedule: t.exposeString('schedule', { nullable: true, description: 'Cron with seconds (PERIODICAL only).' }),
    pauseSec: t.exposeFloat('pauseSec', { description: 'CONTINUOUS only: seconds between the end of one run and the next.' }),
    timeToResolve: t.exposeFloat('timeToResolve', { nullable: true, description: 'Null: the storage default (task_ttr).' }),
    maxAttempts: t.exposeInt('maxAttempts', { nullable: true }),
    delay: t.exposeFloat('delay', { nullable: true }),
    delayFactor: t.exposeFloat('delayFactor', { nullable: true }),
    timeout: t.exposeFloat('timeout', { nullable: true }),
    priority: t.exposeInt('priority'),
    cluster: t.exposeString('cluster'),
    tag: t.exposeString('tag', { nullable: true, description: 'May hold `$args[name]` placeholders.' }),
    runtime: t.field({ type: HandlerRuntimeEnum, nullable: true, description: "Null: the runner's default (`task_runner.runtime`).", resolve: (def) => def.runtime }),
    runTimeout: t.exposeFloat('runTimeout', { nullable: true, description: "Seconds one attempt may run before its handler is aborted. Null: the runner's default (`task_runner.run_timeout`, 3600)." }),
    source: t.field({ type: DefinitionSourceEnum, resolve: (def) => def.source }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
    nextFireAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'When the schedule fires next (PERIODICAL only).',
      resolve: (def) => (def.schedule === null ? null : nextFireAt(def.schedule)),
    }),
    lastRun: t.field({
      type: TaskRef,
      nullable: true,
      description: 'Its newest run.',
      resolve: async (def, _args, context) => (await context.deps.store.select({ name: def.name }, { first: 1 })).runs[0] ?? null,
    }),
    counts: t.field({
      type: StatusCountsRef,
      nullable: true,
      description: 'Its runs by status; null when it has none.',
      resolve: async (def, _args, context) =>
        (await context.statistics({ groupBy: 'name' })).groups.find((g) => g.key === def.name)?.counts ?? null,
    }),
    runs: t.field({
      type: TaskConnectionRef,
      args: { status: t.arg({ type: [TaskStatusEnum] }), ...pageArgs },
      resolve: (def, args, context) =>
        context.deps.store.select({ name: def.name, ...(args.status ? { status: [...args.status] } : {}) }, pageRequest(args)),
    }),
  }),
});

builder.queryFields((t) => ({
  taskDefinitions: t.field({
    type: [TaskDefinitionRef],
    resolve: async (_root, _args, context) => [...(await context.definitions())].sort((a, b) => (a.name < b.name ? -1 : 1)),
  }),
  taskDefinition: t.field({
    type: TaskDefinitionRef,
    nullable: true,
    args: { name: t.arg.string({ required: true }) },
    resolve: (_root, args, context) => context.deps.catalog.getDefinition(args.name),
  }),
}));

/** Fields a definition input and patch share; `null` in a patch resets the field to its default. */
const definitionFields = (t: InputFieldBuilder<typeof builder.$inferSchemaTypes, 'InputObject'>) => ({
  funcName: t.string(),
  args: t.field({ type: 'JSON', description: 'Passed to the handler on launches that give none. Default `[]`.' }),
  schedule: t.string({ description: 'Cron with seconds, e.g. `*/5 * * * * *` (PERIODICAL only).' }),
  pauseSec: t.float(),
  timeToResolve: t.float(),
  maxAttempts: t.int(),
  delay: t.float(),
  delayFactor: t.float(),
  timeout: t.float(),
  priority: t.int(),
  cluster: t.string({ description: 'Cluster slug. Default `default`.' }),
  tag: t.string(),
  runtime: t.field({ type: HandlerRuntimeEnum, description: "Where the handler runs. Default: the runner's (`task_runner.runtime`)." }),
  runTimeout: t.float({ description: "Seconds one attempt may run before its handler is aborted. Default: the runner's (`task_runner.run_timeout`)." }),
});

const DefinitionInputRef = builder.inputType('TaskDefinitionInput', {
  fields: (t) => ({
    name: t.string({ required: true }),
    kind: t.field({ type: DefinitionKindEnum, required: true }),
    ...definitionFields(t),
    funcName: t.string({ required: true }),
  }),
});

const DefinitionPatchRef = builder.inputType('TaskDefinitionPatch', {
  description: 'Fields to change. An omitted field keeps its value; `null` resets it to the default.',
  fields: (t) => ({ kind: t.field({ type: DefinitionKindEnum }), ...definitionFields(t) }),
});

const PATCHABLE = ['kind', 'funcName', 'args', 'schedule', 'pauseSec', 'timeToResolve', 'maxAttempts', 'delay', 'delayFactor', 'timeout', 'priority', 'cluster', 'tag', 'runtime', 'runTimeout'] as const;

/** The input that would store `def` again (its defaults left out, so a patch can reset them). */
function inputOf(def: TaskDefinition): Record<string, unknown> {
  const input: Record<string, unknown> = { name: def.name, kind: def.kind, funcName: def.funcName, args: def.args, priority: def.priority, cluster: def.cluster };
  for (const key of ['schedule', 'timeToResolve', 'maxAttempts', 'delay', 'delayFactor', 'timeout', 'tag', 'runtime', 'runTimeout'] as const) {
    if (def[key] !== null) input[key] = def[key];
  }
  if (def.kind === 'continuous') input['pauseSec'] = def.pauseSec;
  return input;
}

async function checkCluster(catalog: Catalog, slug: unknown): Promise<void> {
  if (typeof slug === 'string') await requireCluster(catalog, slug, 'input.cluster');
}

async function apiOwned(catalog: Catalog, name: string, operation: string): Promise<TaskDefinition | null> {
  const existing = await catalog.getDefinition(name);
  if (existing?.source === 'config') {
    throw new TaskplaneError('CONFLICT', `cannot ${operation} task '${name}': it comes from the config file; change it there and reload the config`);
  }
  return existing;
}

builder.objectFields(TaskMutationsRef, (t) => ({
  define: t.field({
    type: TaskDefinitionRef,
    description: 'Registers a task definition, or replaces an API-defined one of the same name.',
    args: { input: t.arg({ type: DefinitionInputRef, required: true }) },
    resolve: async (_ns, args, context) => {
      const { catalog } = context.deps;
      const input = withoutNulls({ ...args.input, args: args.input.args as JsonValue | null }) as DefinitionInput;
      await apiOwned(catalog, input.name, 'redefine');
      await checkCluster(catalog, input.cluster);
      return catalog.putDefinition(input, 'api');
    },
  }),
  update: t.field({
    type: TaskDefinitionRef,
    description: 'Changes fields of an API-defined task definition.',
    args: { name: t.arg.string({ required: true }), patch: t.arg({ type: DefinitionPatchRef, required: true }) },
    resolve: async (_ns, args, context) => {
      const { catalog } = context.deps;
      const existing = await apiOwned(catalog, args.name, 'update');
      if (!existing) throw new TaskplaneError('NOT_FOUND', `no task definition is named '${args.name}'`);
      const merged = inputOf(existing);
      const patch = args.patch as Record<string, unknown>;
      for (const key of PATCHABLE) if (patch[key] !== undefined) merged[key] = patch[key];
      // A change of kind drops what only the old kind has, unless the patch sets it.
      if (patch['kind'] != null && patch['kind'] !== existing.kind) {
        if (patch['kind'] !== 'periodical' && patch['schedule'] === undefined) delete merged['schedule'];
        if (patch['kind'] !== 'continuous' && patch['pauseSec'] === undefined) delete merged['pauseSec'];
      }
      const input = withoutNulls(merged) as DefinitionInput;
      if (patch['cluster'] != null) await checkCluster(catalog, input.cluster);
      return catalog.putDefinition(input, 'api');
    },
  }),
  remove: t.boolean({
    description: 'Removes an API-defined task definition. Its runs stay.',
    args: { name: t.arg.string({ required: true }) },
    resolve: async (_ns, args, context) => {
      const { catalog } = context.deps;
      await apiOwned(catalog, args.name, 'remove');
      if (!(await catalog.removeDefinition(args.name))) throw new TaskplaneError('NOT_FOUND', `no task definition is named '${args.name}'`);
      return true;
    },
  }),
}));

const ApplyResultRef = builder.objectRef<{ added: string[]; updated: string[]; removed: string[]; unchanged: string[] }>('DefinitionApplyResult');
ApplyResultRef.implement({
  description: 'What `applyConfig` changed, by task name.',
  fields: (t) => ({
    added: t.exposeStringList('added'),
    updated: t.exposeStringList('updated', { description: 'Changed, or taken over from the API (the file is the authority).' }),
    removed: t.exposeStringList('removed', { description: 'Config-file definitions no longer in the file.' }),
    unchanged: t.exposeStringList('unchanged'),
  }),
});

builder.objectFields(TaskMutationsRef, (t) => ({
  applyConfig: t.field({
    type: ApplyResultRef,
    description:
      "Makes the config-file definitions exactly these, as a scheduler node does with its file's `tasks:` at start and on SIGHUP " +
      '(`taskplane config apply FILE` sends them here). All are checked before any is written. API-defined definitions stay, ' +
      'except one of the same name, which the file takes over. Scheduler nodes apply their own file again when they start: keep it in step.',
    args: { definitions: t.arg({ type: [DefinitionInputRef], required: true }) },
    resolve: async (_ns, args, context) => {
      const { catalog, coordinator } = context.deps;
      const inputs = args.definitions.map((input) => withoutNulls({ ...input, args: input.args as JsonValue | null }) as DefinitionInput);
      for (const input of inputs) await checkCluster(catalog, input.cluster);
      const result = await catalog.applyConfigDefinitions(inputs);
      // Schedulers also poll the catalog's version; the message makes the change take effect at once.
      if (result.added.length + result.updated.length + result.removed.length > 0) await coordinator.publish('definitions', { reason: 'config apply' });
      return result;
    },
  }),
}));
