import { ValidationError } from '../core/errors.js';
import type { HandlerContext, HandlerLogger, SpawnOptions, SpawnRef } from '../core/handler.js';
import { LIMITS } from '../core/limits.js';
import { encodePayload, parseInput, spawnRequestSchema, type SpawnRequest } from '../core/run-input.js';
import type { JsonValue } from '../core/types.js';

/**
 * The `ctx` a handler receives, built the same way in the runner process (`inline`) and in a
 * `process` runtime child, so `ctx.spawn` validates and queues subtasks identically in both.
 * The queued subtasks travel with the attempt's answer and are created when it completes.
 */

/** The run fields a handler sees. */
export interface CallInfo {
  readonly runId: string;
  readonly attempt: number;
  readonly name: string;
  readonly jobId: string;
  readonly inputs: { readonly [key: string]: JsonValue } | null;
}

export function makeHandlerContext(
  info: CallInfo,
  signal: AbortSignal,
  log: HandlerLogger,
): { ctx: HandlerContext; spawned: SpawnRequest[] } {
  const spawned: SpawnRequest[] = [];
  const ctx: HandlerContext = {
    inputs: info.inputs ?? {},
    spawn: (funcName, args = [], options = {}) => spawnRequest(spawned, funcName, args, options),
    signal,
    runId: info.runId,
    attempt: info.attempt,
    name: info.name,
    jobId: info.jobId,
    log,
  };
  return { ctx, spawned };
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
