import type { Logger } from 'pino';
import type { Coordinator } from '../coordination/contract.js';
import { Leadership } from '../coordination/leadership.js';
import { coerceError } from '../core/errors.js';
import type { TaskStore } from './contract.js';

/**
 * The storage role: keeps shards healthy. For each shard it competes for the lease
 * `storage:<shard>`; while it holds one it sweeps that shard (expired leases → retry or `lost`,
 * pending runs past their expiry → `did not start`) every `sweepEveryMs` and trims each task
 * name's finished history to `taskLogMaxSize` every `trimEveryMs`, and checks the shard's run
 * counts against its runs every `recountEveryMs` (and once on taking the shard), repairing the
 * drift a writer that died mid-change leaves (`run-counts.ts`). Several storage nodes split
 * the shards between them and take over the shards of one that dies once its leases lapse.
 *
 * Index creation (the Tarantool `set_ddl` step) happens in `store.start()` on every node, since it
 * is idempotent and each node needs the indexes before its first query.
 */
export interface ShardKeeperOptions {
  readonly store: TaskStore;
  readonly coordinator: Coordinator;
  readonly log: Logger;
  readonly nodeId: string;
  readonly leaseMs: number;
  readonly sweepEveryMs: number;
  readonly trimEveryMs: number;
  readonly taskLogMaxSize: number;
  /** How often the shard's run counts are checked against its runs. @defaultValue 300000 (5 min) */
  readonly recountEveryMs?: number;
}

export class ShardKeeper {
  readonly #options: ShardKeeperOptions;
  readonly #log: Logger;
  readonly #shards: Map<string, { leadership: Leadership; timers: NodeJS.Timeout[] }>;
  /** Work done, for tests and metrics. */
  readonly counts = { retried: 0, lost: 0, didNotStart: 0, trimmed: 0, recounted: 0, errors: 0 };

  constructor(options: ShardKeeperOptions) {
    this.#options = options;
    this.#log = options.log.child({ role: 'storage' });
    this.#shards = new Map();
    for (const shard of options.store.shards) {
      const timers: NodeJS.Timeout[] = [];
      const leadership = new Leadership({
        coordinator: options.coordinator,
        name: `storage:${shard}`,
        holder: options.nodeId,
        ttlMs: options.leaseMs,
        log: this.#log,
        onAcquire: () => this.#keep(shard, timers),
        onLose: () => {
          for (const timer of timers.splice(0)) clearInterval(timer);
        },
      });
      this.#shards.set(shard, { leadership, timers });
    }
  }

  /** Shards this node maintains now. */
  get held(): string[] {
    return [...this.#shards].filter(([, entry]) => entry.leadership.leading).map(([shard]) => shard);
  }

  start(): void {
    for (const { leadership } of this.#shards.values()) leadership.start();
  }

  async close(): Promise<void> {
    await Promise.all([...this.#shards.values()].map(({ leadership }) => leadership.close()));
  }

  #keep(shard: string, timers: NodeJS.Timeout[]): void {
    const { sweepEveryMs, trimEveryMs } = this.#options;
    timers.push(this.#every(sweepEveryMs, () => this.#sweep(shard)));
    timers.push(this.#every(trimEveryMs, () => this.#trim(shard)));
    timers.push(this.#every(this.#options.recountEveryMs ?? 300_000, () => this.#recount(shard)));
    void this.#sweep(shard).then(() => this.#recount(shard));
  }

  /** An interval whose runs never overlap: a slow shard skips ticks instead of piling them up. */
  #every(ms: number, work: () => Promise<void>): NodeJS.Timeout {
    let busy = false;
    return setInterval(() => {
      if (busy) return;
      busy = true;
      void work().finally(() => {
        busy = false;
      });
    }, ms);
  }

  async #sweep(shard: string): Promise<void> {
    try {
      const result = await this.#options.store.sweep([shard]);
      this.counts.retried += result.retried;
      this.counts.lost += result.lost;
      this.counts.didNotStart += result.didNotStart;
      if (result.retried + result.lost + result.didNotStart > 0) this.#log.info({ shard, ...result }, 'swept expired runs');
      if (result.unavailable.length > 0) this.#log.warn({ shard }, 'shard unavailable during sweep');
    } catch (error) {
      this.counts.errors++;
      this.#log.error({ shard, err: coerceError(error) }, 'sweep failed');
    }
  }

  async #recount(shard: string): Promise<void> {
    const { store } = this.#options;
    if (!store.recount) return;
    try {
      const result = await store.recount([shard]);
      this.counts.recounted += result.corrected;
      if (result.corrected > 0) this.#log.warn({ shard, corrected: result.corrected }, 'run counts had drifted from the runs; repaired');
      if (result.folded > 0) this.#log.debug({ shard, folded: result.folded }, 'folded the run-count records of idle writers');
      if (result.busy.length > 0) this.#log.debug({ shard }, 'runs changed while counting; run counts checked again later');
    } catch (error) {
      this.counts.errors++;
      this.#log.error({ shard, err: coerceError(error) }, 'recount failed');
    }
  }

  async #trim(shard: string): Promise<void> {
    try {
      const result = await this.#options.store.trim(this.#options.taskLogMaxSize, [shard]);
      this.counts.trimmed += result.deleted;
      if (result.deleted > 0) this.#log.debug({ shard, deleted: result.deleted }, 'trimmed finished runs');
    } catch (error) {
      this.counts.errors++;
      this.#log.error({ shard, err: coerceError(error) }, 'trim failed');
    }
  }
}
