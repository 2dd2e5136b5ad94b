import { z } from 'zod';
import { dateTextSchema, funcNameSchema, runIdSchema, slugSchema, tagSchema } from '../../core/run-input.js';
import { LIMITS } from '../../core/limits.js';

/**
 * The runner protocol: what a remote runner (a node with `node.runner.api`) and an api node say
 * to each other. JSON over HTTP under `/runner/v1/`, every request with
 * `Authorization: Bearer <runner token>`. It covers exactly what the `Runner` uses of storage,
 * coordination and the catalog, and nothing else:
 *
 * | request | body → answer |
 * |---|---|
 * | `POST /runner/v1/session` | `{ node, cluster, group }` → `{ runner, token, cluster }`: checks the token and its cluster at start |
 * | `POST /runner/v1/take` | `{ runner: { id, cluster, tags, handlers, lookaheadMs? }, limit }` → `{ runs, unavailable }` |
 * | `POST /runner/v1/renew` | `{ leases: [{ id, attempt, runner }] }` → `{ results }` |
 * | `POST /runner/v1/settle` | `{ settlements: [{ lease, outcome }] }` → `{ results: [{ id, accepted, status, unavailable? }] }` |
 * | `POST /runner/v1/heartbeat` | `{ info: RunnerInfo, ttlMs }` → `{ ok: true }` |
 * | `POST /runner/v1/leave` | `{ runner }` → `{ ok: true }` |
 * | `GET /runner/v1/clusters`, `GET /runner/v1/clusters/<slug>` | → `{ clusters }`, `{ cluster }` (only the token's cluster) |
 * | `GET /runner/v1/worker-groups/<name>` | → `{ config }` (null when the group has none) |
 * | `GET /runner/v1/events?runner=<id>&group=<group>` | server-sent events: `work`, `stop` `{ id }`, `worker-group` `{ name }` |
 *
 * Errors answer with an HTTP status and `{ error: { code, message } }` (`UNAUTHENTICATED` 401,
 * `FORBIDDEN` 403, `BAD_USER_INPUT` 400 — and 405 for a wrong method (with `Allow`), 415 for a
 * body that is not `application/json` —, `NOT_FOUND` 404, `CONFLICT` 409, `REQUEST_ENTITY_TOO_LARGE` 413,
 * `RATE_LIMITED` 429 with `Retry-After`, `SHARD_UNAVAILABLE` / `COORDINATION_UNAVAILABLE` 503,
 * `INTERNAL` 500 with a fixed message). Dates travel as ISO strings.
 *
 * Runner ids are scoped to their token: a runner's id is `<node id>@<token name>` (node ids never
 * contain `@`). The api node hands it out (`session`) and refuses any request that names a runner
 * of another token. A run's lease names its runner, and storage only accepts a renewal or an
 * outcome whose lease matches the run's holder, so only the token that claimed a run can renew
 * or settle it — with no binding to store, expire or race.
 */

export const RUNNER_API_PREFIX = '/runner/v1/';

/** Body bounds: a settle batch carries results and subtasks (each at most 1 MiB encoded). */
export const RUNNER_API_LIMITS = {
  /** Bytes of a `settle` request body. */
  settleBodyBytes: 8 * 1024 * 1024,
  /** Bytes of any other request body. */
  bodyBytes: 1024 * 1024,
  /** Bytes of a `heartbeat` body: it is kept in the registry for its TTL. */
  heartbeatBodyBytes: 256 * 1024,
  /** A registry entry outlives its last heartbeat by at most this (longer TTLs are cut to it). */
  heartbeatTtlMs: 10 * 60 * 1000,
  /** Settlements in one `settle`. */
  settlements: 1000,
  /** Leases in one `renew`. */
  leases: 5000,
  /** Tags and handlers a runner names in `take` and `heartbeat`. */
  tags: 500,
  handlers: 10_000,
  /** Open event streams per token, and in all, per api node. */
  streamsPerToken: 1000,
  streams: 10_000,
} as const;

const nodeIdPart = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,199}$/;
const tokenNamePart = /^[A-Za-z0-9][A-Za-z0-9_.@-]{0,99}$/;

/** `<node id>@<token name>`: the id a runner of that token claims with. */
export function scopedRunnerId(node: string, tokenName: string): string {
  return `${node}@${tokenName}`;
}

/** The token name a scoped runner id belongs to, or null when `id` is not one. */
export function tokenOfRunnerId(id: string): string | null {
  const at = id.indexOf('@');
  if (at <= 0) return null;
  const node = id.slice(0, at);
  const token = id.slice(at + 1);
  return nodeIdPart.test(node) && tokenNamePart.test(token) ? token : null;
}

