/**
 * A small client for the GraphQL API, for scripts and services that talk to a Taskplane cluster
 * over HTTP (the `taskplane` CLI is built on it). It covers the core operations of DESIGN.md plus
 * listing runs and clusters and applying config definitions, with typed helpers, and lets
 * anything else through `request`. Errors come back as `TaskplaneClientError` with the server's
 * `extensions.code` (`BAD_USER_INPUT`, `NOT_FOUND`, …), or `UNREACHABLE` when no server answered.
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
  /** Where the handler runs (the `HandlerRuntime` enum). */
  readonly runtime?: 'INLINE' | 'PROCESS';
  /** Seconds one attempt may run before its handler is aborted. */
  readonly runTimeout?: number;
}

export interface TaskView {
  readonly id: string;
  readonly name: string;
  readonly funcName: string;
  /** `PERIODICAL`, `CONTINUOUS`, `SINGLE_SHOT` or `ANONYMOUS`. */
  readonly kind: string;
  /** `PENDING`, `RUNNING`, `COMPLETED` … (the `TaskStatus` enum). */
  readonly status: string;
  readonly attempt: number;
  readonly maxAttempts: number;
  readonly args: unknown;
  readonly result: unknown;
  readonly error: string | null;
  readonly reason: string | null;
  readonly cluster: string;
  readonly tag: string;
  readonly createdAt: string;
  readonly startedAt: string | null;
  readonly finishedAt: string | null;
}

/** Which runs `tasks` lists; fields combine with AND. */
export interface TaskFilter {
  readonly name?: string;
  readonly funcName?: string;
  /** `TaskStatus` enum values (`PENDING`, `COMPLETED` …). */
  readonly status?: readonly string[];
  readonly cluster?: string;
  readonly tag?: string;
  readonly jobId?: string;
}

export interface TaskPage {
  readonly tasks: TaskView[];
  readonly hasNextPage: boolean;
  /** Pass as `after` for the next page; null on an empty page. */
  readonly endCursor: string | null;
  /** Shards that did not answer: their runs are missing from this page. */
  readonly unavailableShards: string[];
}

export interface ClusterView {
  readonly slug: string;
  readonly name: string;
  readonly description: string | null;
  readonly isDefault: boolean;
  readonly createdAt: string;
}

/** A task definition as `applyConfig` takes it (the config file's `tasks:` entry, camelCase). */
export interface DefinitionInputView {
  readonly name: string;
  /** `PERIODICAL`, `CONTINUOUS` or `SINGLE_SHOT`. */
  readonly kind: string;
  readonly funcName: string;
  readonly [field: string]: unknown;
}

export interface ApplyResultView {
  readonly added: string[];
  readonly updated: string[];
  readonly removed: string[];
  readonly unchanged: string[];
}

export type StatisticsView = Record<
  'pending' | 'running' | 'completed' | 'failed' | 'lost' | 'stopped' | 'didNotStart' | 'unknownTask' | 'total',
  number
>;

const TASK_FIELDS = 'id name funcName kind status attempt maxAttempts args result error reason cluster tag createdAt startedAt finishedAt';
const CLUSTER_FIELDS = 'slug name description isDefault createdAt';
const COUNT_FIELDS = 'pending running completed failed lost stopped didNotStart unknownTask total';

export class TaskplaneClient {
  readonly #options: ClientOptions;

  constructor(options: ClientOptions) {
    this.#options = options;
  }

