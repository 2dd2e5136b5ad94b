import type { Coordinator } from '../../coordination/contract.js';
import { WORKER_GROUPS_CHANNEL } from '../../catalog/worker-groups.js';
import { coerceError } from '../../core/errors.js';
import type { JsonValue } from '../../core/types.js';
import type { TaskStore } from '../../storage/contract.js';
import type { ApiLogger } from '../context.js';
import { RUNNER_EVENTS } from './protocol.js';

/**
 * The push channel's fan-out on one api node: the coordinator messages a runner subscribes to,
 * forwarded to the event streams of remote runners — each stream gets only what concerns it:
 *
 * - `work:<cluster>` → `work`, to streams of that cluster only;
 * - `stop` `{ id }` → `stop`, to the stream of the runner holding that run (the run is read once
 *   per message to learn its holder, so no runner hears of another's runs);
 * - `config:worker-groups` `{ name }` → `worker-group`, to streams of that group (all, when the
 *   message names none).
 *
 * Coordinator subscriptions are taken when the first stream needs them and dropped with the
 * last. Messages are hints, as on Redis: a stream that misses one still polls, renews (which
 * reports stop requests) and re-reads its group's config on a timer.
 */
export interface RunnerStream {
  readonly runner: string;
  readonly cluster: string;
  readonly group: string;
  send(event: string, data: JsonValue): void;
}

export class RunnerEventHub {
  readonly #coordinator: Pick<Coordinator, 'subscribe'>;
  readonly #store: Pick<TaskStore, 'get'>;
  readonly #log: ApiLogger;
  readonly #streams = new Set<RunnerStream>();
  /** Subscriptions by channel, with the number of streams that need each. */
  readonly #subscriptions = new Map<string, { count: number; unsubscribe: () => void }>();

  constructor(coordinator: Pick<Coordinator, 'subscribe'>, store: Pick<TaskStore, 'get'>, log: ApiLogger) {
    this.#coordinator = coordinator;
    this.#store = store;
    this.#log = log;
  }

  get size(): number {
    return this.#streams.size;
  }

  /** Starts forwarding to `stream`; returns the function that stops it. */
  open(stream: RunnerStream): () => void {
    this.#streams.add(stream);
    const channels = [`work:${stream.cluster}`, 'stop', WORKER_GROUPS_CHANNEL] as const;
    for (const channel of channels) this.#retain(channel);
    let open = true;
    return () => {
      if (!open) return;
      open = false;
      this.#streams.delete(stream);
      for (const channel of channels) this.#release(channel);
    };
  }

  close(): void {
    for (const { unsubscribe } of this.#subscriptions.values()) unsubscribe();
    this.#subscriptions.clear();
    this.#streams.clear();
  }

  #retain(channel: string): void {
    const held = this.#subscriptions.get(channel);
    if (held) {
      held.count++;
      return;
    }
    const unsubscribe = this.#coordinator.subscribe(channel as `work:${string}`, (message) => this.#deliver(channel, message));
    this.#subscriptions.set(channel, { count: 1, unsubscribe });
  }

  #release(channel: string): void {
    const held = this.#subscriptions.get(channel);
    if (!held) return;
    if (--held.count > 0) return;
    held.unsubscribe();
    this.#subscriptions.delete(channel);
  }

  #deliver(channel: string, message: JsonValue): void {
    const fields = typeof message === 'object' && message !== null && !Array.isArray(message) ? message : {};
    if (channel.startsWith('work:')) {
      const cluster = channel.slice('work:'.length);
      for (const stream of this.#streams) if (stream.cluster === cluster) stream.send(RUNNER_EVENTS.work, {});
    } else if (channel === WORKER_GROUPS_CHANNEL) {
      const name = typeof fields.name === 'string' ? fields.name : null;
      for (const stream of this.#streams) if (name === null || stream.group === name) stream.send(RUNNER_EVENTS.workerGroup, name === null ? {} : { name });
    } else if (channel === 'stop' && typeof fields.id === 'string') {
      void this.#deliverStop(fields.id);
    }
  }

  async #deliverStop(id: string): Promise<void> {
    if (this.#streams.size === 0) return;
    try {
      const run = await this.#store.get(id);
      if (!run?.runner) return;
      for (const stream of this.#streams) if (stream.runner === run.runner) stream.send(RUNNER_EVENTS.stop, { id });
    } catch (error) {
      // The runner's next renewal reports the stop request instead.
      this.#log.warn({ err: coerceError(error), runId: id }, 'could not forward a stop request to remote runners');
    }
  }
}
