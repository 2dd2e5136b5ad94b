import { hasAttemptsLeft, retryDelaySeconds } from '../core/backoff.js';
import { coerceError, ValidationError } from '../core/errors.js';
import { LIMITS } from '../core/limits.js';
import { encodePayload, parseInput, spawnRequestSchema, type SpawnRequest } from '../core/run-input.js';
import type { AttemptRecord, Lease, RunError, RunStatus } from '../core/types.js';
import type { Outcome } from './contract.js';
import type { RunDocument } from './run-document.js';
import type { RunUpdateDoc } from './shard-collection.js';

/**
 * What each change writes, decided on a snapshot of the run. Committing a write is
 * `transitions.ts`'s job; the snapshot it was decided on is what makes it safe.
 */

export function holdsLease(doc: RunDocument | undefined, lease: Lease): doc is RunDocument {
  return doc !== undefined && doc.status === 'running' && doc.attempt === lease.attempt && doc.runner === lease.runner;
}

export function toRunError(thrown: unknown): RunError {
  const error = coerceError(thrown);
  return {
    message: String(error.message).slice(0, LIMITS.errorMessageLength),
    name: String(error.name).slice(0, LIMITS.nameLength),
    stack: typeof error.stack === 'string' ? error.stack.slice(0, LIMITS.errorStackLength) : null,
  };
}

export interface RunWrite {
  readonly write: RunUpdateDoc;
  readonly status: RunStatus;
}

function ended(doc: RunDocument, now: Date, outcome: AttemptRecord['outcome'], error: RunError | null): AttemptRecord {
  return { attempt: doc.attempt, runner: doc.runner ?? '', startedAt: doc.startedAt ?? now, finishedAt: now, outcome, error };
}

function final(doc: RunDocument, now: Date, status: RunStatus & AttemptRecord['outcome'], fields: Partial<RunDocument>, error: RunError | null): RunWrite {
  const followUp = doc.linked === true || (status === 'completed' && typeof fields.spawn === 'string');
  return {
    status,
    write: {
      $set: { status, finishedAt: now, deadline: null, followUp, ...fields },
      $push: { history: ended(doc, now, status, error) },
    },
  };
}

/** Back to `pending` — unless an operator asked to stop the run, which wins over a retry. */
function backToPending(doc: RunDocument, now: Date, runAfter: Date, outcome: 'retry' | 'released', error: RunError | null, reason: string | null): RunWrite {
  if (doc.stopRequested) return final(doc, now, 'stopped', { error, reason: doc.reason ?? 'stopped by operator' }, error);
  return {
    status: 'pending',
    write: {
      $set: { status: 'pending', runAfter, deadline: null, error, reason },
      $push: { history: ended(doc, now, outcome, error) },
      ...(outcome === 'released' ? { $inc: { attempt: -1 } } : {}),
    },
  };
}

/** How the running attempt in `doc` ends with `outcome`. */
export function settlementWrite(doc: RunDocument, outcome: Outcome, now: Date): RunWrite {
  switch (outcome.status) {
    case 'completed': {
      let result: string;
      let spawn: string | null = null;
      try {
        result = encodePayload(outcome.result ?? null, 'result');
        if (outcome.spawn && outcome.spawn.length > 0) spawn = encodeSpawn(outcome.spawn);
      } catch (error) {
        if (!(error instanceof ValidationError)) throw error;
        return settlementWrite(doc, { status: 'failed', error }, now);
      }
      return final(doc, now, 'completed', { result, spawn, stopRequested: false }, null);
    }
    case 'failed':
    case 'lost': {
      const error = outcome.status === 'failed' ? toRunError(outcome.error) : null;
      const reason =
        outcome.status === 'lost'
          ? (outcome.reason ?? `lease expired: runner ${doc.runner} did not renew within ${doc.timeToResolve} s`)
          : null;
      if (hasAttemptsLeft(doc.attempt, doc.maxAttempts)) {
        const waitMs = retryDelaySeconds(doc.delay, doc.delayFactor, doc.attempt) * 1000;
        return backToPending(doc, now, new Date(now.getTime() + waitMs), 'retry', error, reason);
      }
      return final(doc, now, outcome.status, { error, reason }, error);
    }
    case 'stopped':
      return final(doc, now, 'stopped', { reason: outcome.reason ?? doc.reason ?? 'stopped by operator' }, null);
    case 'released':
      return backToPending(doc, now, now, 'released', null, 'handed back by its runner at shutdown');
  }
}

/** A run claimed ahead of its due time (a runner's lookahead) starts, and its lease counts, from then. */
export function claimWrite(doc: RunDocument, runnerId: string, now: Date): RunUpdateDoc {
  const startedAt = doc.runAfter > now ? doc.runAfter : now;
  return {
    $set: {
      status: 'running',
      runner: runnerId,
      startedAt,
      deadline: new Date(startedAt.getTime() + doc.timeToResolve * 1000),
      stopRequested: false,
    },
    $inc: { attempt: 1 },
  };
}

export function renewWrite(doc: RunDocument, now: Date): RunUpdateDoc {
  return { $set: { deadline: new Date(now.getTime() + doc.timeToResolve * 1000) } };
}

/** Subtasks travel with their parent's completion, so they exist exactly when it completed. */
function encodeSpawn(spawn: readonly SpawnRequest[]): string {
  if (spawn.length > LIMITS.flowSteps) throw new ValidationError('spawn', `at most ${LIMITS.flowSteps} subtasks per run, got ${spawn.length}`);
  const checked = spawn.map((request, index) => {
    const parsed = parseInput(spawnRequestSchema, request, `spawn[${index}]`);
    if (parsed.dependsOn.some((dep) => dep >= index)) {
      throw new ValidationError(`spawn[${index}].dependsOn`, 'may only name subtasks spawned before this one');
    }
    return parsed;
  });
  return encodePayload(checked, 'spawn');
}

/** A finished run back to `pending`; `blocked` when one of its dependencies has not completed. */
export function retryWrite(doc: RunDocument, now: Date, blocked = false): RunUpdateDoc {
  return {
    $set: {
      blocked,
      followUp: false,
      spawn: null,
      status: 'pending',
      attempt: 0,
      runAfter: now,
      expiresAt: new Date(now.getTime() + doc.timeout * 1000),
      result: null,
      error: null,
      startedAt: null,
      finishedAt: null,
      deadline: null,
      stopRequested: false,
      reason: 'retried by operator',
    },
  };
}

export function expiryWrite(doc: RunDocument, now: Date): RunUpdateDoc {
  return { $set: { status: 'did not start', finishedAt: now, reason: 'still pending at its expiry timeout', followUp: doc.linked === true } };
}

/** A pending run ends `stopped` without having run (an operator's stop, a cancelled job, a failed dependency). */
export function stopPendingWrite(doc: RunDocument, now: Date, reason: string): RunUpdateDoc {
  return { $set: { status: 'stopped', finishedAt: now, reason, followUp: doc.linked === true } };
}