export const runnerIdSchema = z
  .string()
  .max(301)
  .refine((id) => tokenOfRunnerId(id) !== null, 'must be a runner id `<node id>@<token name>` as the session request returned it');

const leaseSchema = z.strictObject({
  id: runIdSchema,
  attempt: z.number().int().min(1).max(1_000_000),
  runner: runnerIdSchema,
});

export const sessionRequestSchema = z.strictObject({
  node: z.string().regex(nodeIdPart, 'must be a node id (letters, digits, `_`, `.`, `:` or `-`)'),
  cluster: slugSchema,
  group: tagSchema,
});

export const takeRequestSchema = z.strictObject({
  runner: z.strictObject({
    id: runnerIdSchema,
    cluster: slugSchema,
    tags: z.array(tagSchema).max(RUNNER_API_LIMITS.tags),
    handlers: z.array(funcNameSchema).max(RUNNER_API_LIMITS.handlers),
    lookaheadMs: z.number().int().min(0).max(LIMITS.aheadMs).optional(),
  }),
  limit: z.number().int().min(1).max(LIMITS.takeBatch),
});

export const renewRequestSchema = z.strictObject({
  leases: z.array(leaseSchema).min(1).max(RUNNER_API_LIMITS.leases),
});

/**
 * Outcomes a runner may report. `lost` is not one of them: only the storage sweep decides that.
 * A failure travels as the message, name and stack the store keeps of it; subtasks (`spawn`) are
 * checked by the store as for a local runner.
 */
const outcomeSchema = z.discriminatedUnion('status', [
  z.strictObject({ status: z.literal('completed'), result: z.unknown(), spawn: z.array(z.unknown()).max(LIMITS.flowSteps).optional() }),
  z.strictObject({
    status: z.literal('failed'),
    error: z.strictObject({
      message: z.string().max(LIMITS.errorMessageLength),
      name: z.string().max(LIMITS.nameLength),
      stack: z.string().max(LIMITS.errorStackLength).nullable(),
    }),
  }),
  z.strictObject({ status: z.literal('stopped'), reason: z.string().max(LIMITS.reasonLength).optional() }),
  z.strictObject({ status: z.literal('released') }),
]);

export const settleRequestSchema = z.strictObject({
  settlements: z.array(z.strictObject({ lease: leaseSchema, outcome: outcomeSchema })).min(1).max(RUNNER_API_LIMITS.settlements),
});
export type WireSettlement = z.output<typeof settleRequestSchema>['settlements'][number];

/** Unknown fields of `info` are dropped, not refused, so a newer runner still registers with an older api node. */
export const heartbeatRequestSchema = z.strictObject({
  info: z.object({
    id: runnerIdSchema,
    node: z.string().regex(nodeIdPart),
    cluster: slugSchema,
    group: tagSchema,
    tags: z.array(tagSchema).max(RUNNER_API_LIMITS.tags),
    handlers: z.array(funcNameSchema).max(RUNNER_API_LIMITS.handlers),
    dedicatedHandler: funcNameSchema.nullable().optional(),
    capacity: z.number().int().min(0).max(100_000),
    load: z.number().int().min(0).max(100_000),
    state: z.enum(['running', 'draining']),
    // The registry keeps it for the operator's `runners` query, which answers it as a DateTime.
    startedAt: dateTextSchema,
  }),
  ttlMs: z.number().int().min(1000).max(365 * 24 * 3600 * 1000),
});

export const leaveRequestSchema = z.strictObject({ runner: runnerIdSchema });

export const eventsQuerySchema = z.strictObject({ runner: runnerIdSchema, group: tagSchema });

export interface SessionAnswer {
  /** The id to claim, renew, settle and register with. */
  readonly runner: string;
  readonly token: string;
  readonly cluster: string;
}

export interface WireSettleResult {
  readonly id: string;
  readonly accepted: boolean;
  readonly status: string | null;
  readonly unavailable?: string;
}

export interface WireError {
  readonly error: { readonly code: string; readonly message: string };
}

/** Event names of the push channel (`GET /runner/v1/events`). */
export const RUNNER_EVENTS = {
  /** Runs became claimable in the token's cluster. */
  work: 'work',
  /** `{ id }`: a run this runner holds was asked to stop. */
  stop: 'stop',
  /** `{ name }`: a worker group's config changed. */
  workerGroup: 'worker-group',
  /** Sent once when the stream opens. */
  ready: 'ready',
} as const;
