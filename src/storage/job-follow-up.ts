import { TaskplaneError } from '../core/errors.js';
import { LIMITS } from '../core/limits.js';
import { derivedRunIdInJob } from '../core/run-ids.js';
import { encodePayload, type RunDefaults, type SpawnRequest } from '../core/run-input.js';
import { isFinalStatus, type JsonValue } from '../core/types.js';
import { newRunDocument, type RunDocument } from './run-document.js';
import { stopPendingWrite } from './run-writes.js';
import type { RunUpdateDoc, ShardCollection } from './shard-collection.js';
import { insertRuns } from './run-counts.js';
import { commitChanges, MAX_ROUNDS, type Change } from './transitions.js';

/**
 * Jobs: what one run's end means for the other runs of its job.
 *
 * A run whose end matters to others is `linked` (it has dependents, or its flow has revert
 * steps), or carries `spawn` (subtasks its completed attempt queued). Its final write — the
 * same single-document write that records its status — also sets `followUp: true`. Then
 * `reconcileJob` brings the job in line, on a fresh read of all its runs:
 *
 * 1. subtasks of completed runs are inserted, with ids derived from (parent, index), so a
 *    repeated insert creates nothing twice;
 * 2. a blocked run whose dependencies all completed is unblocked, with their results as its
 *    `inputs`; one whose dependency ended otherwise is `stopped` (reason recorded), and so on
 *    down the graph;
 * 3. a failed flow (nothing live, a step not completed, not cancelled) gets revert runs for its
 *    completed steps that name a revert handler, newest completion first, each waiting for the
 *    one before;
 * 4. `followUp` is cleared on the runs whose consequences were applied.
 *
 * Every write goes through revision markers (`transitions.ts`), so two runners finishing steps
 * of one job at once cannot both unblock or stop the same run; a lost race re-reads and decides
 * again. Each step is idempotent, so a writer that dies half-way leaves `followUp: true`
 * behind, and the storage sweep runs `reconcileJob` again for it. Ordinary runs (no
 * dependencies, no subtasks) never pay for any of this.
 */

/** The reason a run of a cancelled job carries; it also tells a cancelled job from a failed one. */
export const JOB_CANCELLED = 'job cancelled';

export interface JobShard {
  readonly collection: ShardCollection;
  readonly bucketCount: number;
  readonly defaults: RunDefaults;
}

/** Reads every run of a job (bounded by `LIMITS.jobRuns`). */
export function readJob(shard: JobShard, jobId: string): Promise<RunDocument[]> {
  return shard.collection.find({ jobId }, { limit: LIMITS.jobRuns });
}

/**
 * Applies the consequences of the job's final statuses (see the top of this file). Returns the
 * runs it created or changed, as written.
 */
export async function reconcileJob(shard: JobShard, jobId: string): Promise<RunDocument[]> {
  const touched = new Map<string, RunDocument>();
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const now = new Date();
    let runs = await readJob(shard, jobId);
    const created = await insertSubtasks(shard, runs, now);
    if (created.length > 0) {
      for (const doc of created) touched.set(doc._id, doc);
      runs = await readJob(shard, jobId);
    }
    const changes = decideJob(shard, runs, now);
    if (changes.changes.length === 0 && changes.reverts.length === 0) return [...touched.values()];
    if (changes.reverts.length > 0) {
      const { duplicates } = await insertRuns(shard.collection, changes.reverts);
      for (const doc of changes.reverts) if (!duplicates.has(doc._id)) touched.set(doc._id, doc);
    }
    const { committed, conflicted } = await commitChanges(shard.collection, changes.changes, now);
    for (const doc of committed) touched.set(doc._id, doc);
    if (conflicted.length === 0) return [...touched.values()];
  }
  throw new TaskplaneError('CONFLICT', `job ${jobId} kept changing while its follow-ups were applied; the storage sweep retries`);
}

/** Inserts the subtasks of completed runs that still carry them; returns those actually created. */
async function insertSubtasks(shard: JobShard, runs: readonly RunDocument[], now: Date): Promise<RunDocument[]> {
  const docs = runs.filter((run) => run.status === 'completed' && typeof run.spawn === 'string').flatMap((parent) => subtasksOf(shard, parent, now));
  if (docs.length === 0) return [];
  const { duplicates } = await insertRuns(shard.collection, docs);
  return docs.filter((doc) => !duplicates.has(doc._id));
}

function subtasksOf(shard: JobShard, parent: RunDocument, now: Date): RunDocument[] {
  const requests = JSON.parse(parent.spawn!) as SpawnRequest[];
  const ids = requests.map((_, index) => derivedRunIdInJob(`spawn:${parent._id}:${index}`, parent.jobId, shard.bucketCount));
  const hasDependents = new Set(requests.flatMap((request) => request.dependsOn));
  return requests.map((request, index) =>
    newRunDocument(
      {
        funcName: request.funcName,
        cluster: request.cluster ?? parent.cluster,
        ...(request.tag !== undefined ? { tag: request.tag } : {}),
        ...(request.step !== undefined ? { step: request.step } : {}),
        ...(request.priority !== undefined ? { priority: request.priority } : {}),
        ...(request.maxAttempts !== undefined ? { maxAttempts: request.maxAttempts } : {}),
        ...(request.timeToResolve !== undefined ? { timeToResolve: request.timeToResolve } : {}),
        ...(request.timeout !== undefined ? { timeout: request.timeout } : {}),
        ...(request.runtime !== undefined ? { runtime: request.runtime } : {}),
        ...(request.runTimeout !== undefined ? { runTimeout: request.runTimeout } : {}),
        parentId: parent._id,
        jobId: parent.jobId,
        dependsOn: request.dependsOn.map((dep) => ids[dep]!),
        linked: hasDependents.has(index),
      },
      {
        id: ids[index]!,
        jobId: parent.jobId,
        bucket: parent.bucket,
        encodedArgs: encodePayload(request.args ?? [], `spawn[${index}].args`),
        defaults: shard.defaults,
        now,
      },
    ),
  );
}

