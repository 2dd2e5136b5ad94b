import { nonJsonProblem } from '../core/json-check.js';
import type { SpawnRequest } from '../core/run-input.js';
import type { JsonValue } from '../core/types.js';

/**
 * How a handler's ending becomes something storage can record, the same way in both runtimes:
 * the errors the runner itself raises (timeout, crash, refusal, a result that is not JSON), the
 * description of thrown non-Errors, and the plain form errors cross the process boundary in.
 * Each recorded error's message says what happened without its stack: the API shows the
 * message only.
 */

/** What a handler call came to, before the runner decides the outcome. */
export type Answer =
  | { readonly ok: true; readonly result: JsonValue; readonly spawn: readonly SpawnRequest[] }
  | { readonly ok: false; readonly error: Error };

/** The attempt ran longer than its `run_timeout`. */
export class RunTimeoutError extends Error {
  readonly seconds: number;

  constructor(seconds: number, detail: string, options?: { cause?: unknown }) {
    super(`run_timeout of ${seconds} s passed; ${detail}`, options);
    this.name = 'RunTimeoutError';
    this.seconds = seconds;
  }
}

/** The `process` runtime's child died while it ran the handler (process.exit, OOM, a signal). */
export class HandlerCrashError extends Error {
  readonly pid: number;
  readonly exitCode: number | null;
  readonly signal: string | null;

  constructor(pid: number, exitCode: number | null, signal: string | null, detail?: string) {
    const how = signal !== null ? `was killed by signal ${signal}` : `exited with code ${exitCode}`;
    super(`the handler's child process (pid ${pid}) ${how} while it ran the handler${detail ? `: ${detail}` : ''}`);
    this.name = 'HandlerCrashError';
    this.pid = pid;
    this.exitCode = exitCode;
    this.signal = signal;
  }
}

/** The runner will not run this handler in this runtime (or could not start the runtime for it). */
export class RuntimeRefusedError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RuntimeRefusedError';
  }
}

/** The handler returned something storage cannot keep as JSON. */
export class ResultNotJsonError extends Error {
  constructor(problem: string) {
    super(`result is not JSON: ${problem}`);
    this.name = 'ResultNotJsonError';
  }
}

/** What a handler returned, as an answer: `undefined` is recorded as null, anything else must be JSON. */
export function answerOf(value: unknown, spawn: readonly SpawnRequest[]): Answer {
  const result = value === undefined ? null : value;
  const problem = nonJsonProblem(result);
  if (problem) return { ok: false, error: new ResultNotJsonError(problem) };
  return { ok: true, result: result as JsonValue, spawn };
}

/**
 * Anything a handler threw, as an Error. An Error is kept as it is; anything else is described,
 * so the record says what was thrown (`handler threw a string instead of an Error: "boom"`).
 */
export function handlerError(thrown: unknown): Error {
  if (thrown instanceof Error) return thrown;
  const error = new Error(`handler threw ${describeThrown(thrown)}`);
  error.name = 'NonErrorThrown';
  return error;
}

function describeThrown(thrown: unknown): string {
  const detail = (kind: string, text: string) => `${kind} instead of an Error: ${text.length > 1000 ? `${text.slice(0, 1000)}…` : text}`;
  switch (typeof thrown) {
    case 'undefined':
      return 'undefined instead of an Error';
    case 'string':
      return detail('a string', JSON.stringify(thrown));
    case 'number':
    case 'boolean':
      return detail(`a ${typeof thrown}`, String(thrown));
    case 'bigint':
      return detail('a BigInt', `${thrown}n`);
    case 'symbol':
      return detail('a Symbol', thrown.toString());
    case 'function':
      return detail('a function', thrown.name || '(anonymous)');
    default: {
      if (thrown === null) return 'null instead of an Error';
      let text: string;
      try {
        text = JSON.stringify(thrown) ?? String(thrown);
      } catch {
        text = Object.prototype.toString.call(thrown);
      }
      const kind = Array.isArray(thrown) ? 'an array' : Object.getPrototypeOf(thrown) === Object.prototype ? 'a plain object' : 'an object';
      return detail(kind, text);
    }
  }
}

/** An error as it crosses the IPC channel. */
export interface SerialError {
  readonly name: string;
  readonly message: string;
  readonly stack: string | null;
}

export function serialiseError(error: unknown): SerialError {
  const e = error instanceof Error ? error : handlerError(error);
  return { name: String(e.name), message: String(e.message), stack: typeof e.stack === 'string' ? e.stack : null };
}

export function reviveError(serial: SerialError): Error {
  const error = new Error(serial.message);
  error.name = serial.name;
  error.stack = serial.stack ?? `${serial.name}: ${serial.message}`;
  return error;
}
