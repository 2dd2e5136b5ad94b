import { ShardUnavailableError, TaskplaneError, ValidationError } from '../core/errors.js';
import { flowRuns, orderFlow, type Flow } from '../core/flow.js';
import { LIMITS } from '../core/limits.js';
import { newRootRunId, newRunIdInJob } from '../core/run-ids.js';
import { encodePayload, newRunSchema, parseInput, type NewRun, type RunDefaults } from '../core/run-input.js';
import type { Run } from '../core/types.js';
import type { CreateResult } from './contract.js';
import { insertRuns } from './run-counts.js';
import { newRunDocument, toRun, type RunDocument } from './run-document.js';
import type { ShardSet } from './shard-set.js';

/**
 * New runs (`create`, `createMany`, `submitFlow`): every run is validated and given its ids
 * before anything is written, then all are inserted, one unordered insert per shard.
 *
 * A run lives on the shard of its job's bucket, so the id of a run that joins a job (given, or
 * drawn by storage) must route to that same bucket. A shard that is down fails only its own
 * runs (`unavailable`); the rest of a batch is written.
 */

export async function createRun(shards: ShardSet, defaults: RunDefaults, run: NewRun): Promise<Run> {
  const doc = newRunFromInput(shards, defaults, run, 'run', new Date());
  const [result] = await insertNewRuns(shards, [doc]);
  if (result?.unavailable) throw new ShardUnavailableError(result.unavailable);
  if (!result?.created) throw new TaskplaneError('CONFLICT', `run ${doc._id} already exists`);
  return toRun(doc, result.shard);
}

export async function createRuns(shards: ShardSet, defaults: RunDefaults, runs: readonly NewRun[]): Promise<CreateResult[]> {
  if (runs.length > LIMITS.createBatch) {
    throw new ValidationError('runs', `at most ${LIMITS.createBatch} runs per call, got ${runs.length}`);
  }
  const now = new Date();
  // Validate everything before writing anything.
  return insertNewRuns(shards, runs.map((input, index) => newRunFromInput(shards, defaults, input, `runs[${index}]`, now)));
}

/** A flow's steps as one new job: the first step's id is the job id. */
export async function createFlow(shards: ShardSet, defaults: RunDefaults, flow: Flow): Promise<Run[]> {
  const ordered = orderFlow(flow);
  const jobId = newRootRunId();
  const ids = ordered.map((_, i) => (i === 0 ? jobId : newRunIdInJob(jobId, shards.router.bucketCount)));
  const now = new Date();
  const docs = flowRuns(ordered, ids).map((input, i) => newRunFromInput(shards, defaults, input, `flow.steps.${ordered[i]!.step}`, now));
  const results = await insertNewRuns(shards, docs);
  const down = results.find((result) => result.unavailable !== undefined);
  if (down?.unavailable) throw new ShardUnavailableError(down.unavailable);
  return docs.map((doc, i) => toRun(doc, results[i]!.shard));
}

/** The document for one new run; `field` names it in validation errors. */
function newRunFromInput(shards: ShardSet, defaults: RunDefaults, input: NewRun, field: string, now: Date): RunDocument {
  const parsed = parseInput(newRunSchema, input, field);
  const encodedArgs = encodePayload(parsed.args === undefined ? [] : parsed.args, `${field}.args`);
  if (parsed.parentId !== undefined && parsed.jobId === undefined) {
    throw new ValidationError(`${field}.jobId`, 'is required with parentId (a subtask joins its parent’s job)');
  }
  const { router } = shards;
  const jobId = parsed.jobId ?? parsed.id ?? newRootRunId();
  const id = parsed.id ?? (parsed.jobId === undefined ? jobId : newRunIdInJob(parsed.jobId, router.bucketCount));
  const bucket = router.bucketOfJob(jobId);
  if (router.bucketOfJob(id) !== bucket) {
    throw new ValidationError(`${field}.id`, `does not route to bucket ${bucket} of job ${jobId}; omit id to let storage draw one`);
  }
  return newRunDocument({ ...parsed, args: undefined }, { id, jobId, bucket, encodedArgs, defaults, now });
}

/** One unordered insert per shard; a down shard marks its runs `unavailable` instead of failing the rest. */
async function insertNewRuns(shards: ShardSet, docs: readonly RunDocument[]): Promise<CreateResult[]> {
  const outcome = new Map<string, CreateResult>();
  const byShard = shards.groupByShard(docs, (doc) => shards.forJob(doc.jobId));
  await Promise.all(
    [...byShard].map(async ([collection, shardDocs]) => {
      const { shard } = collection;
      try {
        const { duplicates } = await insertRuns(collection, shardDocs);
        for (const { _id: id, jobId } of shardDocs) outcome.set(id, { id, jobId, shard, created: !duplicates.has(id) });
      } catch (error) {
        if (!(error instanceof ShardUnavailableError)) throw error;
        for (const { _id: id, jobId } of shardDocs) outcome.set(id, { id, jobId, shard, created: false, unavailable: shard });
      }
    }),
  );
  return docs.map((doc) => outcome.get(doc._id)!);
}
