/**
 * A small client for the GraphQL API, for scripts and services that talk to a Taskplane cluster
 * over HTTP. It covers the core operations of DESIGN.md with typed helpers and lets anything else
 * through `request`. Errors come back as `TaskplaneClientError` with the server's
 * `extensions.code` (`BAD_USER_INPUT`, `NOT_FOUND`, …).
 */

export interface ClientOptions {
  /** The GraphQL endpoint, e.g. `http://127.0.0.1:4000/graphql`. */
  readonly url: string;
  /** Sent as `Authorization: Bearer <token>` when set. */
  readonly token?: string;
  /** @defaultValue 30000 */
  readonly timeoutMs?: number;
}

export class TaskplaneClientError extends Error {
  readonly code: string;
  readonly errors: ReadonlyArray<{ message: string; extensions?: Record<string, unknown> }>;

  constructor(code: string, message: string, errors: TaskplaneClientError['errors'] = []) {
    super(message);
    this.name = 'TaskplaneClientError';
    this.code = code;
    this.errors = errors;
  }
}

export interface LaunchOptionsInput {
  readonly cluster?: string;
  readonly tag?: string;
  readonly priority?: number;
  readonly maxAttempts?: number;
  readonly timeToResolve?: number;
  readonly delay?: number;
  readonly delayFactor?: number;
  readonly timeout?: number;
}

export interface TaskView {
  readonly id: string;
  readonly name: string;
  readonly funcName: string;
  readonly kind: string;
  readonly status: string;
  readonly attempt: number;
  readonly result: unknown;
  readonly error: string | null;
  readonly startedAt: string | null;
  readonly finishedAt: string | null;
}

export type StatisticsView = Record<
  'pending' | 'running' | 'completed' | 'failed' | 'lost' | 'stopped' | 'didNotStart' | 'unknownTask' | 'total',
  number
>;

const TASK_FIELDS = 'id name funcName kind status attempt result error startedAt finishedAt';

export class TaskplaneClient {
  readonly #options: ClientOptions;

  constructor(options: ClientOptions) {
    this.#options = options;
  }

  /** Runs any operation; returns `data` or throws `TaskplaneClientError`. */
  async request<T = Record<string, unknown>>(query: string, variables?: Record<string, unknown>): Promise<T> {
    const response = await fetch(this.#options.url, {
      method: 'POST',
      headers: this.#headers('application/graphql-response+json, application/json'),
      body: JSON.stringify({ query, variables }),
      signal: AbortSignal.timeout(this.#options.timeoutMs ?? 30_000),
    });
    let body: { data?: T; errors?: TaskplaneClientError['errors'] };
    try {
      body = (await response.json()) as typeof body;
    } catch {
      throw new TaskplaneClientError('BAD_RESPONSE', `${this.#options.url} answered HTTP ${response.status} without a GraphQL body`);
    }
    const first = body.errors?.[0];
    if (first) throw new TaskplaneClientError(String(first.extensions?.code ?? 'INTERNAL'), first.message, body.errors);
    if (!body.data) throw new TaskplaneClientError('BAD_RESPONSE', `HTTP ${response.status} with no data`);
    return body.data;
  }

  /** Launches task definition `name`; returns the new run's id. */
  async start(name: string, args?: unknown): Promise<string> {
    const data = await this.request<{ task: { start: string } }>('mutation ($name: String!, $args: JSON) { task { start(name: $name, args: $args) } }', { name, args });
    return data.task.start;
  }

  /** Creates an anonymous run of handler `funcName`; returns its id. */
  async create(funcName: string, args?: unknown, options?: LaunchOptionsInput): Promise<string> {
    const data = await this.request<{ task: { create: string } }>(
      'mutation ($funcName: String!, $args: JSON, $options: TaskOptions) { task { create(funcName: $funcName, args: $args, options: $options) } }',
      { funcName, args, options },
    );
    return data.task.create;
  }

  async stop(id: string): Promise<string> {
    return (await this.request<{ task: { stop: string } }>('mutation ($id: ID!) { task { stop(id: $id) } }', { id })).task.stop;
  }

  async retry(id: string): Promise<string> {
    return (await this.request<{ task: { retry: string } }>('mutation ($id: ID!) { task { retry(id: $id) } }', { id })).task.retry;
  }

  async forget(id: string): Promise<boolean> {
    return (await this.request<{ task: { forget: boolean } }>('mutation ($id: ID!) { task { forget(id: $id) } }', { id })).task.forget;
  }

  /** A run, or null when there is none with this id. */
  async task(id: string): Promise<TaskView | null> {
    return (await this.request<{ task: TaskView | null }>(`query ($id: ID!) { task(id: $id) { ${TASK_FIELDS} } }`, { id })).task;
  }

  async statistics(): Promise<StatisticsView> {
    const data = await this.request<{ statistics: StatisticsView }>(
      '{ statistics { pending running completed failed lost stopped didNotStart unknownTask total } }',
    );
    return data.statistics;
  }

  /**
   * Opens a subscription over SSE and calls `onEvent` with each result's `data`. Resolves once
   * the stream is open; `close()` ends it.
   */
  async subscribe<T = Record<string, unknown>>(query: string, variables: Record<string, unknown> | undefined, onEvent: (data: T) => void): Promise<{ close(): void; closed: Promise<void> }> {
    const controller = new AbortController();
    const response = await fetch(this.#options.url, {
      method: 'POST',
      headers: this.#headers('text/event-stream'),
      body: JSON.stringify({ query, variables }),
      signal: controller.signal,
    });
    if (!response.ok || !response.body) throw new TaskplaneClientError('BAD_RESPONSE', `subscription refused: HTTP ${response.status}`);
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    const closed = (async () => {
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buffer += decoder.decode(value, { stream: true });
        for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
          const frame = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = frame
            .split('\n')
            .filter((line) => line.startsWith('data:'))
            .map((line) => line.slice(5).trimStart())
            .join('\n');
          if (data) {
            const payload = JSON.parse(data) as { data?: T };
            if (payload.data) onEvent(payload.data);
          }
        }
      }
    })().catch((error: unknown) => {
      if (!controller.signal.aborted) throw error;
    });
    return { close: () => controller.abort(), closed };
  }

  #headers(accept: string): Record<string, string> {
    return {
      'content-type': 'application/json',
      accept,
      ...(this.#options.token ? { authorization: `Bearer ${this.#options.token}` } : {}),
    };
  }
}
