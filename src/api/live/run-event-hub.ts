import DataLoader from 'dataloader';
import { z } from 'zod';
import type { Coordinator, RunEvent } from '../../coordination/contract.js';
import { isRunId } from '../../core/run-ids.js';
import type { Run } from '../../core/types.js';
import type { ApiLogger } from '../context.js';

/**
 * One subscription to the coordinator's `runs` channel per api instance, fanned out to every
 * live GraphQL subscription on it. Events come from whichever node wrote the run (through Redis
 * in a cluster), so a run completed by a runner in another process reaches subscribers here.
 *
 * The channel is subscribed while at least one listener is attached and dropped when the last
 * one leaves, so a disconnected client leaves nothing behind. Each message gets one DataLoader
 * shared by all listeners: a hundred subscribers to the same run cost one read per event.
 */

const runEventSchema = z.object({
  id: z.string().refine(isRunId),
  name: z.string(),
  jobId: z.string(),
  cluster: z.string(),
  status: z.string(),
  attempt: z.number(),
  at: z.string(),
});
const messageSchema = z.array(runEventSchema);

/** Loads a run as it is after the event; null when it is gone. Shared by the listeners of one message. */
export type LoadRun = (id: string) => Promise<Run | null>;
export type RunEventListener = (events: readonly RunEvent[], load: LoadRun) => void;

export class RunEventHub {
  readonly #coordinator: Coordinator;
  readonly #loadRuns: (ids: readonly string[]) => Promise<Array<Run | null | Error>>;
  readonly #logger: ApiLogger | undefined;
  readonly #listeners = new Set<RunEventListener>();
  #unsubscribe: (() => void) | null = null;

  constructor(
    coordinator: Coordinator,
    loadRuns: (ids: readonly string[]) => Promise<Array<Run | null | Error>>,
    logger?: ApiLogger,
  ) {
    this.#coordinator = coordinator;
    this.#loadRuns = loadRuns;
    this.#logger = logger;
  }

  /** Attaches `listener`; returns the function that detaches it. */
  listen(listener: RunEventListener): () => void {
    this.#listeners.add(listener);
    this.#unsubscribe ??= this.#coordinator.subscribe('runs', (message) => this.#dispatch(message));
    return () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size === 0) this.close();
    };
  }

  get listenerCount(): number {
    return this.#listeners.size;
  }

  /** Drops the coordinator subscription; listeners still attached get nothing more. */
  close(): void {
    this.#unsubscribe?.();
    this.#unsubscribe = null;
  }

  #dispatch(message: unknown): void {
    const parsed = messageSchema.safeParse(message);
    if (!parsed.success) {
      this.#logger?.warn({ issue: parsed.error.issues[0]?.message }, 'ignored a malformed message on the runs channel');
      return;
    }
    const loader = new DataLoader<string, Run | null>((ids) => this.#loadRuns(ids), { cache: true });
    const load: LoadRun = async (id) => {
      try {
        return await loader.load(id);
      } catch (error) {
        this.#logger?.warn({ err: error, runId: id }, 'could not load an updated run; sending the event as it came');
        return null;
      }
    };
    for (const listener of [...this.#listeners]) {
      try {
        listener(parsed.data, load);
      } catch (error) {
        this.#logger?.error({ err: error }, 'a run event listener threw');
      }
    }
  }
}
