import { fork, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { extname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { HandlerLogger } from '../../core/handler.js';
import type { JsonValue } from '../../core/types.js';
import { HandlerCrashError, reviveError, RuntimeRefusedError, serialiseError, type Answer, type SerialError } from '../handler-errors.js';
import type { ChildCall, FromChild, ToChild } from './protocol.js';

/**
 * One child process of the `process` runtime: forked with the runner's own Node flags, told
 * which modules to load, then given one call at a time.
 *
 * State: `starting` → (`ready` from the child) → `ready` ⇄ `busy` → `exited`. Any exit —
 * `kill()`, a crash, `process.exit` in a handler — ends the current call with a
 * `HandlerCrashError` naming the exit code or signal, and the worker is never used again.
 */
export class ProcessWorker {
  readonly pid: number;
  readonly #child: ChildProcess;
  readonly #exited: Promise<void>;
  #state: 'starting' | 'ready' | 'busy' | 'exited' = 'starting';
  #seq = 0;
  #current: { seq: number; resolve: (answer: Answer) => void; log: HandlerLogger } | null = null;
  /** Why the child is about to exit, when it said so (an uncaught exception). */
  #fatal: SerialError | null = null;
  /** Receives the child's first answer (`ready` or `init-failed`). */
  #onStart: ((message: Extract<FromChild, { type: 'ready' | 'init-failed' }>) => void) | null = null;

  /** Forks a child at once; `ready()` then has it load the modules. `onExit` is told when it is gone. */
  constructor(onExit: (worker: ProcessWorker) => void) {
    const { entry, execArgv } = childCommand();
    this.#child = fork(entry, [], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'json' });
    this.pid = this.#child.pid ?? -1;
    this.#child.on('message', (message: FromChild) => this.#onMessage(message));
    this.#exited = new Promise((resolve) => {
      let ended = false;
      const end = (code: number | null, signal: NodeJS.Signals | null) => {
        if (ended) return;
        ended = true;
        this.#state = 'exited';
        const current = this.#current;
        this.#current = null;
        const fatal = this.#fatal ? `uncaught ${this.#fatal.name}: ${this.#fatal.message}` : undefined;
        current?.resolve({ ok: false, error: new HandlerCrashError(this.pid, code, signal, fatal) });
        onExit(this);
        resolve();
      };
      this.#child.once('exit', end);
      // A failed send (the channel closed under it) is reported here; without a listener it
      // would throw in the runner. A fork that never started has no pid and no exit to wait for.
      this.#child.on('error', () => {
        if (this.#child.pid === undefined) end(null, null);
      });
    });
  }

  get idle(): boolean {
    return this.#state === 'ready';
  }

  /** Runs one call; its signal firing is passed on to the child's `ctx.signal`. Never rejects. */
  run(call: Omit<ChildCall, 'seq'>, signal: AbortSignal, log: HandlerLogger): Promise<Answer> {
    if (this.#state !== 'ready') return Promise.resolve({ ok: false, error: new RuntimeRefusedError(`child process ${this.pid} is ${this.#state}`) });
    const seq = ++this.#seq;
    this.#state = 'busy';
    return new Promise<Answer>((resolve) => {
      const onAbort = () => this.#send({ type: 'abort', seq, reason: serialiseError(signal.reason) });
      this.#current = {
        seq,
        log,
        resolve: (answer) => {
          signal.removeEventListener('abort', onAbort);
          if (this.#state === 'busy') this.#state = 'ready';
          resolve(answer);
        },
      };
      this.#send({ type: 'run', call: { ...call, seq } });
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** SIGKILL, and resolves once the process is gone (reaped). */
  async kill(): Promise<void> {
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill('SIGKILL');
    await this.#exited;
  }

  /** Has the child load `modules`. Rejects with a `RuntimeRefusedError` if it cannot; kill it then. */
  async ready(modules: Readonly<Record<string, string>>, timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const answered = new Promise<void>((resolve, reject) => {
      this.#onStart = (message) => {
        if (message.type === 'ready') resolve();
        else reject(new RuntimeRefusedError(`the process runtime's child could not load the modules: ${message.error.message}`));
      };
      void this.#exited.then(() => reject(new RuntimeRefusedError(`the process runtime's child (pid ${this.pid}) exited while starting (exit code ${this.#child.exitCode ?? 'none'}, signal ${this.#child.signalCode ?? 'none'})`)));
      timer = setTimeout(() => reject(new RuntimeRefusedError(`the process runtime's child (pid ${this.pid}) did not load its modules within ${timeoutMs} ms`)), timeoutMs);
    });
    this.#send({ type: 'init', modules });
    try {
      await answered;
      this.#state = 'ready';
    } finally {
      clearTimeout(timer);
    }
  }

  #onMessage(message: FromChild): void {
    const current = this.#current;
    switch (message.type) {
      case 'ready':
      case 'init-failed':
        this.#onStart?.(message);
        break;
      case 'fatal':
        this.#fatal = message.error;
        break;
      case 'log':
        if (current?.seq === message.seq) current.log[message.level](message.msg, message.data);
        break;
      case 'done':
        if (current?.seq !== message.seq) break;
        this.#current = null;
        current.resolve(message.answer.ok ? { ok: true, result: JSON.parse(message.answer.result) as JsonValue, spawn: message.answer.spawn } : { ok: false, error: reviveError(message.answer.error) });
        break;
    }
  }

  #send(message: ToChild): void {
    if (this.#child.connected) this.#child.send(message);
  }
}

/**
 * The child's entry file and Node flags: the runner's own flags (so a child loads TypeScript
 * modules when the runner does), minus inspector flags (a second debugger on the same port
 * fails). When the entry itself is TypeScript and no tsx loader is among those flags (a test
 * runner that compiles in-process), tsx is added.
 */
function childCommand(): { entry: string; execArgv: string[] } {
  const here = fileURLToPath(import.meta.url);
  const entry = fileURLToPath(new URL(`./process-child${extname(here)}`, import.meta.url));
  const execArgv = process.execArgv.filter((arg) => !/^--inspect/.test(arg));
  if (extname(entry) === '.ts' && !execArgv.some((arg) => arg.includes('tsx'))) {
    execArgv.push('--import', pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href);
  }
  return { entry, execArgv };
}
