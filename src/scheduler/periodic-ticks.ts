import { createTask, type ScheduledTask } from 'node-cron';
import type { Logger } from 'pino';
import { sameDefinition, type TaskDefinition } from '../core/definition.js';

/** setTimeout fires at once beyond this (about 24.8 days): a tick further away is re-armed then. */
const MAX_TIMER_MS = 2 ** 31 - 1;

interface Entry {
  readonly definition: TaskDefinition;
  /** node-cron's task: the cron engine (seconds field, time zone), asked for the instants only. */
  readonly task: ScheduledTask;
  timer: NodeJS.Timeout | null;
  /** The last instant handed to `fire`: the next one is strictly later. */
  last: Date | null;
}

/**
 * The cron side of the scheduler: the instants of each `periodical` definition, as node-cron
 * computes them, handed to `fire` `leadMs` before each one (whole seconds, not the moment the
 * timer woke up), so the run id derived from an instant is the same on every scheduler.
 *
 * Firing ahead lets the run be created, due at the instant, before the instant comes: a runner
 * with a lookahead claims it meanwhile and begins it on the tick, so the handler does not start
 * a create and a claim (several round trips to a shard) late. A timer that wakes after its instant
 * (a stalled event loop) still fires it; instants that passed while nothing was armed are skipped,
 * as node-cron skips them.
 */
export class PeriodicTicks {
  readonly #entries = new Map<string, Entry>();
  readonly #fire: (definition: TaskDefinition, scheduledAt: Date) => void;
  readonly #log: Logger;
  readonly #leadMs: number;

  constructor(fire: (definition: TaskDefinition, scheduledAt: Date) => void, log: Logger, leadMs = 0) {
    this.#fire = fire;
    this.#log = log;
    this.#leadMs = leadMs;
  }

  /** Makes the armed schedules match `definitions` (the periodical ones). */
  sync(definitions: readonly TaskDefinition[]): void {
    const wanted = new Map(definitions.filter((d) => d.kind === 'periodical' && d.schedule).map((d) => [d.name, d]));
    for (const [name, entry] of this.#entries) {
      const next = wanted.get(name);
      if (!next || !sameDefinition(next, entry.definition)) this.#remove(name, entry);
    }
    for (const [name, definition] of wanted) {
      if (this.#entries.has(name)) continue;
      let task: ScheduledTask;
      try {
        task = createTask(definition.schedule!, () => {}, { name: `taskplane:${name}`, logger: cronLogger(this.#log) });
      } catch (error) {
        // Definitions are validated when stored; this guards against one that is not.
        this.#log.error({ task: name, schedule: definition.schedule, err: error }, 'cannot schedule: bad cron expression');
        continue;
      }
      const entry: Entry = { definition, task, timer: null, last: null };
      this.#entries.set(name, entry);
      this.#arm(entry);
    }
  }

  nextFire(name: string): Date | null {
    const entry = this.#entries.get(name);
    return entry ? this.#nextInstant(entry) : null;
  }

  clear(): void {
    for (const [name, entry] of this.#entries) this.#remove(name, entry);
  }

  #nextInstant(entry: Entry): Date | null {
    return entry.task.getNextRuns(2).find((instant) => entry.last === null || instant > entry.last) ?? null;
  }

  #arm(entry: Entry): void {
    const instant = this.#nextInstant(entry);
    if (!instant) return;
    const wait = instant.getTime() - this.#leadMs - Date.now();
    if (wait > MAX_TIMER_MS) {
      entry.timer = setTimeout(() => this.#arm(entry), MAX_TIMER_MS);
      return;
    }
    entry.timer = setTimeout(() => {
      if (this.#entries.get(entry.definition.name) !== entry) return;
      entry.last = instant;
      this.#fire(entry.definition, instant);
      this.#arm(entry);
    }, Math.max(0, wait));
  }

  #remove(name: string, entry: Entry): void {
    if (entry.timer) clearTimeout(entry.timer);
    void entry.task.destroy();
    this.#entries.delete(name);
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
