import { ProcessWorker } from './process-worker.js';

export interface ProcessPoolOptions {
  /** Handler modules, name → absolute path: all a child ever loads. */
  readonly modules: Readonly<Record<string, string>>;
  /** Idle children kept warm for the next call; the rest exit after their call. @defaultValue 2 */
  readonly size?: number;
  /** How long a new child may take to load the modules. @defaultValue 30000 */
  readonly startTimeoutMs?: number;
}

/**
 * The `process` runtime's children. A call takes an idle child or forks a new one (so the
 * number of children follows the number of process-runtime calls in flight, which the runner's
 * capacity bounds); a child that answered goes back to the idle list, up to `size`, and is
 * reused; one that was killed or crashed is dropped, and the next call forks a fresh one.
 *
 * State: `open` → close() → `closed`. Closing kills every child, idle, busy or still starting,
 * and resolves once all are gone, so a closed runner leaves no process behind.
 */
export class ProcessPool {
  readonly #modules: Readonly<Record<string, string>>;
  readonly #size: number;
  readonly #startTimeoutMs: number;
  readonly #idle: ProcessWorker[] = [];
  /** Every child not yet exited, from the moment it is forked. */
  readonly #all = new Set<ProcessWorker>();
  #closed = false;

  constructor(options: ProcessPoolOptions) {
    this.#modules = options.modules;
    this.#size = options.size ?? 2;
    this.#startTimeoutMs = options.startTimeoutMs ?? 30_000;
  }

  /** Pids of the live children (for tests and diagnostics). */
  get pids(): number[] {
    return [...this.#all].map((worker) => worker.pid);
  }

  async acquire(): Promise<ProcessWorker> {
    if (this.#closed) throw new Error('the process pool is closed');
    for (let worker = this.#idle.pop(); worker; worker = this.#idle.pop()) {
      if (worker.idle) return worker;
    }
    const worker = new ProcessWorker((gone) => this.#forget(gone));
    this.#all.add(worker);
    try {
      // close() meanwhile kills it, which ends this wait too.
      await worker.ready(this.#modules, this.#startTimeoutMs);
    } catch (error) {
      await worker.kill();
      throw error;
    }
    if (this.#closed) {
      await worker.kill();
      throw new Error('the process pool was closed while a child started');
    }
    return worker;
  }

  /** A child whose call ended: kept warm when it is healthy and there is room, else ended. */
  release(worker: ProcessWorker): void {
    if (!this.#closed && worker.idle && this.#idle.length < this.#size) this.#idle.push(worker);
    else void worker.kill();
  }

  /** Kills a child (its handler ignored its signal); resolves once it is gone. */
  async discard(worker: ProcessWorker): Promise<void> {
    await worker.kill();
  }

  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all([...this.#all].map((worker) => worker.kill()));
    this.#idle.length = 0;
  }

  #forget(worker: ProcessWorker): void {
    this.#all.delete(worker);
    const index = this.#idle.indexOf(worker);
    if (index >= 0) this.#idle.splice(index, 1);
  }
}
