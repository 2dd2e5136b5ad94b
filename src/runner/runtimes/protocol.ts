import type { SpawnRequest } from '../../core/run-input.js';
import type { JsonValue } from '../../core/types.js';
import type { SerialError } from '../handler-errors.js';

/**
 * Messages between the runner and a `process` runtime child, over the IPC channel of
 * `child_process.fork` (JSON serialisation). A child runs one call at a time; `seq` numbers the
 * calls on that child, so a late message about an earlier call is recognised and dropped.
 *
 * runner → child: `init` once (the modules to load — only these are ever imported), then `run`
 * per call and `abort` when the call's signal fires.
 * child → runner: `ready` or `init-failed` once; `log` lines and one `done` per call; `fatal`
 * just before the child exits on an uncaught exception.
 */

export interface ChildCall {
  readonly seq: number;
  readonly funcName: string;
  readonly args: JsonValue;
  readonly runId: string;
  readonly attempt: number;
  readonly name: string;
  readonly jobId: string;
  readonly inputs: { readonly [key: string]: JsonValue } | null;
}

export type ToChild =
  | { readonly type: 'init'; readonly modules: Readonly<Record<string, string>> }
  | { readonly type: 'run'; readonly call: ChildCall }
  | { readonly type: 'abort'; readonly seq: number; readonly reason: SerialError };

/** The answer as it crosses: the result as JSON text, already checked in the child. */
export type ChildAnswer =
  | { readonly ok: true; readonly result: string; readonly spawn: readonly SpawnRequest[] }
  | { readonly ok: false; readonly error: SerialError };

export type LogLevel = 'info' | 'warn' | 'error';

export type FromChild =
  | { readonly type: 'ready' }
  | { readonly type: 'init-failed'; readonly error: SerialError }
  | { readonly type: 'log'; readonly seq: number; readonly level: LogLevel; readonly msg: string; readonly data?: object }
  | { readonly type: 'done'; readonly seq: number; readonly answer: ChildAnswer }
  | { readonly type: 'fatal'; readonly error: SerialError };
