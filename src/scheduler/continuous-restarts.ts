import type { Logger } from 'pino';
import { runOfDefinition } from '../catalog/launcher.js';
import type { TaskDefinition } from '../core/definition.js';
import { coerceError } from '../core/errors.js';
import { continuationRunId } from '../core/run-ids.js';
import { isFinalStatus } from '../core/types.js';
import type { TaskStore } from '../storage/contract.js';

/**
 * Keeps each `continuous` definition running: when its latest run has ended (completed, failed,
 * lost, stopped — any final status), the next one is created with `runAfter = end + pause_sec`.
 * Retries inside a run's attempt budget are storage's business; this only starts the next run.
 *
 * The successor's id is derived from its predecessor's, so two schedulers that both notice the
 * end create one run; and a first run's id from the definition's version.
 */
export class ContinuousRestarts {
  readonly #store: TaskStore;
  readonly #log: Logger;
  #definitions: TaskDefinition[] = [];
  /** name → id of the run we are waiting on. */
  readonly #current = new Map<string, string>();
  #checking: Promise<void> | null = null;

  constructor(store: TaskStore, log: Logger) {
    this.#store = store;
    this.#log = log;
  }

  sync(definitions: readonly TaskDefinition[]): void {
    this.#definitions = definitions.filter((d) => d.kind === 'continuous');
    const names = new Set(this.#definitions.map((d) => d.name));
    for (const name of this.#current.keys()) if (!names.has(name)) this.#current.delete(name);
  }

  /** True when `runId` is a run this keeper waits on (so its change is worth a check). */
  tracks(runId: string): boolean {
    for (const id of this.#current.values()) if (id === runId) return true;
    return false;
  }

  clear(): void {
    this.#definitions = [];
    this.#current.clear();
  }

  /** Checks every continuous definition once; overlapping calls share one check. */
  check(): Promise<void> {
    this.#checking ??= this.#checkAll().finally(() => {
      this.#checking = null;
    });
    return this.#checking;
  }

  async #checkAll(): Promise<void> {
    await Promise.all(
      this.#definitions.map((definition) =>
        this.#checkOne(definition).catch((error: unknown) =>
          this.#log.error({ task: definition.name, err: coerceError(error) }, 'continuous restart check failed'),
        ),
      ),
    );
  }

  async #checkOne(definition: TaskDefinition): Promise<void> {
    const page = await this.#store.select({ name: definition.name }, { first: 1 });
    if (page.unavailable.length > 0 && page.runs.length === 0) return; // cannot tell; try next time
    const latest = page.runs[0];
    if (latest && !isFinalStatus(latest.status)) {
      this.#current.set(definition.name, latest.id);
      return;
    }
    const id = continuationRunId(definition.name, latest?.id ?? null, definition.updatedAt.toISOString());
    const runAfter = latest ? new Date((latest.finishedAt ?? new Date()).getTime() + definition.pauseSec * 1000) : new Date();
    const [result] = await this.#store.createMany([runOfDefinition(definition, undefined, { id, runAfter })]);
    this.#current.set(definition.name, id);
    if (result?.created) this.#log.debug({ task: definition.name, runId: id, runAfter }, 'continuous task restarted');
  }
}
