import { performance } from 'node:perf_hooks';
import type { Coordinator, RunEvent } from '../../src/coordination/contract.js';

/**
 * Counts runs completed, from the `runs` messages a runner's store publishes once a settle was
 * acknowledged (`withRunEvents`). Why not poll `statistics()`: on FerretDB each call scans every
 * shard's runs, so polling it often enough to time a drain would load the very servers being
 * measured; these messages cost MongoDB nothing, and time the end to the millisecond. The caller
 * confirms the end with one `statistics()`.
 *
 * State: constructed (subscribed) → `close()` (unsubscribed).
 */
export class CompletionWatch {
  readonly #completed = new Set<string>();
  readonly #unsubscribe: () => void;
  /** When the count last grew. */
  #lastCompletionAt = 0;
  #onProgress: (() => void) | null = null;

  constructor(coordinator: Coordinator) {
    this.#unsubscribe = coordinator.subscribe('runs', (message) => {
      if (!Array.isArray(message)) return;
      const before = this.#completed.size;
      for (const event of message as unknown as RunEvent[]) {
        if (event.status === 'completed') this.#completed.add(event.id);
      }
      if (this.#completed.size === before) return;
      this.#lastCompletionAt = performance.now();
      this.#onProgress?.();
    });
  }

  get completed(): number {
    return this.#completed.size;
  }

  /** `performance.now()` when the count last grew; 0 before the first completion. */
  get lastCompletionAt(): number {
    return this.#lastCompletionAt;
  }

  /**
   * Resolves with `performance.now()` at the message that brought the count to `target`; rejects
   * when no run completed for `stallMs`. `progress` hears every `every` completions.
   */
  until(target: number, stallMs: number, progress?: { every: number; report: (completed: number) => void }): Promise<number> {
    let reported = 0;
    const since = performance.now();
    return new Promise((resolve, reject) => {
      const finish = (settle: () => void) => {
        clearInterval(stallTimer);
        this.#onProgress = null;
        settle();
      };
      const check = () => {
        const completed = this.#completed.size;
        if (progress && completed >= reported + progress.every && completed < target) progress.report((reported = completed));
        if (completed >= target) {
          const at = this.#lastCompletionAt;
          finish(() => resolve(at));
        }
      };
      const stallTimer = setInterval(() => {
        if (performance.now() - Math.max(since, this.#lastCompletionAt) < stallMs) return;
        finish(() => reject(new Error(`no run completed for ${stallMs} ms (${this.#completed.size} of ${target} completed)`)));
      }, 1000);
      this.#onProgress = check;
      check();
    });
  }

  close(): void {
    this.#unsubscribe();
    this.#onProgress = null;
  }
}
