import type { Handler } from '../../core/handler.js';
import { answerOf, handlerError, RuntimeRefusedError } from '../handler-errors.js';
import { makeHandlerContext } from '../handler-context.js';
import { answered, type HandlerCall, type HandlerRuntime, type Invocation } from './handler-runtime.js';

/** Why an inline handler that ignores its signal cannot be ended; goes into the attempt's record. */
export const INLINE_ABANDON_NOTE =
  'the inline runtime cannot kill it, so its slot was freed and it was abandoned, possibly still running inside the runner process; use runtime: process for handlers that may not honour their signal';

/**
 * Calls the handler in the runner's own process: no start-up cost, and any handler works
 * (modules and handlers given in code). Its limits: a handler that ignores its signal can only
 * be abandoned, never stopped, and one that blocks the event loop (a busy loop, heavy sync
 * work) stalls the whole runner — its leases, its other slots. The `process` runtime has
 * neither problem.
 */
export class InlineRuntime implements HandlerRuntime {
  readonly kind = 'inline' as const;
  readonly #handlers: ReadonlyMap<string, Handler>;

  constructor(handlers: ReadonlyMap<string, Handler>) {
    this.#handlers = handlers;
  }

  call({ run, signal, log }: Invocation): HandlerCall {
    const handler = this.#handlers.get(run.funcName);
    if (!handler) return answered({ ok: false, error: new RuntimeRefusedError(`this runner has no handler '${run.funcName}'`) });
    const { ctx, spawned } = makeHandlerContext({ runId: run.id, attempt: run.attempt, name: run.name, jobId: run.jobId, inputs: run.inputs }, signal, log);
    const answer = (async () => {
      try {
        return answerOf(await handler(run.args, ctx), spawned);
      } catch (error) {
        return { ok: false as const, error: handlerError(error) };
      }
    })();
    return { answer, started: Promise.resolve(), abandon: async () => INLINE_ABANDON_NOTE };
  }

  async close(): Promise<void> {}
}
