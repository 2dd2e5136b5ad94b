import type { Logger } from 'pino';
import type { Catalog } from '../catalog/contract.js';
import { runOfDefinition } from '../catalog/launcher.js';
import type { Coordinator, RunEvent } from '../coordination/contract.js';
import { Leadership } from '../coordination/leadership.js';
import type { TaskDefinition } from '../core/definition.js';
import { coerceError } from '../core/errors.js';
import { scheduledRunId } from '../core/run-ids.js';
import type { TaskStore } from '../storage/contract.js';
import { ContinuousRestarts } from './continuous-restarts.js';
import { PeriodicTicks } from './periodic-ticks.js';

/**
 * The scheduler role. Many nodes may run it; one leads at a time (the `scheduler` lease), the
 * others stand by and take over when the lease lapses.
 *
 * The leader fires `periodical` definitions on their cron and restarts `continuous` ones.
 * Definitions are reloaded when the catalog's version changes — on a `definitions` message, or at
 * the latest every `reloadEveryMs` — so a change through the API or a SIGHUP reload takes effect
 * without a restart. Two leaders overlapping for a moment (a paused process that wakes up after
 * losing its lease) cannot double a tick: run ids derive from (name, tick), and the second insert
 * is refused by the unique id.
 */
export interface SchedulerOptions {
  readonly store: TaskStore;
  readonly catalog: Catalog;
  readonly coordinator: Coordinator;
  readonly log: Logger;
  readonly nodeId: string;
  readonly leaseMs: number;
  /** Each tick's run is created this long before the tick, due at it (see periodic-ticks.ts). @defaultValue 0 */
  readonly leadMs?: number;
  /** @defaultValue 2000 */
  readonly reloadEveryMs?: number;
  /** How often continuous tasks are checked besides run events. @defaultValue 1000 */
  readonly continuousCheckMs?: number;
}

export class Scheduler {
  readonly #options: SchedulerOptions;
  readonly #log: Logger;
  readonly #leadership: Leadership;
  readonly #ticks: PeriodicTicks;
  readonly #continuous: ContinuousRestarts;
  readonly #unsubscribe: Array<() => void> = [];
  #timers: NodeJS.Timeout[] = [];
  #version: string | null = null;
  #reloading: Promise<void> | null = null;
  /** Ticks fired and duplicate ticks refused, for tests and metrics. */
  readonly counts = { fired: 0, duplicates: 0, failed: 0 };

  constructor(options: SchedulerOptions) {
    this.#options = options;
    this.#log = options.log.child({ role: 'scheduler' });
    this.#ticks = new PeriodicTicks((definition, at) => void this.#fire(definition, at), this.#log, options.leadMs ?? 0);
    this.#continuous = new ContinuousRestarts(options.store, this.#log);
    this.#leadership = new Leadership({
      coordinator: options.coordinator,
      name: 'scheduler',
      holder: options.nodeId,
      ttlMs: options.leaseMs,
      log: this.#log,
      onAcquire: () => this.#lead(),
      onLose: () => this.#standDown(),
    });
  }

  get leading(): boolean {
    return this.#leadership.leading;
  }

  /** Next fire time of a periodical definition, when this node leads. */
  nextFire(name: string): Date | null {
    return this.#ticks.nextFire(name);
  }

  start(): void {
    const { coordinator } = this.#options;
    this.#unsubscribe.push(coordinator.subscribe('definitions', () => void this.reload()));
    this.#unsubscribe.push(
      coordinator.subscribe('runs', (message) => {
        if (!this.leading || !Array.isArray(message)) return;
        const events = message as unknown as RunEvent[];
        if (events.some((event) => this.#continuous.tracks(event.id))) void this.#continuous.check();
      }),
    );
    this.#leadership.start();
  }

  async close(): Promise<void> {
    for (const unsubscribe of this.#unsubscribe.splice(0)) unsubscribe();
    await this.#leadership.close();
    this.#standDown();
  }

  /** Reloads definitions if the catalog changed (forced with `force`). Only the leader schedules. */
  reload(force = false): Promise<void> {
    if (!this.leading) return Promise.resolve();
    this.#reloading ??= this.#reload(force).finally(() => {
      this.#reloading = null;
    });
    return this.#reloading;
  }

  async #reload(force: boolean): Promise<void> {
    try {
      const version = await this.#options.catalog.version();
      if (!force && version === this.#version) return;
      const definitions = await this.#options.catalog.listDefinitions();
      if (!this.leading) return;
      this.#version = version;
      this.#apply(definitions);
      this.#log.info({ definitions: definitions.length, version }, 'definitions loaded');
    } catch (error) {
      this.#log.error({ err: coerceError(error) }, 'cannot load definitions; keeping the current schedule');
    }
  }

  #apply(definitions: readonly TaskDefinition[]): void {
    this.#ticks.sync(definitions);
    this.#continuous.sync(definitions);
    void this.#continuous.check();
  }

  async #lead(): Promise<void> {
    const { reloadEveryMs = 2000, continuousCheckMs = 1000 } = this.#options;
    this.#version = null;
    await this.reload(true);
    this.#timers.push(setInterval(() => void this.reload(), reloadEveryMs));
    this.#timers.push(setInterval(() => void this.#continuous.check(), continuousCheckMs));
  }

  #standDown(): void {
    for (const timer of this.#timers.splice(0)) clearInterval(timer);
    this.#ticks.clear();
    this.#continuous.clear();
    this.#version = null;
  }

  async #fire(definition: TaskDefinition, scheduledAt: Date): Promise<void> {
    if (!this.leading) return;
    try {
      const id = scheduledRunId(definition.name, scheduledAt);
      // Due at the tick, created up to `leadMs` before it.
      const [result] = await this.#options.store.createMany([runOfDefinition(definition, undefined, { id, runAfter: scheduledAt })]);
      if (result?.created) this.counts.fired++;
      else if (result?.unavailable) {
        this.counts.failed++;
        this.#log.warn({ task: definition.name, shard: result.unavailable, scheduledAt }, 'tick not recorded: shard unavailable');
      } else {
        this.counts.duplicates++;
        this.#log.debug({ task: definition.name, scheduledAt }, 'tick already fired by another scheduler');
      }
    } catch (error) {
      this.counts.failed++;
      this.#log.error({ task: definition.name, err: coerceError(error) }, 'tick failed');
    }
  }
}
