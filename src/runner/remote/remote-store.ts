import type { Logger } from 'pino';
import type { WireSettlement, WireSettleResult } from '../../api/runner-gateway/protocol.js';
import { RUNNER_API_LIMITS } from '../../api/runner-gateway/protocol.js';
import { coerceError } from '../../core/errors.js';
import { LIMITS } from '../../core/limits.js';
import { encodePayload } from '../../core/run-input.js';
import type { Lease, Run, RunnerIdentity } from '../../core/types.js';
import type { Outcome, RenewResult, Settlement, SettleResult, TakeResult, TaskStore } from '../../storage/contract.js';
import { GatewayRequestError, type GatewayClient } from './gateway-client.js';

/** What a runner needs of storage; the remote store implements exactly this. */
export type RunnerStore = Pick<TaskStore, 'take' | 'renew' | 'settle'>;

/**
 * The runner's storage, over the runner gateway: `take`, `renew` and `settle` behave as the
 * local store's do, so the runner cannot tell the difference:
 *
 * - `take` is not retried on an answer lost in flight (its runs would be claimed twice); the
 *   claim loop asks again.
 * - `settle` splits large batches (at most `RUNNER_API_LIMITS.settlements` outcomes and about
 *   4 MiB a request). An outcome the gateway could not be asked about (unreachable, or refusing
 *   the token, as during a config rollout) is answered `unavailable`, so the settlement queue
 *   keeps it and retries with backoff — an outcome is never dropped for a network fault. An
 *   outcome the gateway refused as stale (`accepted: false`) is dropped, as locally.
 * - A result or subtask list over the payload limit is reported as a failure, here, with the
 *   message the store would have written: it could not be sent whole anyway.
 */
export class RemoteStore implements RunnerStore {
  readonly #client: GatewayClient;
  readonly #log: Logger;

  constructor(client: GatewayClient, log: Logger) {
    this.#client = client;
    this.#log = log;
  }

  async take(runner: RunnerIdentity, limit: number): Promise<TakeResult> {
    const answer = await this.#client.post<{ runs: unknown[]; unavailable: string[] }>(
      'take',
      {
        runner: { id: runner.id, cluster: runner.cluster, tags: runner.tags, handlers: runner.handlers, ...(runner.lookaheadMs ? { lookaheadMs: runner.lookaheadMs } : {}) },
        limit,
      },
      { idempotent: false },
    );
    return { runs: answer.runs.map(reviveRun), unavailable: answer.unavailable };
  }

  async renew(leases: readonly Lease[]): Promise<RenewResult[]> {
    const results: RenewResult[] = [];
    for (let start = 0; start < leases.length; start += 1000) {
      const chunk = leases.slice(start, start + 1000).map(({ id, attempt, runner }) => ({ id, attempt, runner }));
      const answer = await this.#client.post<{ results: Array<RenewResult & { deadline?: string }> }>('renew', { leases: chunk });
      for (const result of answer.results) {
        results.push(result.state === 'renewed' ? { ...result, deadline: new Date(result.deadline) } : result);
      }
    }
    return results;
  }

  async settle(reports: readonly Settlement[]): Promise<SettleResult[]> {
    const results: SettleResult[] = [];
    for (const batch of batches(reports.map(toWire))) {
      try {
        const answer = await this.#client.post<{ results: WireSettleResult[] }>('settle', { settlements: batch.map((b) => b.wire) });
        for (const result of answer.results) results.push({ ...result, status: result.status as SettleResult['status'] });
      } catch (error) {
        const err = coerceError(error);
        const hopeless = err instanceof GatewayRequestError && (err.status === 400 || err.status === 413);
        this.#log.error({ err, count: batch.length }, hopeless ? 'the runner gateway refused these outcomes as malformed; dropping them' : 'outcomes not written yet; will retry');
        for (const { wire } of batch) {
          results.push({ id: wire.lease.id, accepted: false, status: null, ...(hopeless ? {} : { unavailable: 'runner-gateway' }) });
        }
      }
    }
    return results;
  }
}

const BATCH_BYTES = 4 * 1024 * 1024;

function* batches(items: ReadonlyArray<{ wire: WireSettlement; bytes: number }>): Generator<Array<{ wire: WireSettlement; bytes: number }>> {
  let batch: Array<{ wire: WireSettlement; bytes: number }> = [];
  let bytes = 0;
  for (const item of items) {
    if (batch.length > 0 && (bytes + item.bytes > BATCH_BYTES || batch.length >= RUNNER_API_LIMITS.settlements)) {
      yield batch;
      batch = [];
      bytes = 0;
    }
    batch.push(item);
    bytes += item.bytes;
  }
  if (batch.length > 0) yield batch;
}

function toWire(settlement: Settlement): { wire: WireSettlement; bytes: number } {
  const lease = { id: settlement.lease.id, attempt: settlement.lease.attempt, runner: settlement.lease.runner };
  const outcome = wireOutcome(settlement.outcome);
  const wire = { lease, outcome } as WireSettlement;
  return { wire, bytes: Buffer.byteLength(JSON.stringify(wire)) };
}

function wireOutcome(outcome: Outcome): WireSettlement['outcome'] {
  switch (outcome.status) {
    case 'completed':
      try {
        // The checks the store makes: an outcome it would turn into a failure is one here too.
        encodePayload(outcome.result ?? null, 'result');
        if (outcome.spawn && outcome.spawn.length > 0) encodePayload(outcome.spawn, 'spawn');
      } catch (error) {
        return wireFailure(error);
      }
      return { status: 'completed', result: outcome.result ?? null, ...(outcome.spawn && outcome.spawn.length > 0 ? { spawn: [...outcome.spawn] } : {}) };
    case 'failed':
      return wireFailure(outcome.error);
    case 'stopped':
      return outcome.reason === undefined ? { status: 'stopped' } : { status: 'stopped', reason: outcome.reason.slice(0, LIMITS.reasonLength) };
    case 'released':
      return { status: 'released' };
    case 'lost':
      // Runners never report `lost` (the sweep does); hand the run back rather than guess.
      return { status: 'released' };
  }
}

function wireFailure(thrown: unknown): WireSettlement['outcome'] {
  const error = coerceError(thrown);
  return {
    status: 'failed',
    error: {
      message: String(error.message).slice(0, LIMITS.errorMessageLength),
      name: String(error.name).slice(0, LIMITS.nameLength),
      stack: typeof error.stack === 'string' ? error.stack.slice(0, LIMITS.errorStackLength) : null,
    },
  };
}

const RUN_DATES = ['createdAt', 'runAfter', 'expiresAt', 'startedAt', 'finishedAt', 'deadline'] as const;

/** A run as the gateway sent it (dates as ISO strings) → a `Run`. Fields this version does not know pass through. */
export function reviveRun(wire: unknown): Run {
  const run = { ...(wire as Record<string, unknown>) };
  for (const key of RUN_DATES) {
    const value = run[key];
    if (typeof value === 'string') run[key] = new Date(value);
  }
  if (Array.isArray(run.history)) {
    run.history = run.history.map((entry: Record<string, unknown>) => ({
      ...entry,
      startedAt: new Date(entry.startedAt as string),
      finishedAt: new Date(entry.finishedAt as string),
    }));
  }
  return run as unknown as Run;
}
