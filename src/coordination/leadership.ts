import type { Logger } from 'pino';
import { coerceError } from '../core/errors.js';
import type { Coordinator } from './contract.js';

/**
 * Holds one named lease for as long as it can: the scheduler's leadership and each shard's
 * storage upkeep use it. Every `ttlMs / 3` the holder renews and a standby tries to acquire, so a
 * standby takes over at most `ttlMs` (plus one try interval) after a leader dies.
 *
 * State: `standby` ⇄ `leading`, then `closed`. A renewal that fails or throws (Redis down) ends
 * leadership at once: a leader that cannot prove it holds the lease must stop acting, because a
 * standby may acquire it as soon as it lapses. `onAcquire` receives the fencing token.
 */
export interface LeadershipOptions {
  readonly coordinator: Coordinator;
  readonly name: string;
  readonly holder: string;
  readonly ttlMs: number;
  readonly log: Logger;
  readonly onAcquire: (token: number) => void | Promise<void>;
  readonly onLose: () => void | Promise<void>;
}

export class Leadership {
  readonly #options: LeadershipOptions;
  #state: 'standby' | 'leading' | 'closed' = 'standby';
  #token = 0;
  #timer: NodeJS.Timeout | null = null;
  #tick: Promise<void> = Promise.resolve();

  constructor(options: LeadershipOptions) {
    this.#options = options;
  }

  get leading(): boolean {
    return this.#state === 'leading';
  }

  get token(): number {
    return this.#token;
  }

  start(): void {
    const every = Math.max(50, Math.floor(this.#options.ttlMs / 3));
    this.#timer = setInterval(() => {
      this.#tick = this.#tick.then(() => this.#step());
    }, every);
    this.#tick = this.#step();
  }

  /** Stops trying and gives the lease up so a standby takes over at once. */
  async close(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    await this.#tick;
    const wasLeading = this.#state === 'leading';
    this.#state = 'closed';
    if (wasLeading) {
      await this.#safely(this.#options.onLose);
      const { coordinator, name, holder } = this.#options;
      // If Redis does not answer, the lease simply lapses after `ttlMs`.
      await coordinator.releaseLease(name, holder, this.#token).catch(() => {});
    }
  }

  async #step(): Promise<void> {
    const { coordinator, name, holder, ttlMs, log } = this.#options;
    if (this.#state === 'closed') return;
    try {
      if (this.#state === 'leading') {
        if (await coordinator.renewLease(name, holder, this.#token, ttlMs)) return;
        log.warn({ lease: name }, 'lease lost to another holder');
        await this.#lose();
        return;
      }
      const grant = await coordinator.acquireLease(name, holder, ttlMs);
      if (!grant || this.#state !== 'standby') return;
      this.#token = grant.token;
      this.#state = 'leading';
      log.info({ lease: name, token: grant.token }, 'lease acquired');
      await this.#safely(() => this.#options.onAcquire(grant.token));
    } catch (error) {
      if (this.#state === 'leading') {
        log.warn({ lease: name, err: coerceError(error) }, 'cannot renew lease; stepping down');
        await this.#lose();
      }
    }
  }

  async #lose(): Promise<void> {
    this.#state = 'standby';
    await this.#safely(this.#options.onLose);
  }

  async #safely(fn: () => void | Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (error) {
      this.#options.log.error({ lease: this.#options.name, err: coerceError(error) }, 'lease callback failed');
    }
  }
}