interface JobDecision {
  readonly changes: Change[];
  readonly reverts: RunDocument[];
}

/** What the job's runs should become, decided on one snapshot of them. */
function decideJob(shard: JobShard, runs: readonly RunDocument[], now: Date): JobDecision {
  const byId = new Map(runs.map((run) => [run._id, run]));
  // Statuses as the decided changes leave them, so a stop travels down the graph in one pass.
  const status = new Map(runs.map((run) => [run._id, run.status]));
  const writes = new Map<string, RunUpdateDoc>();
  // A dependency that is gone (forgotten, trimmed) had completed: only finished runs are deleted.
  const statusOf = (id: string) => status.get(id) ?? 'completed';

  for (let changed = true; changed; ) {
    changed = false;
    for (const run of runs) {
      if (status.get(run._id) !== 'pending' || !run.blocked || writes.has(run._id)) continue;
      const ended = run.dependsOn.find((dep) => isFinalStatus(statusOf(dep)) && statusOf(dep) !== 'completed');
      if (ended !== undefined) {
        const dep = byId.get(ended);
        writes.set(run._id, stopPendingWrite(run, now, `dependency ${dep?.step ?? ended} ended ${statusOf(ended)}`));
        status.set(run._id, 'stopped');
        changed = true;
      } else if (run.dependsOn.every((dep) => statusOf(dep) === 'completed')) {
        writes.set(run._id, { $set: { blocked: false, runAfter: now, inputs: inputsOf(run, byId) } });
      }
    }
  }
  for (const run of runs) {
    if (run.followUp && isFinalStatus(run.status) && !writes.has(run._id)) {
      writes.set(run._id, { $set: { followUp: false, spawn: null } });
    }
  }
  const changes = [...writes].map(([id, write]) => ({ doc: byId.get(id)!, write: addFollowUpClear(byId.get(id)!, write) }));
  return { changes, reverts: revertsOf(shard, runs, status, now) };
}

/** A run whose own follow-up is due keeps `followUp` only if its new write sets it again. */
function addFollowUpClear(run: RunDocument, write: RunUpdateDoc): RunUpdateDoc {
  if (!run.followUp || write.$set?.followUp !== undefined) return write;
  return { ...write, $set: { ...write.$set, followUp: false, spawn: null } };
}

function inputsOf(run: RunDocument, byId: ReadonlyMap<string, RunDocument>): string {
  const inputs: Record<string, JsonValue> = {};
  for (const id of run.dependsOn) {
    const dep = byId.get(id);
    inputs[dep?.step ?? id] = dep?.result ? (JSON.parse(dep.result) as JsonValue) : null;
  }
  return JSON.stringify(inputs);
}

/**
 * Revert runs for a failed flow: one per completed step with a revert handler, newest
 * completion first, each waiting for the previous one. Ids derive from (step, its completion),
 * so a step is reverted once per completion however often this is decided.
 */
function revertsOf(shard: JobShard, runs: readonly RunDocument[], status: ReadonlyMap<string, string>, now: Date): RunDocument[] {
  const steps = runs.filter((run) => run.revertOf === null);
  if (!steps.some((run) => run.revert !== null)) return [];
  const live = steps.some((run) => status.get(run._id) === 'pending' || status.get(run._id) === 'running');
  const failed = steps.some((run) => status.get(run._id) !== 'completed');
  const cancelled = runs.some((run) => run.reason === JOB_CANCELLED);
  if (live || !failed || cancelled) return [];
  const toUndo = steps
    .filter((run) => run.status === 'completed' && run.revert !== null)
    .sort((a, b) => (b.finishedAt?.getTime() ?? 0) - (a.finishedAt?.getTime() ?? 0));
  const existing = new Set(runs.map((run) => run._id));
  let previous: string | null = null;
  const reverts = toUndo.map((step) => {
    const id = derivedRunIdInJob(`revert:${step._id}:${step.finishedAt?.getTime() ?? 0}`, step.jobId, shard.bucketCount);
    const args = `{"args":${step.args},"result":${step.result ?? 'null'}}`;
    const doc = newRunDocument(
      {
        funcName: step.revert!,
        name: `${step.name}:revert`,
        step: `revert:${step.step ?? step._id}`,
        cluster: step.cluster,
        tag: step.tag,
        jobId: step.jobId,
        parentId: step._id,
        revertOf: step._id,
        dependsOn: previous === null ? [] : [previous],
        linked: true,
      },
      { id, jobId: step.jobId, bucket: step.bucket, encodedArgs: args, defaults: shard.defaults, now },
    );
    previous = id;
    return doc;
  });
  return reverts.filter((doc) => !existing.has(doc._id));
}
