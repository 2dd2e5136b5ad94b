import type { JsonValue } from './types.js';

/**
 * What a handler sees. A handler is an exported function `fn(args, ctx)` of a module listed
 * under `modules:`; `func_name` `mod.fn` names it. Its return value (JSON) is the run's result;
 * a throw (or a rejected promise) is a failed attempt.
 */

/** Structured log lines tagged with the run; `data` must be JSON-serialisable. */
export interface HandlerLogger {
  info(msg: string, data?: object): void;
  warn(msg: string, data?: object): void;
  error(msg: string, data?: object): void;
}

export interface HandlerContext {
  /**
   * Fires when the run is stopped by an operator, when the runner loses the lease, or when the
   * node shuts down and the drain grace has passed. A handler that does long work should pass it
   * on (`fetch(url, { signal })`) or check it, and give up promptly: its result is not recorded
   * once the signal has fired.
   */
  readonly signal: AbortSignal;
  readonly runId: string;
  /** 1 on the first attempt; a retry sees 2, 3 … */
  readonly attempt: number;
  /** The definition name, or the handler name for an anonymous run. */
  readonly name: string;
  /** The root run's id; equal to `runId` for a root run. */
  readonly jobId: string;
  readonly log: HandlerLogger;
}

export type Handler = (args: JsonValue, ctx: HandlerContext) => unknown;
