import type { Cluster, WorkerGroupConfig } from '../../catalog/contract.js';
import type { LeaseInfo } from '../../coordination/contract.js';
import type { TaskDefinition } from '../../core/definition.js';
import type { AttemptRecord, Run } from '../../core/types.js';
import type { JobSummary, RunPage, Statistics, StatisticsQuery } from '../../storage/contract.js';
import { builder } from '../builder.js';
import type { NodeView, RunnerView } from '../registry.js';

/**
 * Object refs shared across the domain files. Types refer to each other in circles (a task has a
 * job, a job has tasks), so each ref is declared here once and implemented in its own file.
 */

/** One run. Named `Task` as in the Tarantool API (`task(id)`, `tasks`, `TaskStatus`). */
export const TaskRef = builder.loadableObjectRef('Task', {
  load: (ids: string[], context) => context.loadRuns(ids),
  // Runs that arrive whole (from a page or a mutation) seed the loader, so `parent` and `job.root`
  // of runs on the same page cost nothing.
  cacheResolved: (run: Run) => run.id,
});

export const AttemptRef = builder.objectRef<AttemptRecord>('Attempt');
export const TaskConnectionRef = builder.objectRef<RunPage>('TaskConnection');
export const PageInfoRef = builder.objectRef<RunPage>('PageInfo');

export interface JobShape {
  readonly id: string;
  /** The job's summary, read once per Job object however many of its fields are selected. */
  summary?: Promise<JobSummary | null>;
}
export const JobRef = builder.objectRef<JobShape>('Job');

export interface ShardShape {
  readonly name: string;
}
export const ShardRef = builder.objectRef<ShardShape>('Shard');

export const RunnerRef = builder.objectRef<RunnerView>('Runner');
export const NodeRef = builder.objectRef<NodeView>('Node');
export const LeaseRef = builder.objectRef<LeaseInfo>('Lease');

export interface WorkerGroupShape {
  readonly name: string;
  /** The cluster this view is limited to (its runners there), or null for the whole group. */
  readonly cluster: string | null;
  readonly runners: readonly RunnerView[];
  /** The stored config when already read (a mutation's answer); otherwise loaded per request. */
  readonly config?: WorkerGroupConfig | null;
}
export const WorkerGroupRef = builder.objectRef<WorkerGroupShape>('WorkerGroup');
export const ClusterRef = builder.objectRef<Cluster>('Cluster');

export const TaskDefinitionRef = builder.objectRef<TaskDefinition>('TaskDefinition');

/** Counts as the store returns them, with the query that produced them (for lazy grouped counts). */
export interface StatisticsShape {
  readonly query: StatisticsQuery;
  readonly result: Statistics;
}
export const StatisticsRef = builder.objectRef<StatisticsShape>('Statistics');

/** Namespaces for mutations (`mutation { task { start(…) } }`): their fields do the work. */
export const TaskMutationsRef = builder.objectRef<object>('TaskMutations');
export const ClusterMutationsRef = builder.objectRef<object>('ClusterMutations');
