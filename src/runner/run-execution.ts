import type { Logger } from 'pino';
import type { HandlerLogger } from '../core/handler.js';
import type { Lease, Run } from '../core/types.js';
import type { Outcome } from '../storage/contract.js';
import { RunTimeoutError, type Answer } from './handler-errors.js';
import type { HandlerRuntime } from './runtimes/handler-runtime.js';

/**
 * One attempt of one run on this runner: its handler call, bounded in time.
 *
 * Every way an attempt is cut short goes the same road: the handler's AbortSignal fires (run
 * timeout — counted from the handler's start, so a process child's start-up is not charged to
 * it —, stop, lease loss, shutdown) with a reason saying which; the handler has
 * `abortGraceMs` to return; if it has not, the runtime gives up on it — the `process` runtime
 * kills its child, the `inline` one can only abandon it — and the attempt ends anyway. Its slot
 * is held through the grace (the handler may still be using what the slot stands for) and freed
 * at the end of it, whatever the handler does.
 *
 * What is recorded: an answer that came before any abort is the outcome (result or error). Once
 * the signal fired, the abort decides — even if the handler then returned normally — timeout →
 * `failed` (a retry when attempts are left), stop → `stopped`, shutdown → `released` (attempt
 * not spent), lease lost → nothing (another runner owns the run).
 */

export type AbortCause =
  /** An operator stopped the run. */
  | { readonly kind: 'stop'; readonly reason?: string }
  /** The lease expired or moved: someone else owns the run; write nothing. */
  | { readonly kind: 'lease-lost' }
  /** Shutdown grace ran out: hand the run back without spending the attempt. */
  | { readonly kind: 'shutdown' }
  /** The attempt ran for its `run_timeout`. */
  | { readonly kind: 'timeout'; readonly seconds: number };

export interface ExecutionOptions {
  readonly runtime: HandlerRuntime;
  /** Seconds the attempt may run before its signal fires. */
  readonly runTimeout: number;
  /** How long the handler has to return once its signal fired. */
  readonly abortGraceMs: number;
  readonly log: Logger;
  /** Told when a handler ignored its signal past the grace and was killed or abandoned. */
  readonly onAbandon?: (execution: RunExecution, cause: AbortCause) => void;
}

