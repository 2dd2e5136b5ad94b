import { createApi, type Api, type ApiDeps, type ApiOptions } from '../../src/api/yoga.js';
import { createCatalog } from '../../src/catalog/create-catalog.js';
import { Launcher } from '../../src/catalog/launcher.js';
import type { Coordinator } from '../../src/coordination/contract.js';
import { MemoryCoordinator } from '../../src/coordination/memory-coordinator.js';
import { withRunEvents } from '../../src/coordination/publishing-store.js';
import type { NodeInfo } from '../../src/core/members.js';
import { createTaskStore } from '../../src/storage/create-store.js';

/**
 * An api over the embedded engine (three in-process shards), an in-memory catalog and the
 * in-process coordinator, called in-process through `yoga.fetch`. Writes made through `store`
 * publish run events, as a node's store does.
 */

export interface GraphQLAnswer<T = Record<string, any>> {
  data?: T | null;
  errors?: Array<{ message: string; path?: Array<string | number>; extensions?: Record<string, any> }>;
}

export interface Harness {
  readonly api: Api;
  readonly deps: ApiDeps;
  readonly coordinator: MemoryCoordinator;
  /** The raw store and router (without events), for tests that write as a runner would. */
  readonly raw: ReturnType<typeof createTaskStore>;
  /** Errors the api logged. */
  readonly logged: Array<{ obj: object; msg?: string | undefined }>;
  gql<T = Record<string, any>>(query: string, variables?: Record<string, unknown>): Promise<GraphQLAnswer<T>>;
  post(body: string | Uint8Array, headers?: Record<string, string>): Promise<Response>;
  close(): Promise<void>;
}

export const NODE: NodeInfo = {
  id: 'node-test',
  roles: ['api'],
  listen: null,
  storage: 'embedded',
  coordination: 'in-process',
  pid: process.pid,
  version: '0.0.0-test',
  startedAt: new Date(0).toISOString(),
};

export async function openHarness(options: { wrapCoordinator?: (c: Coordinator) => Coordinator; access?: ApiOptions['access'] } = {}): Promise<Harness> {
  const raw = createTaskStore({ embedded: { shards: 3 } });
  const coordinator = new MemoryCoordinator();
  const published = options.wrapCoordinator ? options.wrapCoordinator(coordinator) : coordinator;
  const store = Object.assign(withRunEvents(raw, coordinator), { router: raw.router });
  const catalog = createCatalog({ mongo: null });
  await Promise.all([raw.start(), catalog.start(), coordinator.start()]);
  const logged: Harness['logged'] = [];
  const logger = {
    error: (obj: object, msg?: string) => void logged.push({ obj, msg }),
    warn: (obj: object, msg?: string) => void logged.push({ obj, msg }),
    info: () => {},
  };
  const deps: ApiDeps = { store, catalog, coordinator: published, launcher: new Launcher(store, catalog), node: NODE, logger };
  const api = createApi(deps, options.access ? { access: options.access } : {});
  const post = (body: string | Uint8Array, headers: Record<string, string> = {}) =>
    Promise.resolve(
      api.yoga.fetch('http://x/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', ...headers },
        body,
      }),
    );
  return {
    api,
    deps,
    coordinator,
    raw,
    logged,
    post,
    async gql(query, variables) {
      const response = await post(JSON.stringify({ query, variables }));
      return (await response.json()) as GraphQLAnswer<any>;
    },
    async close() {
      await api.close();
      await Promise.all([raw.close(), catalog.close(), coordinator.close()]);
    },
  };
}

/** The single error of an answer, or a failure that shows the whole answer. */
export function onlyError(answer: GraphQLAnswer): { message: string; extensions?: Record<string, any> } {
  if (answer.errors?.length !== 1) throw new Error(`expected one error, got ${JSON.stringify(answer)}`);
  return answer.errors[0]!;
}

export interface SseSubscription {
  /** The next `next` event's payload; fails after `timeoutMs`. */
  next(timeoutMs?: number): Promise<GraphQLAnswer>;
  /** Disconnects, as a client closing its connection. */
  close(): Promise<void>;
}

/** Subscribes over SSE in-process (`Accept: text/event-stream`) and reads events as they come. */
export async function subscribe(harness: Harness, query: string, variables?: Record<string, unknown>): Promise<SseSubscription> {
  const abort = new AbortController();
  const response = await harness.api.yoga.fetch('http://x/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
    body: JSON.stringify({ query, variables }),
    signal: abort.signal,
  });
  if (!response.ok || !response.body) throw new Error(`subscription refused: ${response.status} ${await response.text()}`);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = '';
  const pending: GraphQLAnswer[] = [];

  async function readEvent(): Promise<GraphQLAnswer> {
    for (;;) {
      const queued = pending.shift();
      if (queued) return queued;
      const { value, done } = await reader.read();
      if (done) throw new Error('the event stream ended');
      buffered += value;
      let end: number;
      while ((end = buffered.indexOf('\n\n')) >= 0) {
        const block = buffered.slice(0, end);
        buffered = buffered.slice(end + 2);
        const lines = block.split('\n');
        const event = lines.find((line) => line.startsWith('event:'))?.slice(6).trim();
        const data = lines.filter((line) => line.startsWith('data:')).map((line) => line.slice(5).trim()).join('\n');
        if (event === 'next' && data) pending.push(JSON.parse(data) as GraphQLAnswer);
        if (event === 'complete') throw new Error('the subscription completed');
      }
    }
  }

  return {
    next: (timeoutMs = 5000) =>
      Promise.race([
        readEvent(),
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no event within ${timeoutMs} ms`)), timeoutMs).unref()),
      ]),
    async close() {
      abort.abort();
      await reader.cancel().catch(() => {});
    },
  };
}

/** Polls `check` until it holds (or fails after `timeoutMs`). */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
