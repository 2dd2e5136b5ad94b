import { createHash, randomUUID } from 'node:crypto';
import { bucketOf } from './bucket-hash.js';

/**
 * Run ids are UUIDs, and a single-run operation must find its shard from the id alone. A root
 * run's bucket is the hash of its own id. A run inside a job gets an id drawn until it hashes to
 * the job's bucket (on average `bucketCount` draws, about 0.1 ms for 1024 buckets), so every run
 * of a job — and every lookup by id — lands on the job's shard without a directory.
 */

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isRunId(value: string): boolean {
  return UUID_PATTERN.test(value);
}

export function newRootRunId(): string {
  return randomUUID();
}

/** Draw limit: the odds of needing more are below 1e-40 for 1024 buckets. */
const MAX_DRAWS = 100_000;

export function newRunIdInJob(jobId: string, bucketCount: number): string {
  const target = bucketOf(jobId, bucketCount);
  for (let draw = 0; draw < MAX_DRAWS; draw++) {
    const id = randomUUID();
    if (bucketOf(id, bucketCount) === target) return id;
  }
  throw new Error(`could not draw a run id in bucket ${target} of ${bucketCount}`);
}

/**
 * The id of a periodic run: a name-based UUID (version 5 layout, SHA-1) of the definition name
 * and the scheduled instant, so two schedulers firing the same tick create the same id and the
 * second insert is refused.
 */
export function scheduledRunId(name: string, scheduledAt: Date): string {
  return nameBasedRunId(`taskplane:tick:${name}:${scheduledAt.toISOString()}`);
}

/**
 * The id of the run that follows `previousRunId` of continuous task `name` (or its first run, when
 * `previousRunId` is null, per definition version): two schedulers restarting the same run
 * create one successor.
 */
export function continuationRunId(name: string, previousRunId: string | null, definitionVersion: string): string {
  return nameBasedRunId(
    previousRunId === null ? `taskplane:first:${name}:${definitionVersion}` : `taskplane:after:${name}:${previousRunId}`,
  );
}

function nameBasedRunId(seed: string): string {
  const digest = createHash('sha1').update(seed).digest();
  digest[6] = (digest[6]! & 0x0f) | 0x50;
  digest[8] = (digest[8]! & 0x3f) | 0x80;
  const hex = digest.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/**
 * A name-based id inside `jobId`'s bucket: the same `seed` always gives the same id, so a write
 * that is repeated after a crash (a parent's subtasks, a flow's revert runs) inserts nothing
 * twice. Draws like `newRunIdInJob`, but from a counter appended to the seed.
 */
export function derivedRunIdInJob(seed: string, jobId: string, bucketCount: number): string {
  const target = bucketOf(jobId, bucketCount);
  for (let draw = 0; draw < MAX_DRAWS; draw++) {
    const id = nameBasedRunId(`taskplane:derived:${seed}:${draw}`);
    if (bucketOf(id, bucketCount) === target) return id;
  }
  throw new Error(`could not derive a run id in bucket ${target} of ${bucketCount}`);
}
