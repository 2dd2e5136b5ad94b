import { Worker } from 'node:worker_threads';
import type { Handler, HandlerLogger } from '../../core/handler.js';
import { nonJsonProblem } from '../../core/json-check.js';
import { makeHandlerContext } from '../handler-context.js';
import { answerOf, handlerError, reviveError, serialiseError, type Answer } from '../handler-errors.js';
import { loadHandlers } from '../load-handlers.js';
import type { ChildAnswer, ChildCall, FromChild, LogLevel, ToChild } from './protocol.js';

/**
 * Entry point of a `process` runtime child (forked by process-worker.ts; never imported). It
 * loads the modules the runner names in `init` — with the runner's own `loadHandlers`, so a
 * `func_name` resolves exactly as it does inline and nothing else is ever imported — then runs
 * one call at a time and answers over IPC. It exits when the runner goes away (the channel
 * closes), and on an uncaught exception after telling the runner why.
 *
 * A handler that blocks the event loop never sees the channel close, so a runner killed with
 * SIGKILL would leave it spinning forever. A watchdog thread, which has its own event loop,
 * kills the process once its parent changes (the runner is gone and it was re-parented).
 */

const watchdog = new Worker(
  `const { workerData } = require('node:worker_threads');
   setInterval(() => { if (process.ppid !== workerData) process.kill(process.pid, 'SIGKILL'); }, 1000);`,
  // No loader flags: the watchdog is plain CommonJS, and starting tsx in it would only cost time.
  { eval: true, workerData: process.ppid, execArgv: [] },
);
watchdog.unref();

let handlers: Map<string, Handler> | null = null;
let current: { seq: number; controller: AbortController } | null = null;

function send(message: FromChild, then?: () => void): void {
  if (!process.connected) return then?.();
  try {
    process.send!(message, undefined, {}, () => then?.());
  } catch {
    // Only a log line's data can fail to serialise (everything else was checked); say so instead.
    if (message.type === 'log') send({ ...message, data: { unserialisable: 'the log data could not be sent to the runner' } }, then);
    else then?.();
  }
}

async function init(modules: Readonly<Record<string, string>>): Promise<void> {
  try {
    handlers = await loadHandlers(modules);
    send({ type: 'ready' });
  } catch (error) {
    send({ type: 'init-failed', error: serialiseError(error) }, () => process.exit(1));
  }
}

async function run(call: ChildCall): Promise<void> {
  const handler = handlers?.get(call.funcName);
  if (!handler || current) {
    const why = !handler ? `no module listed under modules: exports a function for '${call.funcName}'` : 'the child is already running a call';
    send({ type: 'done', seq: call.seq, answer: { ok: false, error: serialiseError(new Error(why)) } });
    return;
  }
  const controller = new AbortController();
  current = { seq: call.seq, controller };
  const line = (level: LogLevel) => (msg: string, data?: object) => {
    const problem = data === undefined ? null : nonJsonProblem(data);
    send({ type: 'log', seq: call.seq, level, msg: String(msg), ...(data === undefined ? {} : { data: problem ? { unserialisable: problem } : data }) });
  };
  const log: HandlerLogger = { info: line('info'), warn: line('warn'), error: line('error') };
  const { ctx, spawned } = makeHandlerContext(call, controller.signal, log);
  let answer: Answer;
  try {
    answer = answerOf(await handler(call.args, ctx), spawned);
  } catch (error) {
    answer = { ok: false, error: handlerError(error) };
  }
  current = null;
  send({ type: 'done', seq: call.seq, answer: encode(answer) });
}

function encode(answer: Answer): ChildAnswer {
  if (!answer.ok) return { ok: false, error: serialiseError(answer.error) };
  try {
    return { ok: true, result: JSON.stringify(answer.result), spawn: answer.spawn };
  } catch (error) {
    // The check passed, so only a toJSON that answers differently the second time gets here.
    return { ok: false, error: serialiseError(new Error(`result is not JSON: ${(error as Error).message}`)) };
  }
}

process.on('message', (message: ToChild) => {
  switch (message.type) {
    case 'init':
      void init(message.modules);
      break;
    case 'run':
      void run(message.call);
      break;
    case 'abort':
      if (current?.seq === message.seq) current.controller.abort(reviveError(message.reason));
      break;
  }
});

// The runner is gone (closed the channel, or died): nothing will ever read an answer.
process.on('disconnect', () => process.exit(0));

process.on('uncaughtException', (error) => {
  send({ type: 'fatal', error: serialiseError(error) }, () => process.exit(70));
  // If the channel is stuck, exit anyway.
  setTimeout(() => process.exit(70), 1000).unref();
});
