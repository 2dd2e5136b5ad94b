import type { Logger } from 'pino';
import type { Settlement, TaskStore } from '../storage/contract.js';

/**
 * Batches the ends of attempts into `settle` calls: every outcome reported while a settle is in
 * flight goes into the next one, so a busy runner writes once per shard per batch instead of once
 * per run. An outcome whose shard is down stays queued and is retried with backoff; one refused
 * for a stale lease is dropped (someone else owns the run now, and that is the point of leases).
 */
export class SettlementQueue {
  readonly #store: Pick<TaskStore, 'settle'>;
  readonly #log: Logger;
  #queue: Settlement[] = [];
  #flushing: Promise<void> | null = null;
  #retryTimer: NodeJS.Timeout | null = null;
  #retryDelayMs = 100;
  #closed = false;
  readonly #urgent = new Set<Promise<void>>();

  constructor(store: Pick<TaskStore, 'settle'>, log: Logger) {
    this.#store = store;
    this.#log = log;
  }

  get size(): number {
    return this.#queue.length;
  }

  /**
   * Writes an outcome someone is waiting to see (an operator's stop) in its own `settle` call
   * instead of behind the batch in flight; falls back to the queue if that write fails.
   */
  addUrgent(settlement: Settlement): void {
    const write = this.#flush([settlement]).then((retry) => {
      for (const again of retry) this.add(again);
    });
    this.#urgent.add(write);
    void write.finally(() => this.#urgent.delete(write));
  }

  add(settlement: Settlement): void {
    this.#queue.push(settlement);
    if (!this.#flushing && !this.#retryTimer) this.#flushing = this.#flushLoop();
  }

  /** Resolves once everything queued so far was written or refused, or after `timeoutMs`. */
  async drain(timeoutMs: number): Promise<void> {
    const until = Date.now() + timeoutMs;
    if (this.#urgent.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.all(this.#urgent), new Promise((r) => (timer = setTimeout(r, timeoutMs)))]);
      clearTimeout(timer);
    }
    while ((this.#queue.length > 0 || this.#flushing) && Date.now() < until) {
      if (this.#retryTimer) {
        clearTimeout(this.#retryTimer);
        this.#retryTimer = null;
        this.#flushing = this.#flushLoop();
      }
      await Promise.race([this.#flushing, new Promise((r) => setTimeout(r, 50))]);
    }
  }

  close(): void {
    this.#closed = true;
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
    this.#retryTimer = null;
  }

  async #flushLoop(): Promise<void> {
    // Yield first, so `finally` always runs after the caller stored this promise in #flushing.
    await Promise.resolve();
    try {
      while (this.#queue.length > 0 && !this.#closed) {
        const batch = this.#queue;
        this.#queue = [];
        const retry = await this.#flush(batch);
        if (retry.length > 0) {
          this.#queue.unshift(...retry);
          this.#scheduleRetry();
          return;
        }
        this.#retryDelayMs = 100;
      }
    } finally {
      this.#flushing = null;
    }
  }

  /** Writes one batch; returns the settlements to try again. */
  async #flush(batch: Settlement[]): Promise<Settlement[]> {
    try {
      const results = await this.#store.settle(batch);
      const retry: Settlement[] = [];
      results.forEach((result, index) => {
        if (result.accepted) return;
        if (result.unavailable) retry.push(batch[index]!);
        else this.#log.warn({ runId: result.id }, 'outcome refused: the lease had moved on (expired or stopped)');
      });
      return retry;
    } catch (error) {
      this.#log.error({ err: error, count: batch.length }, 'settle failed; will retry');
      return batch;
    }
  }

  #scheduleRetry(): void {
    if (this.#closed) return;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = null;
      this.#flushing = this.#flushLoop();
    }, this.#retryDelayMs);
    this.#retryDelayMs = Math.min(this.#retryDelayMs * 2, 5_000);
  }
}
