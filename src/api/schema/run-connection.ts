import { ValidationError } from '../../core/errors.js';
import { LIMITS } from '../../core/limits.js';
import { parseRunId, type RunFilter } from '../../core/run-input.js';
import type { Run, RunStatus } from '../../core/types.js';
import type { PageRequest } from '../../storage/contract.js';
import { builder } from '../builder.js';
import { PageInfoRef, TaskConnectionRef, TaskRef } from './refs.js';
import { TaskStatusEnum } from './task-status.js';

/**
 * Lists of runs as Relay-style connections. Pages run forward only, newest first: the store's
 * cursor records a position per shard, so a page has one `endCursor` rather than one per edge.
 */

export const DEFAULT_PAGE_SIZE = 50;

export const pageArgs = builder.args((t) => ({
  first: t.int({
    defaultValue: DEFAULT_PAGE_SIZE,
    description: `Page size, 1 to ${LIMITS.pageSize}.`,
  }),
  after: t.string({ description: '`pageInfo.endCursor` of the previous page.' }),
}));

/** Checks page arguments before any shard is asked, with the limit in the message. */
export function pageRequest(args: { first?: number | null; after?: string | null }): PageRequest {
  const first = args.first ?? DEFAULT_PAGE_SIZE;
  if (first < 1 || first > LIMITS.pageSize) {
    throw new ValidationError('first', `must be from 1 to ${LIMITS.pageSize} (the page size limit), got ${first}; page with \`after\` for more`);
  }
  return { first, after: args.after ?? null };
}

PageInfoRef.implement({
  fields: (t) => ({
    hasNextPage: t.exposeBoolean('hasNextPage'),
    endCursor: t.exposeString('endCursor', { nullable: true, description: 'Pass as `after` for the next page; null on an empty page.' }),
  }),
});

const TaskEdgeRef = builder.objectRef<{ node: Run }>('TaskEdge');

TaskEdgeRef.implement({
  fields: (t) => ({
    node: t.field({ type: TaskRef, resolve: (edge) => edge.node }),
  }),
});

TaskConnectionRef.implement({
  description: 'A page of runs, newest first.',
  fields: (t) => ({
    edges: t.field({ type: [TaskEdgeRef], resolve: (page) => page.runs.map((run) => ({ node: run })) }),
    nodes: t.field({ type: [TaskRef], resolve: (page) => page.runs }),
    pageInfo: t.field({ type: PageInfoRef, resolve: (page) => page }),
    unavailableShards: t.stringList({
      description: 'Shards that did not answer: their runs are missing from this page and show up on a later one once they answer.',
      resolve: (page) => page.unavailable,
    }),
  }),
});

export const TaskFilterInput = builder.inputType('TaskFilter', {
  description: 'Which runs to list. Fields combine with AND; `status` takes one value or a list.',
  fields: (t) => ({
    name: t.string({ description: 'Definition name (or handler name of anonymous runs).' }),
    funcName: t.string(),
    status: t.field({ type: [TaskStatusEnum] }),
    cluster: t.string({ description: 'Cluster slug.' }),
    tag: t.string(),
    jobId: t.id(),
    parentId: t.id(),
    runner: t.string({ description: 'Runner id that holds or last held the run.' }),
    createdAfter: t.field({ type: 'DateTime', description: 'Created at or after this instant.' }),
    createdBefore: t.field({ type: 'DateTime', description: 'Created before this instant.' }),
  }),
});

interface FilterArgs {
  name?: string | null;
  funcName?: string | null;
  status?: readonly RunStatus[] | null;
  cluster?: string | null;
  tag?: string | null;
  jobId?: string | number | null;
  parentId?: string | number | null;
  runner?: string | null;
  createdAfter?: Date | null;
  createdBefore?: Date | null;
}

/** The GraphQL filter as the store's `RunFilter`: nulls dropped, ids checked (the store checks the rest). */
export function toRunFilter(input: FilterArgs | null | undefined): RunFilter {
  if (!input) return {};
  const filter: RunFilter = {};
  if (input.name != null) filter.name = input.name;
  if (input.funcName != null) filter.funcName = input.funcName;
  if (input.status != null) filter.status = [...input.status];
  if (input.cluster != null) filter.cluster = input.cluster.toLowerCase();
  if (input.tag != null) filter.tag = input.tag;
  if (input.jobId != null) filter.jobId = parseRunId(String(input.jobId), 'filter.jobId');
  if (input.parentId != null) filter.parentId = parseRunId(String(input.parentId), 'filter.parentId');
  if (input.runner != null) filter.runner = input.runner;
  if (input.createdAfter != null) filter.createdAfter = input.createdAfter;
  if (input.createdBefore != null) filter.createdBefore = input.createdBefore;
  return filter;
}

builder.queryFields((t) => ({
  tasks: t.field({
    type: TaskConnectionRef,
    description: 'Runs, newest first, across all shards.',
    args: { filter: t.arg({ type: TaskFilterInput }), ...pageArgs },
    resolve: (_root, args, context) => context.deps.store.select(toRunFilter(args.filter), pageRequest(args)),
  }),
}));
