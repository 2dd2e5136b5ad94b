import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import { createYoga, type YogaServerInstance } from 'graphql-yoga';
import type { IncomingMessage } from 'node:http';
import { useAccessControl } from './auth/use-access-control.js';
import { ANONYMOUS, Authenticator, type TokenEntry } from './auth/tokens.js';
import { createContext, loadRunsPerShard, type ApiContext, type ApiDeps, type Caller } from './context.js';
import { DocumentCache } from './document-cache.js';
import { DEFAULT_API_LIMITS, armorConfig, type ApiLimits } from './limits.js';
import { RunEventHub } from './live/run-event-hub.js';
import { createLiveStreams } from './live/streams.js';
import { createMaskError } from './mask-error.js';
import { useNestingLimit } from './nesting-limit.js';
import { usePageSizeLimit } from './page-size-plugin.js';
import { useRequestParseErrors } from './request-parse-errors.js';
import { schema } from './schema/index.js';

export type { ApiDeps, ApiLogger } from './context.js';
export type { ApiLimits } from './limits.js';

export interface ApiOptions {
  /** @defaultValue `/graphql` */
  readonly endpoint?: string;
  /** @defaultValue `DEFAULT_API_LIMITS` */
  readonly limits?: Partial<ApiLimits>;
  /** Serve GraphiQL on GET with `Accept: text/html`. @defaultValue true */
  readonly graphiql?: boolean;
  /** Tokens, CORS and mutation rate limit (`node.api`). @defaultValue auth off, no tokens, CORS off, 600 mutations/min */
  readonly access?: {
    readonly auth: boolean;
    readonly tokens: readonly TokenEntry[];
    readonly corsOrigins: readonly string[];
    readonly mutationsPerMinute: number;
  };
}

export interface Api {
  /** A fetch handler and Node request listener: mount it at the endpoint (`/graphql`). */
  readonly yoga: YogaServerInstance<Record<string, unknown>, ApiContext>;
  /** Ends open subscriptions (their SSE streams close) and drops the coordinator subscription. */
  close(): Promise<void>;
}

/**
 * The GraphQL api: graphql-yoga over the Pothos schema, with per-request contexts, masked errors,
 * request limits and live subscriptions. The node owns the HTTP server and the dependencies;
 * `createApi` only wires them, so tests call `api.yoga.fetch(...)` in-process.
 */
export function createApi(deps: ApiDeps, options: ApiOptions = {}): Api {
  const limits: ApiLimits = { ...DEFAULT_API_LIMITS, ...options.limits };
  const access = options.access ?? { auth: false, tokens: [], corsOrigins: [], mutationsPerMinute: 600 };
  const authenticator = new Authenticator(access.tokens);
  const hub = new RunEventHub(deps.coordinator, (ids) => loadRunsPerShard(deps.store, ids), deps.logger);
  const live = createLiveStreams(hub, deps.store, deps.logger);

  const yoga = createYoga<Record<string, unknown>, ApiContext>({
    schema,
    graphqlEndpoint: options.endpoint ?? '/graphql',
    context: (initial) => createContext(deps, live, callerOf(initial, access.auth ? authenticator : null)),
    // CORS is off (no Access-Control headers at all) unless origins are configured.
    cors: access.corsOrigins.length > 0 ? { origin: [...access.corsOrigins], credentials: false } : false,
    maskedErrors: { maskError: createMaskError(deps.logger) },
    maxRequestBodySize: limits.maxBodyBytes,
    // No file uploads: nothing takes one, and a multipart body put a file where JSON belongs.
    multipart: false,
    // Bounded by size: yoga's default keeps 1,024 documents of any size for an hour (see document-cache.ts).
    parserAndValidationCache: { documentCache: new DocumentCache(), errorCache: new DocumentCache() },
    // The page-size check comes first: it answers what the cost rule would refuse less clearly.
    plugins: [
      usePageSizeLimit(),
      EnvelopArmorPlugin(armorConfig(limits)),
      useNestingLimit(limits.maxNesting),
      useAccessControl({ auth: access.auth, mutationsPerMinute: access.mutationsPerMinute, catalog: deps.catalog, ...(deps.logger ? { logger: deps.logger } : {}) }),
      useRequestParseErrors(),
    ],
    graphiql: options.graphiql ?? true,
    landingPage: false,
    // Errors are logged by the mask (with the node's logger), once.
    logging: false,
  });

  return {
    yoga,
    async close() {
      live.close();
      hub.close();
    },
  };
}

/** The caller of a request: its token's principal (or the anonymous admin when auth is off) and its peer address. */
function callerOf(initial: { request?: Request; req?: IncomingMessage }, authenticator: Authenticator | null): Caller {
  const address = initial.req?.socket?.remoteAddress ?? null;
  if (!authenticator) return { principal: ANONYMOUS, address };
  return { principal: authenticator.authenticate(initial.request?.headers.get('authorization') ?? null), address };
}