/** setTimeout fires at once beyond this (about 24.8 days); a longer run_timeout waits this long. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export class RunExecution {
  readonly run: Run;
  readonly lease: Lease;
  /** Lease end as last confirmed by storage. */
  deadline: Date;
  /** When storage last confirmed the lease (claim or renewal), in ms since the epoch. */
  confirmedAt = Date.now();
  readonly #options: ExecutionOptions;
  readonly #controller = new AbortController();
  #cause: AbortCause | null = null;
  #onAbort: ((cause: AbortCause) => void) | null = null;

  constructor(run: Run, lease: Lease, options: ExecutionOptions) {
    this.run = run;
    this.lease = lease;
    this.#options = options;
    this.deadline = run.deadline ?? new Date(Date.now() + run.timeToResolve * 1000);
  }

  get aborted(): boolean {
    return this.#cause !== null;
  }

  /** Why the handler's signal fired, or null. */
  get cause(): AbortCause | null {
    return this.#cause;
  }

  abort(cause: AbortCause): void {
    if (this.#cause) return;
    this.#cause = cause;
    this.#controller.abort(abortReason(cause));
    this.#onAbort?.(cause);
  }

  /** Waits until the run is due, or until it is aborted. */
  #untilDue(): Promise<void> {
    const wait = this.run.runAfter.getTime() - Date.now();
    if (wait <= 0 || this.#cause) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, wait);
      this.#onAbort = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /** Runs the handler; resolves with the outcome to record, or null when nothing may be written. */
  async execute(): Promise<Outcome | null> {
    // Taken ahead of its due time (the runner's lookahead): begins then.
    await this.#untilDue();
    // Aborted before it began (claimed while the runner was draining, stopped while waiting): nothing runs.
    if (this.#cause) return outcomeOfAbort(this.#cause, null);
    const { runtime, runTimeout, abortGraceMs, log } = this.#options;
    const { run } = this;
    let timer: NodeJS.Timeout | undefined;
    let settled = false;
    try {
      const aborted = new Promise<AbortCause>((resolve) => (this.#onAbort = resolve));
      const call = runtime.call({ run, signal: this.#controller.signal, log: handlerLog(log, run.id) });
      // Counted from the handler's start: a process child's start-up is the runtime's time, not the handler's.
      void call.started.then(() => {
        if (!settled) timer = setTimeout(() => this.abort({ kind: 'timeout', seconds: runTimeout }), Math.min(runTimeout * 1000, MAX_TIMER_MS));
      });
      // The cause is read when the answer arrives: a handler that throws because its signal
      // fired ended by the abort, not by its own failure.
      const first = await Promise.race([
        call.answer.then((answer) => ({ answer, abortedBefore: this.#cause })),
        aborted.then((cause) => ({ cause })),
      ]);
      if ('answer' in first) return first.abortedBefore ? outcomeOfAbort(first.abortedBefore, null) : outcomeOfAnswer(first.answer);
      const { cause } = first;
      let graceTimer: NodeJS.Timeout | undefined;
      const returned = await Promise.race([
        call.answer.then(() => true),
        new Promise<false>((resolve) => (graceTimer = setTimeout(() => resolve(false), abortGraceMs))),
      ]);
      clearTimeout(graceTimer);
      if (returned) return outcomeOfAbort(cause, null);
      const note = await call.abandon();
      log.error(
        { runId: run.id, funcName: run.funcName, runtime: runtime.kind, abort: cause.kind, abortGraceMs },
        `handler ignored its AbortSignal (${abortReason(cause).message}) for ${abortGraceMs} ms; ${note}`,
      );
      this.#options.onAbandon?.(this, cause);
      return outcomeOfAbort(cause, `it ignored its AbortSignal for ${abortGraceMs} ms; ${note}`);
    } finally {
      settled = true;
      clearTimeout(timer);
    }
  }
}

function handlerLog(log: Logger, runId: string): HandlerLogger {
  return {
    info: (msg, data) => log.info({ runId, ...data }, msg),
    warn: (msg, data) => log.warn({ runId, ...data }, msg),
    error: (msg, data) => log.error({ runId, ...data }, msg),
  };
}

function outcomeOfAnswer(answer: Answer): Outcome {
  if (!answer.ok) return { status: 'failed', error: answer.error };
  return { status: 'completed', result: answer.result, ...(answer.spawn.length > 0 ? { spawn: answer.spawn } : {}) };
}

/** `ignored`: what was done about a handler that did not return within the grace, or null when it did. */
function outcomeOfAbort(cause: AbortCause, ignored: string | null): Outcome | null {
  switch (cause.kind) {
    case 'stop':
      return { status: 'stopped', ...(cause.reason ? { reason: cause.reason } : {}) };
    case 'shutdown':
      return { status: 'released' };
    case 'lease-lost':
      return null;
    case 'timeout':
      return {
        status: 'failed',
        error: new RunTimeoutError(cause.seconds, ignored ? `its handler was aborted and ${ignored}` : 'its handler was aborted and gave up within the abort grace'),
      };
  }
}

/** The signal's reason: what the handler sees as `ctx.signal.reason`. */
function abortReason(cause: AbortCause): Error {
  switch (cause.kind) {
    case 'stop':
      return new Error('run stopped by operator');
    case 'lease-lost':
      return new Error('lease lost: the run was not renewed in time');
    case 'shutdown':
      return new Error('runner shutting down');
    case 'timeout':
      return new RunTimeoutError(cause.seconds, 'the handler is asked to stop');
  }
}
