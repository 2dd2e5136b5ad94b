import type { Logger } from 'pino';
import type { Catalog, WorkerGroupConfig } from '../catalog/contract.js';
import { WORKER_GROUPS_CHANNEL } from '../catalog/worker-groups.js';
import type { Coordinator } from '../coordination/contract.js';
import { coerceError } from '../core/errors.js';

/**
 * Keeps a runner's view of its worker group's config fresh, without a restart.
 *
 * Two paths lead to a re-read from the catalog: a `config:worker-groups` message naming the group
 * (delivered in milliseconds while Redis is up), and a timer every `everyMs` (the fallback when a
 * message is lost, or Redis is down). Reads never overlap: a trigger that arrives during a read
 * schedules one more read after it. `onChange` is called only when the config differs from the
 * last one seen (its `updatedAt` alone does not count). A failed read is logged once per outage
 * and the runner keeps the config it has.
 *
 * State: created → start() → watching → close() → closed.
 */
export interface WorkerGroupWatchOptions {
  readonly catalog: Pick<Catalog, 'getWorkerGroup'>;
  readonly coordinator: Pick<Coordinator, 'subscribe'>;
  readonly group: string;
  readonly log: Logger;
  readonly onChange: (config: WorkerGroupConfig | null) => void;
  /** Re-read interval besides the change message. @defaultValue 2000 */
  readonly everyMs?: number;
}

export class WorkerGroupWatch {
  readonly #options: WorkerGroupWatchOptions;
  #seen = '';
  #timer: NodeJS.Timeout | null = null;
  #unsubscribe: (() => void) | null = null;
  #reading: Promise<void> | null = null;
  #again = false;
  #failing = false;
  #closed = false;

  constructor(options: WorkerGroupWatchOptions) {
    this.#options = options;
  }

  /** Starts watching; `current` is the config the runner already applied. */
  start(current: WorkerGroupConfig | null): void {
    this.#seen = fingerprint(current);
    const { coordinator, group, everyMs = 2000 } = this.#options;
    this.#unsubscribe = coordinator.subscribe(WORKER_GROUPS_CHANNEL, (message) => {
      const name = typeof message === 'object' && message !== null && !Array.isArray(message) ? message.name : undefined;
      // A message without a name (or a malformed one) may concern anyone: re-read.
      if (typeof name !== 'string' || name === group) this.check();
    });
    this.#timer = setInterval(() => this.check(), everyMs);
    this.#timer.unref();
  }

  /** Re-reads now (or right after the read in flight). */
  check(): void {
    if (this.#closed) return;
    if (this.#reading) {
      this.#again = true;
      return;
    }
    this.#reading = this.#read().finally(() => {
      this.#reading = null;
      if (this.#again && !this.#closed) {
        this.#again = false;
        this.check();
      }
    });
  }

  /** Resolves when no read is in flight (tests and shutdown). */
  async settled(): Promise<void> {
    while (this.#reading) await this.#reading;
  }

  close(): void {
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#unsubscribe?.();
  }

  async #read(): Promise<void> {
    const { catalog, group, log, onChange } = this.#options;
    let config: WorkerGroupConfig | null;
    try {
      config = await catalog.getWorkerGroup(group);
    } catch (error) {
      if (!this.#failing) log.warn({ err: coerceError(error), group }, 'cannot read the worker group config; keeping the current one and retrying');
      this.#failing = true;
      return;
    }
    if (this.#failing) log.info({ group }, 'worker group config readable again');
    this.#failing = false;
    const print = fingerprint(config);
    if (this.#closed || print === this.#seen) return;
    this.#seen = print;
    onChange(config);
  }
}

function fingerprint(config: WorkerGroupConfig | null): string {
  if (!config) return 'none';
  const { tags, tagPriorities, dedicatedHandler, initCommand } = config;
  return JSON.stringify({ tags, tagPriorities, dedicatedHandler, initCommand });
}
