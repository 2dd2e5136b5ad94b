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
  /**
   * Results of the runs this one depends on (flow steps, or subtasks spawned with `dependsOn`),
   * keyed by their step name (or run id when they have none). Empty for a run without dependencies.
   */
  readonly inputs: { readonly [key: string]: JsonValue };
  /**
   * Queues a subtask of this run. Subtasks are created when this attempt completes (a failed
   * attempt spawns nothing), join this run's job, go to this run's cluster unless `cluster` says
   * otherwise, and may wait for each other through `dependsOn` (the refs `spawn` returned).
   * Throws `ValidationError` at once for bad input.
   */
  spawn(funcName: string, args?: JsonValue, options?: SpawnOptions): SpawnRef;
}

/** Names a subtask queued by `ctx.spawn` until it exists (its run id is drawn when the parent completes). */
export type SpawnRef = `spawn:${number}`;

export interface SpawnOptions {
  /** @defaultValue the parent's cluster */
  readonly cluster?: string;
  /** @defaultValue `default` */
  readonly tag?: string;
  /** Subtasks of the same parent that must complete first. */
  readonly dependsOn?: readonly SpawnRef[];
  /** Keys this subtask's result in its dependents' `inputs`. @defaultValue the subtask's run id */
  readonly step?: string;
  readonly priority?: number;
  readonly maxAttempts?: number;
  readonly timeToResolve?: number;
  readonly timeout?: number;
  /** How the subtask's handler runs. @defaultValue the runner's default (`task_runner.runtime`) */
  readonly runtime?: 'inline' | 'process';
  /** Seconds one attempt may run. @defaultValue the runner's default (`task_runner.run_timeout`) */
  readonly runTimeout?: number;
}

export type Handler = (args: JsonValue, ctx: HandlerContext) => unknown;
