import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Catalog, Cluster } from '../../catalog/contract.js';
import type { Coordinator } from '../../coordination/contract.js';
import { coerceError } from '../../core/errors.js';
import { tagSchema } from '../../core/run-input.js';
import type { JsonValue } from '../../core/types.js';
import type { TaskStore } from '../../storage/contract.js';
import { RateLimiter } from '../auth/rate-limiter.js';
import type { ApiLogger } from '../context.js';
import { RunnerEventHub } from './event-hub.js';
import { GatewayError, parseRequest, readJsonBody, sendError, sendJson } from './http-io.js';
import {
  eventsQuerySchema,
  heartbeatRequestSchema,
  leaveRequestSchema,
  renewRequestSchema,
  RUNNER_API_LIMITS,
  RUNNER_API_PREFIX,
  RUNNER_EVENTS,
  scopedRunnerId,
  sessionRequestSchema,
  settleRequestSchema,
  takeRequestSchema,
  tokenOfRunnerId,
  type SessionAnswer,
  type WireSettleResult,
} from './protocol.js';
import { RunnerAuthenticator, type RunnerPrincipal, type RunnerTokenEntry } from './runner-tokens.js';
import { spawnWithin, toSettlement } from './wire-settlements.js';

/**
 * The runner gateway: api nodes serve remote runners the runner protocol (`protocol.ts`), so a
 * runner holds a runner token instead of MongoDB and Redis credentials.
 *
 * What a token can do is decided here, on every request:
 * - it is authenticated against `node.api.runner_tokens` (whatever `node.api.auth` says: claiming
 *   work is never anonymous);
 * - its cluster is forced: a `take`, `session` or `heartbeat` naming another cluster is refused
 *   with `FORBIDDEN`, and `take` is always asked of storage with the token's cluster;
 * - runner ids are `<node>@<token>`: a request naming a runner of another token is refused, and
 *   storage's lease check (id, attempt, runner) refuses renewals and outcomes for runs this
 *   token's runner does not hold;
 * - subtasks spawned by its runs' outcomes stay in its cluster, or go to the clusters its entry
 *   lists in `spawn_clusters`; an outcome that spawns elsewhere is recorded as a failed attempt
 *   saying so (as the store records a bad subtask), so a runner cannot hand work to another
 *   cluster's runners unless an operator allowed it;
 * - requests per token per minute are bounded, bodies are bounded and validated (zod), and
 *   errors carry a code and a message, never a stack.
 *
 * Refusals of an authenticated token (`FORBIDDEN`) are written to the audit log.
 */
export interface RunnerGatewayOptions {
  readonly store: Pick<TaskStore, 'take' | 'renew' | 'settle' | 'get'>;
  readonly catalog: Pick<Catalog, 'getCluster' | 'getWorkerGroup' | 'recordAudit'>;
  readonly coordinator: Pick<Coordinator, 'subscribe' | 'heartbeat' | 'leave'>;
  readonly tokens: readonly RunnerTokenEntry[];
  /** Requests per token per minute, per api node. @defaultValue 12000 */
  readonly requestsPerMinute?: number;
  readonly log: ApiLogger;
  /** Comment lines keep idle event streams open through proxies. @defaultValue 15000 */
  readonly keepAliveMs?: number;
}

export interface RunnerGateway {
  /** Serves a request whose path starts with `/runner/v1/`. */
  handle(req: IncomingMessage, res: ServerResponse): void;
  /** Ends the open event streams and drops the coordinator subscriptions. */
  close(): void;
}

export function createRunnerGateway(options: RunnerGatewayOptions): RunnerGateway {
  return new Gateway(options);
}

interface Request {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly principal: RunnerPrincipal;
  readonly route: string;
  readonly query: URLSearchParams;
}

class Gateway implements RunnerGateway {
  readonly #options: RunnerGatewayOptions;
  readonly #auth: RunnerAuthenticator;
  readonly #limiter: RateLimiter;
  readonly #perMinute: number;
  readonly #hub: RunnerEventHub;
  readonly #streams = new Map<ServerResponse, string>();

  constructor(options: RunnerGatewayOptions) {
    this.#options = options;
    this.#auth = new RunnerAuthenticator(options.tokens);
    this.#perMinute = options.requestsPerMinute ?? 12_000;
    this.#limiter = new RateLimiter(this.#perMinute);
    this.#hub = new RunnerEventHub(options.coordinator, options.store, options.log);
  }

  handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://gateway');
    const route = url.pathname.startsWith(RUNNER_API_PREFIX) ? url.pathname.slice(RUNNER_API_PREFIX.length) : url.pathname;
    this.#serve(req, res, route, url.searchParams).catch((error: unknown) => {
      if (error instanceof GatewayError && error.status === 413) res.setHeader('connection', 'close');
      sendError(res, error, this.#options.log, { route, method: req.method });
    });
  }

  close(): void {
    for (const res of this.#streams.keys()) res.end();
    this.#streams.clear();
    this.#hub.close();
  }

  async #serve(req: IncomingMessage, res: ServerResponse, route: string, query: URLSearchParams): Promise<void> {
    const principal = this.#authenticate(req);
    const wait = this.#limiter.take(`runner-token:${principal.name}`);
    if (wait > 0) {
      throw new GatewayError(429, 'RATE_LIMITED', `too many requests with runner token '${principal.name}': at most ${this.#perMinute} per minute per api node; retry in ${Math.ceil(wait / 1000)} s`, {
        'retry-after': String(Math.ceil(wait / 1000)),
      });
    }
    const request: Request = { req, res, principal, route, query };
    try {
      await this.#dispatch(request);
    } catch (error) {
      if (error instanceof GatewayError && error.code === 'FORBIDDEN') this.#audit(request, error);
      throw error;
    }
  }

  #authenticate(req: IncomingMessage): RunnerPrincipal {
    const header = req.headers.authorization;
    const principal = this.#auth.authenticate(header);
    if (principal) return principal;
    const challenge = { 'www-authenticate': 'Bearer realm="taskplane-runner"' };
    if (this.#auth.size === 0) throw new GatewayError(401, 'UNAUTHENTICATED', 'this api node accepts no runner tokens (node.api.runner_tokens is empty)', challenge);
    if (!header) throw new GatewayError(401, 'UNAUTHENTICATED', 'a runner token is required: send `Authorization: Bearer <runner token>`', challenge);
    throw new GatewayError(401, 'UNAUTHENTICATED', 'the runner token is not valid on this api node (it is not listed under node.api.runner_tokens, or it is an API token)', challenge);
  }

  async #dispatch(request: Request): Promise<void> {
    const { req, route } = request;
    const post = async <T>(handler: (body: unknown) => Promise<T>, maxBytes: number = RUNNER_API_LIMITS.bodyBytes) => {
      if (req.method !== 'POST') throw new GatewayError(405, 'BAD_USER_INPUT', `use POST for ${RUNNER_API_PREFIX}${route}`, { allow: 'POST' });
      sendJson(request.res, 200, await handler(await readJsonBody(req, maxBytes)));
    };
    const get = async <T>(handler: () => Promise<T>) => {
      if (req.method !== 'GET') throw new GatewayError(405, 'BAD_USER_INPUT', `use GET for ${RUNNER_API_PREFIX}${route}`, { allow: 'GET' });
      sendJson(request.res, 200, await handler());
    };
    switch (route) {
      case 'session':
        return post((body) => this.#session(request, body));
      case 'take':
        return post((body) => this.#take(request, body));
      case 'renew':
        return post((body) => this.#renew(request, body));
      case 'settle':
        return post((body) => this.#settle(request, body), RUNNER_API_LIMITS.settleBodyBytes);
      case 'heartbeat':
        return post((body) => this.#heartbeat(request, body), RUNNER_API_LIMITS.heartbeatBodyBytes);
      case 'leave':
        return post((body) => this.#leave(request, body));
      case 'clusters':
        return get(async () => {
          const cluster = await this.#options.catalog.getCluster(request.principal.cluster);
          return { clusters: cluster ? [wireCluster(cluster)] : [] };
        });
      case 'events':
        if (req.method !== 'GET') throw new GatewayError(405, 'BAD_USER_INPUT', `use GET for ${RUNNER_API_PREFIX}events`, { allow: 'GET' });
        return this.#events(request);
    }
    if (route.startsWith('clusters/')) {
      const slug = decodePathPart(route.slice('clusters/'.length));
      return get(async () => {
        if (slug !== request.principal.cluster) throw forbidden(request.principal, `may read cluster '${request.principal.cluster}' only, not '${slug}'`);
        const cluster = await this.#options.catalog.getCluster(slug);
        return { cluster: cluster ? wireCluster(cluster) : null };
      });
    }
    if (route.startsWith('worker-groups/')) {
      const name = parseRequest(tagSchema, decodePathPart(route.slice('worker-groups/'.length)), 'worker group');
      return get(async () => ({ config: await this.#options.catalog.getWorkerGroup(name) }));
    }
    throw new GatewayError(404, 'NOT_FOUND', `no runner protocol request ${RUNNER_API_PREFIX}${route}`);
  }

  async #session(request: Request, body: unknown): Promise<SessionAnswer> {
    const { principal } = request;
    const input = parseRequest(sessionRequestSchema, body, 'session');
    this.#sameCluster(principal, input.cluster, 'run in');
    if (!(await this.#options.catalog.getCluster(principal.cluster))) {
      throw new GatewayError(404, 'NOT_FOUND', `cluster '${principal.cluster}' of runner token '${principal.name}' does not exist; create it first (mutation { cluster { create(name: "${principal.cluster}", slug: "${principal.cluster}") { slug } } })`);
    }
    return { runner: scopedRunnerId(input.node, principal.name), token: principal.name, cluster: principal.cluster };
  }

  async #take(request: Request, body: unknown) {
    const { principal } = request;
    const input = parseRequest(takeRequestSchema, body, 'take');
    this.#ownRunner(principal, input.runner.id);
    this.#sameCluster(principal, input.runner.cluster, 'claim runs of');
    // The token's cluster, whatever was asked: the check above only makes a mistake loud.
    return this.#options.store.take({ ...input.runner, cluster: principal.cluster }, input.limit);
  }

  async #renew(request: Request, body: unknown) {
    const input = parseRequest(renewRequestSchema, body, 'renew');
    for (const lease of input.leases) this.#ownRunner(request.principal, lease.runner);
    return { results: await this.#options.store.renew(input.leases) };
  }

  async #settle(request: Request, body: unknown): Promise<{ results: WireSettleResult[] }> {
    const input = parseRequest(settleRequestSchema, body, 'settle');
    for (const { lease } of input.settlements) this.#ownRunner(request.principal, lease.runner);
    const results = await this.#options.store.settle(input.settlements.map((wire) => toSettlement(spawnWithin(request.principal, wire))));
    return {
      results: results.map((result) => ({
        id: result.id,
        accepted: result.accepted,
        status: result.status,
        ...(result.unavailable ? { unavailable: result.unavailable } : {}),
      })),
    };
  }

  async #heartbeat(request: Request, body: unknown) {
    const { principal } = request;
    const input = parseRequest(heartbeatRequestSchema, body, 'heartbeat');
    this.#ownRunner(principal, input.info.id);
    this.#sameCluster(principal, input.info.cluster, 'register in');
    const ttlMs = Math.min(input.ttlMs, RUNNER_API_LIMITS.heartbeatTtlMs);
    await this.#options.coordinator.heartbeat('runner', input.info.id, { ...input.info, cluster: principal.cluster } as JsonValue, ttlMs);
    return { ok: true };
  }

  async #leave(request: Request, body: unknown) {
    const input = parseRequest(leaveRequestSchema, body, 'leave');
    this.#ownRunner(request.principal, input.runner);
    await this.#options.coordinator.leave('runner', input.runner);
    return { ok: true };
  }

  async #events(request: Request): Promise<void> {
    const { principal, req, res } = request;
    const input = parseRequest(eventsQuerySchema, Object.fromEntries(request.query), 'events');
    this.#ownRunner(principal, input.runner);
    const ofToken = [...this.#streams.values()].filter((name) => name === principal.name).length;
    if (ofToken >= RUNNER_API_LIMITS.streamsPerToken || this.#streams.size >= RUNNER_API_LIMITS.streams) {
      throw new GatewayError(429, 'RATE_LIMITED', `too many open event streams (at most ${RUNNER_API_LIMITS.streamsPerToken} per token, ${RUNNER_API_LIMITS.streams} per api node); the runner polls instead`, { 'retry-after': '30' });
    }
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    req.socket.setKeepAlive(true);
    this.#streams.set(res, principal.name);
    const write = (text: string) => {
      // A reader this far behind is gone or stuck: drop it, and it reconnects (or polls).
      if (res.writableLength > 1024 * 1024) res.destroy();
      else res.write(text);
    };
    const stop = this.#hub.open({
      runner: input.runner,
      cluster: principal.cluster,
      group: input.group,
      send: (event, data) => write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`),
    });
    const keepAlive = setInterval(() => write(': ping\n\n'), this.#options.keepAliveMs ?? 15_000);
    const end = () => {
      clearInterval(keepAlive);
      stop();
      this.#streams.delete(res);
    };
    res.once('close', end);
    write(`event: ${RUNNER_EVENTS.ready}\ndata: ${JSON.stringify({ runner: input.runner, cluster: principal.cluster })}\n\n`);
  }

  #ownRunner(principal: RunnerPrincipal, runner: string): void {
    const owner = tokenOfRunnerId(runner);
    if (owner !== principal.name) {
      throw forbidden(principal, `may act only as runners '<node>@${principal.name}'; runner '${runner}' is not one of them`);
    }
  }

  #sameCluster(principal: RunnerPrincipal, cluster: string, what: string): void {
    if (cluster !== principal.cluster) {
      throw forbidden(principal, `is scoped to cluster '${principal.cluster}' and may not ${what} cluster '${cluster}' (RUNNER_CLUSTER or node.runner.cluster must be '${principal.cluster}' with this token)`);
    }
  }

  #audit(request: Request, error: GatewayError): void {
    this.#options.catalog
      .recordAudit({
        at: new Date(),
        actor: request.principal.name,
        role: 'runner',
        address: request.req.socket.remoteAddress ?? null,
        operations: [`runner.${request.route.split('/')[0] ?? request.route}`],
        variables: JSON.stringify({ refused: error.message }).slice(0, 2000),
        outcome: 'error',
        errors: [error.code],
      })
      .catch((failure: unknown) => this.#options.log.error({ err: coerceError(failure) }, 'audit log write failed'));
  }
}

function decodePathPart(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new GatewayError(400, 'BAD_USER_INPUT', `'${part.slice(0, 100)}' is not a valid URL path part`);
  }
}

function forbidden(principal: RunnerPrincipal, what: string): GatewayError {
  return new GatewayError(403, 'FORBIDDEN', `runner token '${principal.name}' ${what}`);
}

function wireCluster(cluster: Cluster) {
  return { slug: cluster.slug, name: cluster.name, description: cluster.description, createdAt: cluster.createdAt.toISOString() };
}
