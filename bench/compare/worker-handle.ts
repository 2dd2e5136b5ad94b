import { fork, type ChildProcess } from 'node:child_process';
import { deferCleanup } from '../lib/cleanup.js';
import type { FromWorker, ToWorker, WorkerReport, WorkerSpec } from './protocol.js';
import { workerEntry } from './worker-bundle.js';

type Progress = Extract<FromWorker, { type: 'progress' }>;

const READY_TIMEOUT_MS = 60_000;
const REPLY_TIMEOUT_MS = 60_000;
/** A worker that has not exited this long after `stop` is killed (its report, if any, is kept). */
const STOP_TIMEOUT_MS = 30_000;

/**
 * The benchmark's side of one worker child (see protocol.ts), run on the bundled worker entry
 * (worker-bundle.ts). A child left running by a failure or a signal is killed by the registered
 * cleanup — by its own pid, nothing broader.
 *
 * State: `spawn()` → ready → `start()` → `stop()` (exited).
 */
export class WorkerHandle {
  readonly label: string;
  readonly rssBaselineMiB: number;
  readonly #child: ChildProcess;
  readonly #release: () => Promise<void>;
  #progress: Progress = { type: 'progress', started: 0, completed: 0, firstStartAt: null, lastCompletionAt: null };
  readonly #waiters = new Set<() => void>();
  #failure: Error | null = null;

  private constructor(label: string, child: ChildProcess, rssBaselineMiB: number, release: () => Promise<void>) {
    this.label = label;
    this.#child = child;
    this.rssBaselineMiB = rssBaselineMiB;
    this.#release = release;
    child.on('message', (message: FromWorker) => {
      if (message.type === 'progress') this.#progress = message;
      else if (message.type === 'failed') this.#failure = new Error(`${label} worker: ${message.message}`);
      for (const wake of [...this.#waiters]) wake();
    });
    child.on('exit', (code, signal) => {
      this.#failure ??= new Error(`${label} worker exited (${signal ?? `code ${code}`})`);
      for (const wake of [...this.#waiters]) wake();
    });
  }

  static async spawn(label: string, spec: WorkerSpec): Promise<WorkerHandle> {
    const { entry, execArgv } = await workerEntry();
    const child = fork(entry, [], {
      execArgv: [...execArgv],
      env: { ...process.env, BENCH_WORKER_SPEC: JSON.stringify(spec) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const release = deferCleanup(`stop ${label} worker`, async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    try {
      const ready = await nextMessage(child, 'ready', READY_TIMEOUT_MS);
      return new WorkerHandle(label, child, ready.rssBaselineMiB, release);
    } catch (error) {
      await release();
      throw new Error(`${label} worker did not get ready: ${(error as Error).message}`, { cause: error });
    }
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  get progress(): Progress {
    return this.#progress;
  }

  /** Starts processing; resolves with the child's clock (epoch ms) once its library has started. */
  async start(): Promise<number> {
    const reply = this.#request({ cmd: 'start' }, 'started');
    return (await reply).at;
  }

  /** Resolves when `done(progress)` holds, or when `deadline` (epoch ms via `now`) passes; returns whether it held. */
  async until(done: (progress: Progress) => boolean, deadlineMs: number, now: () => number): Promise<boolean> {
    while (!done(this.#progress)) {
      if (this.#failure) throw this.#failure;
      const left = deadlineMs - now();
      if (left <= 0) return false;
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          this.#waiters.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, Math.min(left, 1000));
        this.#waiters.add(wake);
      });
    }
    return true;
  }

  async report(): Promise<WorkerReport> {
    return (await this.#request({ cmd: 'report' }, 'report')).report;
  }

  /** Stops the worker's library, takes its final report, and waits for the child to exit. */
  async stop(): Promise<WorkerReport> {
    try {
      const exited = new Promise<void>((resolve) => (this.#child.exitCode !== null || this.#child.signalCode !== null ? resolve() : this.#child.once('exit', () => resolve())));
      const reply = await this.#request({ cmd: 'stop' }, 'stopped', STOP_TIMEOUT_MS);
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
      return reply.report;
    } finally {
      await this.#release();
    }
  }

  async #request<T extends FromWorker['type']>(message: ToWorker, reply: T, timeoutMs = REPLY_TIMEOUT_MS): Promise<Extract<FromWorker, { type: T }>> {
    if (this.#failure) throw this.#failure;
    const answer = nextMessage(this.#child, reply, timeoutMs);
    this.#child.send(message);
    return answer;
  }
}

/** The child's next message of `type`; rejects on `failed`, on exit, or after `timeoutMs`. */
function nextMessage<T extends FromWorker['type']>(child: ChildProcess, type: T, timeoutMs: number): Promise<Extract<FromWorker, { type: T }>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(() => reject(new Error(`no "${type}" from the worker within ${timeoutMs} ms`))), timeoutMs);
    const onMessage = (message: FromWorker) => {
      if (message.type === type) done(() => resolve(message as Extract<FromWorker, { type: T }>));
      else if (message.type === 'failed') done(() => reject(new Error(message.message)));
    };
    const onExit = (code: number | null, signal: string | null) => done(() => reject(new Error(`the worker exited (${signal ?? `code ${code}`})`)));
    function done(settle: () => void) {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      settle();
    }
    child.on('message', onMessage);
    child.on('exit', onExit);
  });
}
