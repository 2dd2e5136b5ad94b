import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { RUNNER_EVENTS } from '../../api/runner-gateway/protocol.js';
import { WORKER_GROUPS_CHANNEL } from '../../catalog/worker-groups.js';
import type { Channel, Coordinator, CoordinatorHealth, MemberKind } from '../../coordination/contract.js';
import { coerceError } from '../../core/errors.js';
import type { JsonValue } from '../../core/types.js';
import { readEventStream } from './event-stream.js';
import type { GatewayClient } from './gateway-client.js';

/** What a runner needs of coordination; the remote coordinator implements exactly this. */
export type RunnerCoordinator = Pick<Coordinator, 'subscribe' | 'heartbeat' | 'leave'>;

export interface RemoteCoordinatorOptions {
  readonly client: GatewayClient;
  readonly log: Logger;
  /** The scoped runner id (`<node>@<token>`) the push channel is opened for. */
  readonly runner: string;
  readonly cluster: string;
  readonly group: string;
  /** A stream silent this long (the gateway sends a comment every 15 s) is taken for dead and reopened. @defaultValue 45000 */
  readonly idleMs?: number;
}

/**
 * The runner's coordination, over the runner gateway.
 *
 * - `heartbeat` and `leave` are requests; like the Redis coordinator's they never throw (a
 *   failure is logged once per outage and shows in `health()`). The node registry is not
 *   reached from here: a remote runner shows under `runners`, not `nodes`.
 * - `subscribe` listens to the push channel: one event stream (`GET /runner/v1/events`) carries
 *   `work` (→ `work:<cluster>`), `stop` and `worker-group` (→ `config:worker-groups`) for this
 *   runner. When the stream drops, it is reopened with backoff (250 ms doubling to 5 s; 30 s
 *   while the token is refused) and, once open again, every listener is told once — a wake-up
 *   and a worker-group re-read — because messages sent meanwhile are lost. In between, the
 *   runner keeps working by polling (`poll_ms`), renewals (which report stop requests) and its
 *   group's timer, exactly as while Redis is down.
 *
 * State: created → start() → streaming (reconnecting as needed) → close() → closed.
 */
export class RemoteCoordinator implements RunnerCoordinator {
  readonly kind = 'runner-gateway';
  readonly #options: RemoteCoordinatorOptions;
  readonly #listeners = new Map<string, Set<(message: JsonValue) => void>>();
  readonly #closing = new AbortController();
  #loop: Promise<void> | null = null;
  #connected = false;
  #failing = false;
  #lastError: string | null = null;

  constructor(options: RemoteCoordinatorOptions) {
    this.#options = options;
  }

  /** Whether the push channel is open now. */
  get pushConnected(): boolean {
    return this.#connected;
  }

  start(): void {
    this.#loop ??= this.#pushLoop();
  }

  async close(): Promise<void> {
    this.#closing.abort();
    await this.#loop;
    this.#listeners.clear();
  }

  subscribe(channel: Channel, listener: (message: JsonValue) => void): () => void {
    const set = this.#listeners.get(channel) ?? new Set();
    set.add(listener);
    this.#listeners.set(channel, set);
    return () => set.delete(listener);
  }

  async heartbeat(kind: MemberKind, _id: string, info: JsonValue, ttlMs: number): Promise<void> {
    if (kind !== 'runner') return;
    await this.#quietly('heartbeat', () => this.#options.client.post('heartbeat', { info, ttlMs }));
  }

  async leave(kind: MemberKind, id: string): Promise<void> {
    if (kind !== 'runner') return;
    await this.#quietly('leave', () => this.#options.client.post('leave', { runner: id }, { retries: 1 }));
  }

  async health(): Promise<CoordinatorHealth> {
    const client = this.#options.client.health;
    const error = client.error ?? this.#lastError;
    return { ok: client.ok && this.#lastError === null, kind: this.kind, error };
  }

  async #quietly(what: string, call: () => Promise<unknown>): Promise<void> {
    try {
      await call();
      this.#lastError = null;
    } catch (error) {
      const err = coerceError(error);
      if (this.#lastError === null && !this.#closing.signal.aborted) this.#options.log.warn({ err }, `runner gateway ${what} failed; retrying with the next one`);
      this.#lastError = err.message;
    }
  }

  #emit(channel: string, message: JsonValue): void {
    for (const listener of this.#listeners.get(channel) ?? []) {
      try {
        listener(message);
      } catch (error) {
        this.#options.log.error({ err: coerceError(error), channel }, 'a push channel listener failed');
      }
    }
  }

  #dispatch(event: string, data: JsonValue): void {
    switch (event) {
      case RUNNER_EVENTS.ready:
        this.#connected = true;
        if (this.#failing) this.#options.log.info('runner gateway push channel open again');
        else this.#options.log.info({ url: this.#options.client.base }, 'runner gateway push channel open');
        this.#failing = false;
        // Anything sent while the stream was down is lost: claim and re-read once now.
        this.#emit(`work:${this.#options.cluster}`, {});
        this.#emit(WORKER_GROUPS_CHANNEL, {});
        return;
      case RUNNER_EVENTS.work:
        return this.#emit(`work:${this.#options.cluster}`, data);
      case RUNNER_EVENTS.stop:
        return this.#emit('stop', data);
      case RUNNER_EVENTS.workerGroup:
        return this.#emit(WORKER_GROUPS_CHANNEL, data);
    }
  }

  async #pushLoop(): Promise<void> {
    const { client, log, runner, group } = this.#options;
    const route = `events?${new URLSearchParams({ runner, group }).toString()}`;
    let delayMs = 250;
    while (!this.#closing.signal.aborted) {
      const stream = new AbortController();
      const stop = () => stream.abort();
      this.#closing.signal.addEventListener('abort', stop);
      let refused = false;
      try {
        const response = await client.openStream(route, stream.signal);
        delayMs = 250;
        await readEventStream(response, {
          signal: stream.signal,
          idleMs: this.#options.idleMs ?? 45_000,
          onEvent: (event, data) => this.#dispatch(event, data),
        });
        if (!this.#closing.signal.aborted) throw new Error('the runner gateway ended the event stream');
      } catch (error) {
        if (this.#closing.signal.aborted) break;
        const err = coerceError(error);
        refused = (err as { status?: number | null }).status === 401 || (err as { status?: number | null }).status === 403;
        if (!this.#failing) log.warn({ err }, 'runner gateway push channel lost; polling until it is back');
        this.#failing = true;
      } finally {
        this.#closing.signal.removeEventListener('abort', stop);
        stream.abort();
        this.#connected = false;
      }
      const wait = refused ? 30_000 : delayMs * (0.75 + Math.random() / 2);
      delayMs = Math.min(delayMs * 2, 5000);
      await sleep(wait, undefined, { signal: this.#closing.signal }).catch(() => {});
    }
  }
}
