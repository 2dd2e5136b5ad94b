import { Lazy } from '../api/fuzz-values.js';

/**
 * What the runner gateway fuzz test (runner-gateway-fuzz.test.ts) works with, shared by its
 * modules: the deployment it sets up (three runner tokens, their clusters, the handlers and tags
 * of its runs, the guard runners), the pools of leases requests draw on, and a generated request
 * as plain data. Run ids and attempts exist only at run time, so a body holds `Ref`s to leases in
 * the pools, filled in when the request is sent (runner-gateway-fuzz-client.ts).
 */

export type Caller = 'a' | 'b' | 'c';
export const CALLERS: readonly Caller[] = ['a', 'b', 'c'];
export const TOKENS: Readonly<Record<Caller, string>> = { a: 'tpr_gateway-fuzz-alpha', b: 'tpr_gateway-fuzz-beta', c: 'tpr_gateway-fuzz-gamma' };
export const TOKEN_NAMES: Readonly<Record<Caller, string>> = { a: 'tok-a', b: 'tok-b', c: 'tok-c' };
/** `gamma` is never created: tok-c's session is refused with 404, its takes find nothing. */
export const CLUSTERS: Readonly<Record<Caller, string>> = { a: 'alpha', b: 'beta', c: 'gamma' };
export const ADMIN_TOKEN = 'tp_gateway-fuzz-admin';
/** Handlers: `work` runs are there to be claimed; `held` runs the sessions hold; `guard` runs are never named by a request. */
export const FUNCS = { work: 'fz.work', held: 'fz.held', guard: 'fz.guard', child: 'fz.child', final: 'fz.final' } as const;
/** A tag no generated request names: pending runs with it must stay pending. */
export const HIDDEN_TAG = 'fz-hidden';
export const WORKER_GROUP = 'fz-group';
/** Guard runs alternate between the two clusters that exist: guard i belongs to `GUARD_OWNERS[i % 2]`. */
export const GUARD_OWNERS = ['a', 'b'] as const;
export const GUARD_NODE = 'fz-guard';
export const sessionRunner = (caller: Caller) => `fz-${caller}@${TOKEN_NAMES[caller]}`;

export interface LeaseRecord {
  readonly id: string;
  readonly attempt: number;
  readonly runner: string;
}

/** Leases known at send time: runs held by runners of tok-a and tok-b (grows as takes succeed), and the guard runs. */
export interface LeasePools {
  readonly held: Record<'a' | 'b', LeaseRecord[]>;
  readonly guards: readonly LeaseRecord[];
}

/** The ids of the guard runs, which no generated request may move. */
export const guardIds = (pools: LeasePools) => new Set(pools.guards.map((lease) => lease.id));

/** A field of a lease in a pool, filled in at send time. */
export class Ref {
  constructor(
    readonly pool: 'a' | 'b' | 'guard',
    readonly index: number,
    readonly field: 'id' | 'attempt' | 'next-attempt' | 'runner',
  ) {}
}

/** An object of a body's JSON tree: not an array, and not a placeholder (`Ref`, `Lazy`). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Ref) && !(value instanceof Lazy);
}

export type Body =
  | { readonly kind: 'json'; readonly value: unknown }
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'bytes'; readonly bytes: readonly number[] }
  /** A JSON string of exactly `bytes` bytes, sent with a content-length or chunked. */
  | { readonly kind: 'pad'; readonly bytes: number; readonly chunked: boolean };

export interface GatewayRequest {
  /** Route and variant, for the summary and failure reports (`settle mutated:null`, `take oversize` …). */
  readonly label: string;
  readonly method: string;
  /** Path and query string, percent-encoded. */
  readonly path: string;
  readonly authorization: string | null;
  /** The token's caller, or null when the token must be refused. */
  readonly caller: Caller | null;
  readonly contentType: string | null;
  readonly body?: Body;
  /** The status the answer must have, when the request alone decides it. */
  readonly expect?: number;
}

/** Where the gateway's routes live. */
export const PREFIX = '/runner/v1/';