  /** Runs any operation; returns `data` or throws `TaskplaneClientError`. */
  async request<T = Record<string, unknown>>(query: string, variables?: Record<string, unknown>): Promise<T> {
    let response: Response;
    try {
      response = await fetch(this.#options.url, {
        method: 'POST',
        headers: this.#headers('application/graphql-response+json, application/json'),
        body: JSON.stringify({ query, variables }),
        signal: AbortSignal.timeout(this.#options.timeoutMs ?? 30_000),
      });
    } catch (error) {
      // fetch says only "fetch failed"; the reason (ECONNREFUSED, a timeout) is in its cause.
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      const why = (error as Error).name === 'TimeoutError' ? `no answer within ${this.#options.timeoutMs ?? 30_000} ms` : (cause?.code ?? cause?.message ?? (error as Error).message);
      throw new TaskplaneClientError('UNREACHABLE', `cannot reach ${this.#options.url}: ${why}`);
    }
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

  /** A page of runs, newest first. */
  async tasks(filter: TaskFilter = {}, page: { first?: number; after?: string | null } = {}): Promise<TaskPage> {
    const data = await this.request<{
      tasks: { nodes: TaskView[]; pageInfo: { hasNextPage: boolean; endCursor: string | null }; unavailableShards: string[] };
    }>(
      `query ($filter: TaskFilter, $first: Int, $after: String) { tasks(filter: $filter, first: $first, after: $after) { nodes { ${TASK_FIELDS} } pageInfo { hasNextPage endCursor } unavailableShards } }`,
      { filter, first: page.first, after: page.after },
    );
    const { nodes, pageInfo, unavailableShards } = data.tasks;
    return { tasks: nodes, hasNextPage: pageInfo.hasNextPage, endCursor: pageInfo.endCursor, unavailableShards };
  }

  async statistics(): Promise<StatisticsView> {
    const data = await this.request<{ statistics: StatisticsView }>(`{ statistics { ${COUNT_FIELDS} } }`);
    return data.statistics;
  }

  /** Counts per cluster, task name or shard (a shard that did not answer has null counts). */
  async statisticsBy(group: 'cluster' | 'name' | 'shard'): Promise<Array<{ key: string; counts: StatisticsView | null }>> {
    if (group === 'shard') {
      const data = await this.request<{ statistics: { byShard: Array<{ shard: { name: string }; counts: StatisticsView | null }> } }>(
        `{ statistics { byShard { shard { name } counts { ${COUNT_FIELDS} } } } }`,
      );
      return data.statistics.byShard.map((row) => ({ key: row.shard.name, counts: row.counts }));
    }
    const field = group === 'cluster' ? 'byCluster' : 'byName';
    const data = await this.request<{ statistics: Record<string, Array<{ key: string; counts: StatisticsView }>> }>(
      `{ statistics { ${field} { key counts { ${COUNT_FIELDS} } } } }`,
    );
    return data.statistics[field] ?? [];
  }

  async clusters(): Promise<ClusterView[]> {
    return (await this.request<{ clusters: ClusterView[] }>(`{ clusters { ${CLUSTER_FIELDS} } }`)).clusters;
  }

  /** Creates a cluster; its slug is `name-<generated id>` unless `slug` is given. */
  async createCluster(name: string, options: { slug?: string; description?: string } = {}): Promise<ClusterView> {
    // Only the arguments given are sent, so a server without the optional ones still answers.
    const params = [['name', 'String!', name], ['slug', 'String', options.slug], ['description', 'String', options.description]].filter(
      (param) => param[2] !== undefined,
    ) as Array<[string, string, string]>;
    const data = await this.request<{ cluster: { create: ClusterView } }>(
      `mutation (${params.map(([key, type]) => `$${key}: ${type}`).join(', ')}) { cluster { create(${params.map(([key]) => `${key}: $${key}`).join(', ')}) { ${CLUSTER_FIELDS} } } }`,
      Object.fromEntries(params.map(([key, , value]) => [key, value])),
    );
    return data.cluster.create;
  }

  async deleteCluster(slug: string): Promise<boolean> {
    return (await this.request<{ cluster: { delete: boolean } }>('mutation ($slug: String!) { cluster { delete(slug: $slug) } }', { slug })).cluster.delete;
  }

  /** Makes the config-file task definitions exactly `definitions` (see the `applyConfig` mutation). */
  async applyConfig(definitions: readonly DefinitionInputView[]): Promise<ApplyResultView> {
    const data = await this.request<{ task: { applyConfig: ApplyResultView } }>(
      'mutation ($definitions: [TaskDefinitionInput!]!) { task { applyConfig(definitions: $definitions) { added updated removed unchanged } } }',
      { definitions },
    );
    return data.task.applyConfig;
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
