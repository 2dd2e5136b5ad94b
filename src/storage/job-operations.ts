import { TaskplaneError } from '../core/errors.js';
import { isFinalStatus } from '../core/types.js';
import type { JobStatus, JobSummary } from './contract.js';
import { JOB_CANCELLED, readJob, reconcileJob, type JobShard } from './job-follow-up.js';
import type { RunDocument } from './run-document.js';
import { retryWrite, stopPendingWrite } from './run-writes.js';
import { commitChanges, MAX_ROUNDS, type Change } from './transitions.js';
import { emptyCounts } from './upkeep.js';

/**
 * Job-wide operations: a job's summary, cancelling it, retrying it. A whole job lives on one
 * shard, so each is one read of the job's runs and one commit on that shard, then
 * `reconcileJob` for what follows (dependents stopped or unblocked).
 */

export async function summarizeJob(shard: JobShard, jobId: string): Promise<JobSummary | null> {
  const runs = await readJob(shard, jobId);
  if (runs.length === 0) return null;
  const counts = emptyCounts();
  let firstStartedAt: Date | null = null;
  let lastFinishedAt: Date | null = null;
  for (const run of runs) {
    counts[run.status]++;
    counts.total++;
    if (run.startedAt && (!firstStartedAt || run.startedAt < firstStartedAt)) firstStartedAt = run.startedAt;
    if (run.finishedAt && (!lastFinishedAt || run.finishedAt > lastFinishedAt)) lastFinishedAt = run.finishedAt;
  }
  const live = counts.pending + counts.running;
  return {
    jobId,
    shard: shard.collection.shard,
    status: jobStatus(runs, live),
    counts,
    firstStartedAt,
    lastFinishedAt: live > 0 ? null : lastFinishedAt,
  };
}

function jobStatus(runs: readonly RunDocument[], live: number): JobStatus {
  if (runs.some((run) => run.reason === JOB_CANCELLED)) return 'cancelled';
  if (live > 0) return runs.some((run) => run.startedAt !== null || isFinalStatus(run.status)) ? 'running' : 'submitted';
  return runs.every((run) => run.status === 'completed') ? 'completed' : 'failed';
}

/**
 * Pending runs → `stopped`, running ones → stop requested (their runners abort the handlers),
 * all with reason `job cancelled`. Returns the runs written and the ids asked to stop.
 */
export async function cancelJob(shard: JobShard, jobId: string): Promise<{ changed: RunDocument[]; stopping: string[] }> {
  return commitJobChanges(shard, jobId, (runs, now) => {
    const live = runs.filter((run) => run.status === 'pending' || (run.status === 'running' && !run.stopRequested));
    if (live.length === 0 && !runs.some((run) => run.status === 'running')) {
      throw new TaskplaneError('CONFLICT', `job ${jobId} has no pending or running runs to cancel`);
    }
    return live.map((run) => ({
      doc: run,
      write: run.status === 'pending' ? stopPendingWrite(run, now, JOB_CANCELLED) : { $set: { stopRequested: true, reason: JOB_CANCELLED } },
    }));
  });
}

/**
 * Re-queues the job's runs that ended without completing (not its revert runs) with a fresh
 * attempt budget; a run whose dependency is re-queued too waits for it again. Completed runs
 * stay done, so the job resumes where it stopped.
 */
export async function retryJob(shard: JobShard, jobId: string): Promise<{ changed: RunDocument[]; stopping: string[] }> {
  return commitJobChanges(shard, jobId, (runs, now) => {
    const again = runs.filter((run) => isFinalStatus(run.status) && run.status !== 'completed' && run.revertOf === null);
    if (again.length === 0) throw new TaskplaneError('CONFLICT', `job ${jobId} has no failed, lost, stopped or expired runs to retry`);
    const requeued = new Set(again.map((run) => run._id));
    const status = new Map(runs.map((run) => [run._id, run.status]));
    return again.map((run) => {
      const blocked = run.dependsOn.some((dep) => requeued.has(dep) || (status.get(dep) ?? 'completed') !== 'completed');
      const write = retryWrite(run, now, blocked);
      return { doc: run, write: { ...write, $set: { ...write.$set, reason: 'job retried by operator', inputs: blocked ? null : run.inputs } } };
    });
  });
}

/**
 * Decides on a fresh read of the job and commits; runs another writer moved first are read and
 * decided again (only those: what was committed stays committed).
 */
async function commitJobChanges(
  shard: JobShard,
  jobId: string,
  decide: (runs: RunDocument[], now: Date) => Change[],
): Promise<{ changed: RunDocument[]; stopping: string[] }> {
  const committed: RunDocument[] = [];
  let only: Set<string> | null = null;
  for (let round = 0; ; round++) {
    if (round === MAX_ROUNDS) throw new TaskplaneError('CONFLICT', `job ${jobId} kept changing; try again`);
    const now = new Date();
    const runs = await readJob(shard, jobId);
    if (runs.length === 0) throw new TaskplaneError('NOT_FOUND', `no run of job ${jobId} exists`);
    const scope = only;
    const changes = scope === null ? decide(runs, now) : safeDecide(decide, runs, now).filter((change) => scope.has(change.doc._id));
    const result = await commitChanges(shard.collection, changes, now);
    committed.push(...result.committed);
    if (result.conflicted.length === 0) break;
    only = new Set(result.conflicted.map((doc) => doc._id));
  }
  const followed = await reconcileJob(shard, jobId);
  const changed = new Map([...committed, ...followed].map((doc) => [doc._id, doc]));
  const stopping = committed.filter((doc) => doc.status === 'running').map((doc) => doc._id);
  return { changed: [...changed.values()], stopping };
}

/** A later round may find nothing left to do: that is not an error then. */
function safeDecide(decide: (runs: RunDocument[], now: Date) => Change[], runs: RunDocument[], now: Date): Change[] {
  try {
    return decide(runs, now);
  } catch (error) {
    if (error instanceof TaskplaneError && error.code === 'CONFLICT') return [];
    throw error;
  }
}
