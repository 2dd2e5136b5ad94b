import { TaskplaneClientError } from '../../../src/client/taskplane-client.js';
import { TaskplaneError } from '../../../src/core/errors.js';

/**
 * Creates runs at a steady rate in the background (at most `MAX_IN_FLIGHT` calls at once, so a
 * shard that takes seconds to refuse does not stall the rest), and tallies what happened per
 * phase: ids created, and errors by code. The scenario moves `phase` along as it breaks things.
 */
const MAX_IN_FLIGHT = 8;

export class Producer {
  phase = 'before';
  readonly #create: (i: number) => Promise<string>;
  readonly #ratePerSecond: number;
  readonly #log: (message: string) => void;
  readonly #created = new Map<string, string[]>();
  readonly #errors = new Map<string, number>();
  readonly #inFlight = new Set<Promise<void>>();
  #next = 0;
  #loop: Promise<void> | null = null;
  #stopping = false;

  constructor(log: (message: string) => void, ratePerSecond: number, create: (i: number) => Promise<string>) {
    this.#log = log;
    this.#ratePerSecond = ratePerSecond;
    this.#create = create;
  }

  start(): void {
    this.#loop = this.#run();
  }

  /** Stops creating and waits for the calls in flight. */
  async stop(): Promise<void> {
    this.#stopping = true;
    await this.#loop;
    await Promise.all(this.#inFlight);
  }

  createdIn(phase: string): string[] {
    return this.#created.get(phase) ?? [];
  }

  errors(phase: string, code: string): number {
    return this.#errors.get(`${phase}:${code}`) ?? 0;
  }

  /** `phase:code ×n` for every error whose code is not `code`. */
  errorsOtherThan(code: string): string[] {
    return [...this.#errors].filter(([key]) => !key.endsWith(`:${code}`)).map(([key, n]) => `${key} ×${n}`);
  }

  async #run(): Promise<void> {
    const every = 1000 / this.#ratePerSecond;
    const started = Date.now();
    while (!this.#stopping) {
      if (this.#inFlight.size < MAX_IN_FLIGHT) {
        const phase = this.phase;
        const call = this.#create(this.#next++).then(
          (id) => {
            const list = this.#created.get(phase) ?? [];
            list.push(id);
            this.#created.set(phase, list);
          },
          (error: unknown) => {
            const code = error instanceof TaskplaneClientError || error instanceof TaskplaneError ? error.code : 'THROWN';
            const key = `${phase}:${code}`;
            if (!this.#errors.has(key)) this.#log(`create failed (${key}): ${error instanceof Error ? error.message : String(error)}`);
            this.#errors.set(key, (this.#errors.get(key) ?? 0) + 1);
          },
        );
        this.#inFlight.add(call);
        void call.finally(() => this.#inFlight.delete(call));
      }
      const due = started + this.#next * every;
      await new Promise((resolve) => setTimeout(resolve, Math.max(5, due - Date.now())));
    }
  }
}
