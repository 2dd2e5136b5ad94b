import type { HandlerLogger } from '../../core/handler.js';
import type { Run, Runtime } from '../../core/types.js';
import type { Answer } from '../handler-errors.js';

/**
 * The boundary between an attempt (`RunExecution`, which owns timeouts, aborts and the grace)
 * and where its handler actually runs. Two implementations: `inline` (a call in the runner's
 * own process) and `process` (a warm child process the runner can kill).
 */

export interface Invocation {
  readonly run: Run;
  /** Fires on run timeout, stop, lease loss and shutdown; its reason says which. */
  readonly signal: AbortSignal;
  /** Lines tagged with the run. */
  readonly log: HandlerLogger;
}

/** One handler call in flight. */
export interface HandlerCall {
  /** Settles with the handler's answer (a refusal or crash is a failed answer); never rejects. */
  readonly answer: Promise<Answer>;
  /**
   * Resolves when the handler itself starts (at once inline; once a child is ready in the
   * `process` runtime): the run timeout counts from here, not from a child's start-up.
   * Never resolves for a call that was refused or given up on before it started.
   */
  readonly started: Promise<void>;
  /**
   * The handler ignored its signal past the grace: stop it if this runtime can. Resolves, once
   * that is done, with what happened, in words for the attempt's record.
   */
  abandon(): Promise<string>;
}

export interface HandlerRuntime {
  readonly kind: Runtime;
  call(invocation: Invocation): HandlerCall;
  /** Ends everything it started (child processes). Idempotent. */
  close(): Promise<void>;
}

/** A call that was answered before it started (a refusal). */
export function answered(answer: Answer): HandlerCall {
  return { answer: Promise.resolve(answer), started: new Promise(() => {}), abandon: async () => 'nothing was running' };
}
