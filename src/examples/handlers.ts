import { setTimeout as delay } from 'node:timers/promises';
import type { HandlerContext } from '../core/handler.js';
import type { JsonValue } from '../core/types.js';

/**
 * Example handlers for the embedded default config (module `examples`). Each shows one habit a
 * real handler should have: return a small JSON result, log through `ctx.log`, and pass
 * `ctx.signal` to anything that waits, so a stop or a shutdown ends the run promptly.
 */

const startedAt = Date.now();

/** `periodical`: reports that the node is alive. */
export function heartbeat(_args: JsonValue, ctx: HandlerContext): { at: string; uptimeSec: number; attempt: number } {
  const uptimeSec = Math.round((Date.now() - startedAt) / 1000);
  ctx.log.info('heartbeat', { uptimeSec });
  return { at: new Date().toISOString(), uptimeSec, attempt: ctx.attempt };
}

/**
 * `continuous`: drains a batch from a queue, then returns; the scheduler starts the next run
 * `pause_sec` after this one ends. The "queue" here is simulated with a short wait.
 */
export async function poll_queue(args: JsonValue, ctx: HandlerContext): Promise<{ queue: string; taken: number }> {
  const options = isObject(args) ? args : {};
  const queue = typeof options.queue === 'string' ? options.queue : 'inbox';
  const batch = typeof options.batch === 'number' ? Math.max(0, Math.floor(options.batch)) : 10;
  await delay(50, undefined, { signal: ctx.signal });
  const taken = Math.floor(Math.random() * (batch + 1));
  if (taken > 0) ctx.log.info('took messages', { queue, taken });
  return { queue, taken };
}

/** `single_shot`: greets whoever `args` names (`["Ada"]` or `{ "name": "Ada" }`). */
export function say_hello(args: JsonValue, ctx: HandlerContext): { greeting: string } {
  const name = Array.isArray(args) ? args[0] : isObject(args) ? args.name : args;
  const greeting = `Hello, ${typeof name === 'string' && name !== '' ? name : 'world'}!`;
  ctx.log.info(greeting);
  return { greeting };
}

/** Waits `args.ms` milliseconds (useful to try stop and drain); rejects with an AbortError when stopped. */
export async function sleep(args: JsonValue, ctx: HandlerContext): Promise<{ sleptMs: number }> {
  const ms = isObject(args) ? args.ms : Array.isArray(args) ? args[0] : args;
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) {
    throw new TypeError(`sleep needs args { "ms": <non-negative number> }, got ${JSON.stringify(args)}`);
  }
  await delay(ms, undefined, { signal: ctx.signal });
  return { sleptMs: ms };
}

function isObject(value: JsonValue): value is { [key: string]: JsonValue } {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
