import { createTask, type ScheduledTask } from 'node-cron';
import type { Logger } from 'pino';
import { sameDefinition, type TaskDefinition } from '../core/definition.js';

/**
 * The cron side of the scheduler: one node-cron task per `periodical` definition, calling `fire`
 * with the scheduled instant of each tick (whole seconds, not the moment the timer woke up), so
 * the run id derived from it is the same on every scheduler.
 */
export class PeriodicTicks {
  readonly #tasks = new Map<string, { definition: TaskDefinition; task: ScheduledTask }>();
  readonly #fire: (definition: TaskDefinition, scheduledAt: Date) => void;
  readonly #log: Logger;

  constructor(fire: (definition: TaskDefinition, scheduledAt: Date) => void, log: Logger) {
    this.#fire = fire;
    this.#log = log;
  }

  /** Makes the running cron tasks match `definitions` (the periodical ones). */
  sync(definitions: readonly TaskDefinition[]): void {
    const wanted = new Map(definitions.filter((d) => d.kind === 'periodical' && d.schedule).map((d) => [d.name, d]));
    for (const [name, entry] of this.#tasks) {
      const next = wanted.get(name);
      if (!next || !sameDefinition(next, entry.definition)) {
        void entry.task.destroy();
        this.#tasks.delete(name);
      }
    }
    for (const [name, definition] of wanted) {
      if (this.#tasks.has(name)) continue;
      const task = createTask(definition.schedule!, (ctx) => this.#fire(definition, ctx.date), {
        name: `taskplane:${name}`,
        logger: cronLogger(this.#log),
      });
      void task.start();
      this.#tasks.set(name, { definition, task });
    }
  }

  nextFire(name: string): Date | null {
    return this.#tasks.get(name)?.task.getNextRun() ?? null;
  }

  clear(): void {
    for (const { task } of this.#tasks.values()) void task.destroy();
    this.#tasks.clear();
  }
}

function cronLogger(log: Logger) {
  return {
    info: (message: string) => log.debug({ source: 'node-cron' }, message),
    warn: (message: string) => log.warn({ source: 'node-cron' }, message),
    error: (message: string | Error, err?: Error) => log.error({ source: 'node-cron', err: err ?? message }, String(message)),
    debug: (message: string | Error) => log.debug({ source: 'node-cron' }, String(message)),
  };
}
