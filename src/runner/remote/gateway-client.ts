import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { RUNNER_API_PREFIX } from '../../api/runner-gateway/protocol.js';

/**
 * HTTP to an api node's runner gateway, for the remote adapters. One place decides what is worth
 * another try:
 *
 * - the request never reached the server (connection refused), or the server said it did nothing
 *   (429 with `Retry-After`, 503): always retried;
 * - the answer was lost on the way (connection reset, timeout, 502, 504): retried only for
 *   requests that are safe to repeat (`idempotent`: renew, settle — a repeated outcome is refused
 *   as stale —, heartbeat, leave, reads), not for `take`, whose runs would be claimed twice;
 * - everything else (401, 403, 400, 500 …) is thrown at once as a `GatewayRequestError`.
 *
 * Tries back off 200 ms, 400 ms, 800 ms … (at most 3 s, or what `Retry-After` asks for, up to
 * 5 s). After the last try the error is thrown, and the caller's own loop takes over: the claim
 * loop polls again, renewals come again, the settlement queue keeps outcomes and retries with
 * backoff until they are written.
 */
export interface GatewayClientOptions {
  /** The api node's base URL (`http://api:4000`); requests go to `<url>/runner/v1/…`. */
  readonly url: string;
  readonly token: string;
  readonly log: Logger;
  /** One request's time limit. @defaultValue 30000 */
  readonly timeoutMs?: number;
  /** Further tries of a transient failure. @defaultValue 3 */
  readonly retries?: number;
}

/** A refusal or failure of a gateway request; `status` is null when no answer came. */
export class GatewayRequestError extends Error {
  readonly status: number | null;
  readonly code: string;

  constructor(status: number | null, code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'GatewayRequestError';
    this.status = status;
    this.code = code;
  }
}

export interface RequestOptions {
  /** Safe to send twice (see above). @defaultValue true */
  readonly idempotent?: boolean;
  /** Further tries. @defaultValue the client's `retries` */
  readonly retries?: number;
}

export class GatewayClient {
  readonly base: string;
  readonly #token: string;
  readonly #log: Logger;
  readonly #timeoutMs: number;
  readonly #retries: number;
  readonly #closing = new AbortController();
  #lastError: string | null = null;

  constructor(options: GatewayClientOptions) {
    this.base = options.url.replace(/\/+$/, '');
    this.#token = options.token;
    this.#log = options.log;
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.#retries = options.retries ?? 3;
  }

  /** Whether the last request got an answer from the gateway (for `/readyz`), and if not, why. */
  get health(): { ok: boolean; error: string | null } {
    return { ok: this.#lastError === null, error: this.#lastError };
  }

  /** Aborts requests in flight and streams; later requests fail at once. */
  close(): void {
    this.#closing.abort(new Error('the runner gateway client is closed'));
  }

  get closed(): AbortSignal {
    return this.#closing.signal;
  }

  async post<T>(route: string, body: unknown, options: RequestOptions = {}): Promise<T> {
    return this.#request<T>('POST', route, JSON.stringify(body), options);
  }

  async get<T>(route: string, options: RequestOptions = {}): Promise<T> {
    return this.#request<T>('GET', route, undefined, options);
  }

  /** Opens the event stream; the caller reads and ends it (`signal` aborts it). */
  async openStream(route: string, signal: AbortSignal): Promise<Response> {
    const response = await fetch(`${this.base}${RUNNER_API_PREFIX}${route}`, {
      headers: { authorization: `Bearer ${this.#token}`, accept: 'text/event-stream' },
      signal: AbortSignal.any([signal, this.#closing.signal]),
    }).catch((error: unknown) => {
      throw networkError(error, this.base);
    });
    if (!response.ok) throw await answerError(response);
    return response;
  }

  async #request<T>(method: string, route: string, body: string | undefined, options: RequestOptions): Promise<T> {
    const idempotent = options.idempotent ?? true;
    const retries = options.retries ?? this.#retries;
    for (let attempt = 0; ; attempt++) {
      let waitMs = Math.min(200 * 2 ** attempt, 3000);
      try {
        const value = await this.#once<T>(method, route, body);
        this.#lastError = null;
        return value;
      } catch (error) {
        if (!(error instanceof GatewayRequestError) || this.#closing.signal.aborted) throw error;
        const transient = isTransient(error, idempotent);
        if (error.status === null || error.status >= 500 || error.status === 429) this.#lastError = error.message;
        if (!transient || attempt >= retries) throw error;
        if (error instanceof RetryLater) waitMs = Math.max(waitMs, Math.min(error.afterMs, 5000));
        this.#log.debug({ route, attempt: attempt + 1, waitMs, err: error }, 'runner gateway request failed; trying again');
      }
      await sleep(waitMs, undefined, { signal: this.#closing.signal }).catch(() => {});
    }
  }

  async #once<T>(method: string, route: string, body: string | undefined): Promise<T> {
    let response: Response;
    try {
      response = await fetch(`${this.base}${RUNNER_API_PREFIX}${route}`, {
        method,
        headers: { authorization: `Bearer ${this.#token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body }),
        signal: AbortSignal.any([AbortSignal.timeout(this.#timeoutMs), this.#closing.signal]),
      });
    } catch (error) {
      throw networkError(error, this.base);
    }
    if (!response.ok) throw await answerError(response);
    try {
      return (await response.json()) as T;
    } catch (error) {
      throw new GatewayRequestError(null, 'ANSWER_LOST', `the answer of ${this.base} to ${route} was cut off or is not JSON`, { cause: error });
    }
  }
}

/** 429 with the server's `Retry-After`. */
class RetryLater extends GatewayRequestError {
  readonly afterMs: number;

  constructor(status: number, code: string, message: string, afterMs: number) {
    super(status, code, message);
    this.afterMs = afterMs;
  }
}

function isTransient(error: GatewayRequestError, idempotent: boolean): boolean {
  if (error.code === 'NOT_SENT' || error.status === 429 || error.status === 503) return true;
  if (!idempotent) return false;
  return error.status === null || error.status === 502 || error.status === 504;
}

function networkError(error: unknown, base: string): GatewayRequestError {
  const cause = (error as { cause?: { code?: string; message?: string } })?.cause;
  const code = cause?.code ?? (error as { name?: string })?.name ?? 'NETWORK';
  // Refused: the request never left this machine, so it is safe to send again whatever it is.
  const notSent = code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN';
  const why = code === 'TimeoutError' ? 'timed out' : (cause?.message ?? (error as Error)?.message ?? String(error));
  return new GatewayRequestError(null, notSent ? 'NOT_SENT' : 'NETWORK', `cannot reach the runner gateway at ${base}: ${why}`, { cause: error });
}

async function answerError(response: Response): Promise<GatewayRequestError> {
  let code = `HTTP_${response.status}`;
  let message = `${response.status} ${response.statusText}`;
  try {
    const body = (await response.json()) as { error?: { code?: unknown; message?: unknown } };
    if (typeof body.error?.code === 'string') code = body.error.code;
    if (typeof body.error?.message === 'string') message = body.error.message;
  } catch {
    // Not our gateway (a proxy's error page): the status says enough.
  }
  if (response.status === 429) {
    const after = Number(response.headers.get('retry-after'));
    return new RetryLater(429, code, message, Number.isFinite(after) ? after * 1000 : 1000);
  }
  return new GatewayRequestError(response.status, code, message);
}
