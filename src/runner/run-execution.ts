import type { Logger } from 'pino';
import { ValidationError } from '../core/errors.js';
import type { Handler, HandlerContext, SpawnOptions, SpawnRef } from '../core/handler.js';
import { LIMITS } from '../core/limits.js';
import { encodePayload, parseInput, spawnRequestSchema, type SpawnRequest } from '../core/run-input.js';
import type { JsonValue, Lease, Run } from '../core/types.js';
import type { Outcome } from '../storage/contract.js';

/**
 * One attempt of one run on this runner. The handler races its AbortSignal: when the run is
 * stopped, its lease is lost or the runner shuts down, the attempt ends at once with the matching
 * outcome and its slot is free, even if the handler ignores the signal and keeps going (its late
 * answer is then ignored; a `process` runtime that can kill it is a later step).
 */

export type AbortCause =
  /** An operator stopped the run. */
  | { readonly kind: 'stop'; readonly reason?: string }
  /** The lease expired or moved: someone else owns the run; write nothing. */
  | { readonly kind: 'lease-lost' }
  /** Shutdown grace ran out: hand the run back without spending the attempt. */
  | { readonly kind: 'shutdown' };

export class RunExecution {
  readonly run: Run;
  readonly lease: Lease;
  /** Lease end as last confirmed by storage. */
  deadline: Date;
  /** When storage last confirmed the lease (claim or renewal), in ms since the epoch. */
  confirmedAt = Date.now();
  readonly #controller = new AbortController();
  #cause: AbortCause | null = null;
  #onAbort: ((cause: AbortCause) => void) | null = null;

  constructor(run: Run, lease: Lease) {
    this.run = run;
    this.lease = lease;
    this.deadline = run.deadline ?? new Date(Date.now() + run.timeToResolve * 1000);
  }

  get aborted(): boolean {
    return this.#cause !== null;
  }

  abort(cause: AbortCause): void {
    if (this.#cause) return;
    this.#cause = cause;
    this.#controller.abort(new Error(abortMessage(cause)));
    this.#onAbort?.(cause);
  }

  /** Runs the handler; resolves with the outcome to record, or null when nothing may be written. */
  async execute(handler: Handler, log: Logger): Promise<Outcome | null> {
    const { run } = this;
    const spawned: SpawnRequest[] = [];
    const ctx: HandlerContext = {
      inputs: run.inputs ?? {},
      spawn: (funcName, args = [], options = {}) => spawnRequest(spawned, funcName, args, options),
      signal: this.#controller.signal,
      runId: run.id,
      attempt: run.attempt,
      name: run.name,
      jobId: run.jobId,
      log: {
        info: (msg, data) => log.info({ runId: run.id, ...data }, msg),
        warn: (msg, data) => log.warn({ runId: run.id, ...data }, msg),
        error: (msg, data) => log.error({ runId: run.id, ...data }, msg),
      },
    };
    const aborted = new Promise<AbortCause>((resolve) => {
      if (this.#cause) resolve(this.#cause);
      else this.#onAbort = resolve;
    });
    // The handler's answer, and whether the attempt had been aborted before it came: a handler
    // that throws because its signal fired ended by the abort, not by its own failure.
    const finished = (async (): Promise<{ outcome: Outcome; abortedBefore: AbortCause | null }> => {
      let outcome: Outcome;
      try {
        const result = await handler(run.args, ctx);
        outcome = { status: 'completed', result: (result === undefined ? null : result) as never, ...(spawned.length > 0 ? { spawn: spawned } : {}) };
      } catch (error) {
        outcome = { status: 'failed', error };
      }
      return { outcome, abortedBefore: this.#cause };
    })();
    const first = await Promise.race([finished, aborted.then((cause) => ({ aborted: cause }))]);
    if ('outcome' in first) {
      return first.abortedBefore ? outcomeOfAbort(first.abortedBefore) : first.outcome;
    }
    return outcomeOfAbort(first.aborted);
  }
}

/** Validates and queues one `ctx.spawn` call; bad input throws at the call, in the handler. */
function spawnRequest(spawned: SpawnRequest[], funcName: string, args: JsonValue, options: SpawnOptions): SpawnRef {
  const index = spawned.length;
  if (index >= LIMITS.flowSteps) throw new ValidationError('spawn', `at most ${LIMITS.flowSteps} subtasks per run`);
  const dependsOn = (options.dependsOn ?? []).map((ref, i) => {
    const dep = typeof ref === 'string' && /^spawn:\d+$/.test(ref) ? Number(ref.slice(6)) : NaN;
    if (!(dep >= 0 && dep < index)) throw new ValidationError(`spawn.dependsOn[${i}]`, `must be a ref returned by an earlier ctx.spawn of this run, got ${String(ref)}`);
    return dep;
  });
  encodePayload(args, 'spawn.args');
  const { dependsOn: _refs, ...rest } = options;
  const request = parseInput(spawnRequestSchema, { funcName, args, ...rest, dependsOn }, 'spawn') as SpawnRequest;
  spawned.push(request);
  return `spawn:${index}`;
}

function outcomeOfAbort(cause: AbortCause): Outcome | null {
  switch (cause.kind) {
    case 'stop':
      return { status: 'stopped', ...(cause.reason ? { reason: cause.reason } : {}) };
    case 'shutdown':
      return { status: 'released' };
    case 'lease-lost':
      return null;
  }
}

function abortMessage(cause: AbortCause): string {
  switch (cause.kind) {
    case 'stop':
      return 'run stopped by operator';
    case 'lease-lost':
      return 'lease lost: the run was not renewed in time';
    case 'shutdown':
      return 'runner shutting down';
  }
}
