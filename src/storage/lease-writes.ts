import { hasAttemptsLeft, retryDelaySeconds } from '../core/backoff.js';
import { coerceError, ValidationError } from '../core/errors.js';
import { LIMITS } from '../core/limits.js';
import { encodePayload } from '../core/run-input.js';
import type { AttemptRecord, Lease, RunError, RunStatus } from '../core/types.js';
import type { Outcome } from './contract.js';
import type { RunFilterDoc, RunUpdateDoc } from './shard-collection.js';

/**
 * The conditional writes that end or extend an attempt. Each is guarded by the lease
 * (id, status `running`, attempt, runner), so a runner whose lease expired — and whose run was
 * retried, taken by another runner, or marked `lost` — is refused and writes nothing.
 *
 * An outcome that would put the run back to `pending` (a retry or a release) has a twin guarded
 * by `stopRequested: true` that writes `stopped` instead: an operator's stop must win over a
 * retry. Exactly one of the two matches, and both travel in the same round trip.
 */
export interface LeaseWrite {
  readonly filter: RunFilterDoc;
  readonly update: RunUpdateDoc;
  /** The status this write sets. */
  readonly status: RunStatus;
}

export function leaseFilter(lease: Lease): RunFilterDoc {
  return { _id: lease.id, status: 'running', attempt: lease.attempt, runner: lease.runner };
}

export function toRunError(thrown: unknown): RunError {
  const error = coerceError(thrown);
  return {
    message: String(error.message).slice(0, LIMITS.errorMessageLength),
    name: String(error.name).slice(0, LIMITS.nameLength),
    stack: typeof error.stack === 'string' ? error.stack.slice(0, LIMITS.errorStackLength) : null,
  };
}

function historyEntry(lease: Lease, now: Date, outcome: AttemptRecord['outcome'], error: RunError | null): AttemptRecord {
  return { attempt: lease.attempt, runner: lease.runner, startedAt: lease.startedAt, finishedAt: now, outcome, error };
}

function finalWrite(lease: Lease, now: Date, token: string, status: RunStatus, fields: Record<string, unknown>, error: RunError | null): LeaseWrite {
  return {
    filter: leaseFilter(lease),
    status,
    update: {
      $set: { status, finishedAt: now, deadline: null, settle: token, updatedAt: now, ...fields },
      $push: { history: historyEntry(lease, now, status as AttemptRecord['outcome'], error) },
    },
  };
}

/** A write back to `pending`, plus its stop-requested twin. */
function backToPending(
  lease: Lease,
  now: Date,
  token: string,
  runAfter: Date,
  outcome: 'retry' | 'released',
  error: RunError | null,
  reason: string | null,
): LeaseWrite[] {
  const pending: LeaseWrite = {
    filter: { ...leaseFilter(lease), stopRequested: { $ne: true } },
    status: 'pending',
    update: {
      $set: { status: 'pending', runAfter, deadline: null, claim: null, settle: token, updatedAt: now, error, reason },
      $push: { history: historyEntry(lease, now, outcome, error) },
      ...(outcome === 'released' ? { $inc: { attempt: -1 } } : {}),
    },
  };
  const stopped = finalWrite(lease, now, token, 'stopped', { reason: 'stopped by operator', error }, error);
  return [pending, { ...stopped, filter: { ...leaseFilter(lease), stopRequested: true } }];
}

/** The write(s) recording `outcome` for the attempt `lease` names. */
export function settlementWrites(lease: Lease, outcome: Outcome, now: Date, token: string): LeaseWrite[] {
  switch (outcome.status) {
    case 'completed': {
      let result: string;
      try {
        result = encodePayload(outcome.result ?? null, 'result');
      } catch (error) {
        if (!(error instanceof ValidationError)) throw error;
        return settlementWrites(lease, { status: 'failed', error }, now, token);
      }
      return [finalWrite(lease, now, token, 'completed', { result, stopRequested: false }, null)];
    }
    case 'failed':
    case 'lost': {
      const error = outcome.status === 'failed' ? toRunError(outcome.error) : null;
      const reason =
        outcome.status === 'lost'
          ? (outcome.reason ?? `lease expired: runner ${lease.runner} did not renew within ${lease.timeToResolve} s`)
          : null;
      if (hasAttemptsLeft(lease.attempt, lease.maxAttempts)) {
        const waitMs = retryDelaySeconds(lease.delay, lease.delayFactor, lease.attempt) * 1000;
        return backToPending(lease, now, token, new Date(now.getTime() + waitMs), 'retry', error, reason);
      }
      return [finalWrite(lease, now, token, outcome.status, { error, reason }, error)];
    }
    case 'stopped':
      return [finalWrite(lease, now, token, 'stopped', { reason: outcome.reason ?? 'stopped by operator' }, null)];
    case 'released':
      return backToPending(lease, now, token, now, 'released', null, 'handed back by its runner at shutdown');
  }
}

/** Extends a lease by its `timeToResolve` from now. */
export function renewWrite(lease: Lease, now: Date): { filter: RunFilterDoc; update: RunUpdateDoc; deadline: Date } {
  const deadline = new Date(now.getTime() + lease.timeToResolve * 1000);
  return { filter: leaseFilter(lease), update: { $set: { deadline, updatedAt: now } }, deadline };
}
