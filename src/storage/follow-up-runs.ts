import { ShardUnavailableError, TaskplaneError } from '../core/errors.js';
import type { Run } from '../core/types.js';
import { reconcileJob, type JobShard } from './job-follow-up.js';
import { toRun, type RunDocument } from './run-document.js';
import type { RunWaiters } from './run-waiters.js';
import type { ShardCollection } from './shard-collection.js';

/**
 * Applies what final statuses mean for the rest of their jobs (`job-follow-up.ts`). A failure
 * here is left to the sweep, which finds `followUp` still set: the final status itself is
 * already written and must be reported as such. Returns, per run, the runs that followed.
 */
export async function followUpRuns(
  collection: ShardCollection,
  docs: readonly RunDocument[],
  jobShardOf: (jobId: string) => JobShard,
  waiters: RunWaiters,
): Promise<Map<string, Run[]>> {
  const related = new Map<string, Run[]>();
  const jobs = new Map(docs.map((doc) => [doc.jobId, doc._id]));
  // The runs whose ends are followed up are reported by their own results, not as related.
  const own = new Set(docs.map((doc) => doc._id));
  for (const [jobId, runId] of jobs) {
    try {
      const touched = await reconcileJob(jobShardOf(jobId), jobId);
      for (const doc of touched) waiters.wake(doc._id);
      related.set(runId, touched.filter((doc) => !own.has(doc._id)).map((doc) => toRun(doc, collection.shard)));
    } catch (error) {
      if (!(error instanceof ShardUnavailableError) && !(error instanceof TaskplaneError)) throw error;
    }
  }
  return related;
}
