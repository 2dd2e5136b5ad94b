import { request as httpRequest, type Agent, type IncomingHttpHeaders } from 'node:http';
import fc from 'fast-check';
import { RUNNER_API_LIMITS } from '../../src/api/runner-gateway/protocol.js';
import { atomsArbitrary, Chooser, DATE_TIMES, Lazy, writeJson } from '../api/fuzz-values.js';

/**
 * What the runner gateway fuzz test (runner-gateway-fuzz.test.ts) sends, and how: one request as plain
 * data, built by code that asks a `Chooser` (a fast-check tape, see fuzz-values.ts) for every
 * decision. Run ids and attempts exist only at run time, so a body holds `Ref`s to leases in the
 * test's pools, filled in when the request is sent: a seed always generates the same request.
 *
 * Callers: tokens `a` and `b` (clusters alpha and beta, which exist) and `c` (cluster gamma,
 * which does not); or none — no token, a malformed one, an unknown one, an API token. A request
 * without a valid token is still written as one caller's request (`as`), guard leases with
 * their real holder included, so a gateway that skipped authentication would be seen moving runs.
 *
 * Where the request alone decides the answer (no token → 401, wrong method → 405, a body over
 * the limit → 413, a runner of another token → 403, an untouched valid body → 200 …) it says so
 * in `expect`; mutated bodies may get any documented answer.
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

/** A field of a lease in a pool, filled in at send time. */
export class Ref {
  constructor(
    readonly pool: 'a' | 'b' | 'guard',
    readonly index: number,
    readonly field: 'id' | 'attempt' | 'next-attempt' | 'runner',
  ) {}
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

export const PREFIX = '/runner/v1/';
const POST_ROUTES = ['session', 'take', 'renew', 'settle', 'heartbeat', 'leave'] as const;
type PostRoute = (typeof POST_ROUTES)[number];
const WRONG_FOR_POST = ['GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'];
const WRONG_FOR_GET = ['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'];

export function bodyLimit(route: string): number {
  if (route === 'settle') return RUNNER_API_LIMITS.settleBodyBytes;
  if (route === 'heartbeat') return RUNNER_API_LIMITS.heartbeatBodyBytes;
  return RUNNER_API_LIMITS.bodyBytes;
}

interface Ctx {
  readonly c: Chooser;
  readonly caller: Caller | null;
  /** Whose request the body is written as. */
  readonly as: Caller;
}

function authorization(c: Chooser): { header: string | null; caller: Caller | null } {
  const valid = (caller: Caller) => ({ header: `Bearer ${TOKENS[caller]}`, caller });
  return c.weighted<{ header: string | null; caller: Caller | null }>([
    [40, () => valid('a')],
    [26, () => valid('b')],
    [8, () => valid('c')],
    [2, () => ({ header: `bearer   ${TOKENS.a}  `, caller: 'a' })],
    [5, () => ({ header: null, caller: null })],
    [11, () => ({
      header: c.pick([
        `Bearer ${TOKENS.a}x`,
        `Bearer ${TOKENS.b.slice(0, -1)}`,
        'Bearer tpr_not-a-token-of-this-deployment',
        `Bearer ${ADMIN_TOKEN}`,
        'Bearer',
        'Bearer ',
        `Basic ${Buffer.from(`tok-a:${TOKENS.a}`).toString('base64')}`,
        `Bearer ${TOKENS.a} ${TOKENS.a}`,
        `Token ${TOKENS.a}`,
        `Bearer ${'t'.repeat(5000)}`,
        `Bearer ${headerSafe(c.string())}`,
      ]),
      caller: null,
    })],
  ]);
}

/** Header values travel as latin-1 without CR, LF or NUL. */
function headerSafe(text: string): string {
  return [...text].map((ch) => (/^[\t\x20-\x7e\x80-\xff]$/.test(ch) ? ch : '?')).join('');
}

/** Percent-encoded text for a path; lone surrogates (which `encodeURIComponent` refuses) become U+FFFD. */
function pathPart(text: string): string {
  return encodeURIComponent(Buffer.from(text, 'utf8').toString('utf8'));
}

/** A runner id of the body's caller (`own`), or of another token. Never a guard holder. */
function runnerId(ctx: Ctx, own: boolean): string {
  const node = ctx.c.pick(['fz-a', 'fz-b', 'fz-x', 'n.1:2_3', 'A']);
  if (own) return `${node}@${TOKEN_NAMES[ctx.as]}`;
  const other = CALLERS.filter((caller) => caller !== ctx.as);
  return ctx.c.pick([`${node}@${TOKEN_NAMES[ctx.c.pick(other)]}`, `${node}@tok-zzz`, `${node}@${TOKEN_NAMES[ctx.as]}x`, `${node}@${TOKEN_NAMES[ctx.as]}@x`]);
}

function otherCluster(ctx: Ctx): string {
  return ctx.c.pick([...CALLERS.filter((caller) => caller !== ctx.as).map((caller) => CLUSTERS[caller]), 'default', 'nope']);
}

function uuid(c: Chooser): string {
  const hex = Array.from({ length: 32 }, () => '0123456789abcdef'[c.int(16)]).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20)}`;
}

/** A lease to renew or settle, and whether its runner belongs to the body's caller. */
function lease(ctx: Ctx): { value: object; own: boolean } {
  const { c, as } = ctx;
  const i = c.int(64);
  const attempt = (pool: Ref['pool']) => (c.chance(85) ? new Ref(pool, i, 'attempt') : c.pick<unknown>([new Ref(pool, i, 'next-attempt'), 1, 2]));
  return c.weighted<{ value: object; own: boolean }>([
    // A run its token holds: the holder (accepted while the lease is live), or another runner of that token.
    [50, () => {
      const pool = as === 'c' ? 'a' : as;
      const holder = as !== 'c' && c.chance(80);
      return { value: { id: new Ref(pool, i, 'id'), attempt: attempt(pool), runner: holder ? new Ref(pool, i, 'runner') : runnerId(ctx, true) }, own: true };
    }],
    // A run another token holds, named with its holder.
    [15, () => {
      const pool = as === 'a' ? 'b' : 'a';
      return { value: { id: new Ref(pool, i, 'id'), attempt: attempt(pool), runner: new Ref(pool, i, 'runner') }, own: false };
    }],
    // A guard run: with its holder when that is another token's runner (or no valid token is sent), else with a runner that does not hold it.
    [15, () => {
      const g = c.int(4);
      const ownsGuard = GUARD_OWNERS[g % 2] === as;
      if (ownsGuard && ctx.caller !== null) return { value: { id: new Ref('guard', g, 'id'), attempt: new Ref('guard', g, 'attempt'), runner: runnerId(ctx, true) }, own: true };
      return { value: { id: new Ref('guard', g, 'id'), attempt: new Ref('guard', g, 'attempt'), runner: new Ref('guard', g, 'runner') }, own: ownsGuard };
    }],
    [10, () => ({ value: { id: uuid(c), attempt: 1, runner: runnerId(ctx, true) }, own: true })],
    [10, () => {
      const own = c.chance(70);
      return { value: { id: uuid(c).toUpperCase(), attempt: 1 + c.int(3), runner: runnerId(ctx, own) }, own };
    }],
  ]);
}

function outcome(ctx: Ctx): object {
  const { c } = ctx;
  return c.weighted<object>([
    [25, () => ({ status: 'completed', result: c.json() })],
    [20, () => {
      const child = (): unknown =>
        c.weighted<unknown>([
          [4, () => ({ funcName: FUNCS.child, args: { n: c.int(10) }, dependsOn: [] })],
          [2, () => ({ funcName: FUNCS.child, args: [], cluster: CLUSTERS[ctx.as], dependsOn: [] })],
          [2, () => ({ funcName: FUNCS.child, args: {}, cluster: otherCluster(ctx), dependsOn: [] })],
          [1, () => ({ funcName: FUNCS.child, args: {}, dependsOn: [c.int(3)] })],
          // Subtasks are unchecked JSON to the schema, but the gateway reads their cluster itself.
          [2, () => ({ funcName: FUNCS.child, args: {}, cluster: c.pick<unknown>([42, null, [CLUSTERS[ctx.as]], { toString: 1 }, new Lazy('array', 100_000), c.json()]), dependsOn: [] })],
          [1, () => c.json()],
        ]);
      return { status: 'completed', result: null, spawn: Array.from({ length: 1 + c.int(3) }, child) };
    }],
    [25, () => ({ status: 'failed', error: { message: c.string() || 'boom', name: c.pick(['Error', 'TypeError', c.string()]), stack: c.pick([null, 'Error: boom\n    at handler (/srv/app/handler.ts:1:1)', c.string()]) } })],
    [13, () => (c.chance(50) ? { status: 'stopped' } : { status: 'stopped', reason: c.string() })],
    [20, () => ({ status: 'released' })],
  ]);
}

/** A valid body for `route`, written as `ctx.as`, and the status it must get from a valid caller. */
function template(route: PostRoute, ctx: Ctx): { value: object; expect: number } {
  const { c, as } = ctx;
  const ownCluster = c.chance(88);
  const cluster = ownCluster ? CLUSTERS[as] : otherCluster(ctx);
  switch (route) {
    case 'session':
      return { value: { node: c.pick(['fz-a', 'fz-n', 'n.1:2', 'X_9']), cluster, group: c.pick(['default', WORKER_GROUP]) }, expect: !ownCluster ? 403 : as === 'c' ? 404 : 200 };
    case 'take': {
      const own = c.chance(85);
      const runner: Record<string, unknown> = {
        id: runnerId(ctx, own),
        cluster,
        tags: c.pick([['default'], ['default', 'gpu'], ['gpu'], []]),
        handlers: c.pick([[FUNCS.work], [FUNCS.work, FUNCS.child], [FUNCS.held, FUNCS.work, 'fz.other'], [FUNCS.child], []]),
      };
      if (c.chance(30)) runner.lookaheadMs = c.pick([0, 500, 10_000]);
      return { value: { runner, limit: c.pick([1, 1, 2, 3, 5, 1000]) }, expect: own && ownCluster ? 200 : 403 };
    }
    case 'renew': {
      const leases = Array.from({ length: 1 + c.int(3) }, () => lease(ctx));
      return { value: { leases: leases.map((l) => l.value) }, expect: leases.every((l) => l.own) ? 200 : 403 };
    }
    case 'settle': {
      const leases = Array.from({ length: 1 + c.int(3) }, () => lease(ctx));
      return { value: { settlements: leases.map((l) => ({ lease: l.value, outcome: outcome(ctx) })) }, expect: leases.every((l) => l.own) ? 200 : 403 };
    }
    case 'heartbeat': {
      const own = c.chance(85);
      const info: Record<string, unknown> = {
        id: runnerId(ctx, own),
        node: c.pick(['fz-a', 'fz-node']),
        cluster,
        group: c.pick(['default', WORKER_GROUP]),
        tags: ['default'],
        handlers: [FUNCS.work],
        capacity: c.pick([0, 1, 4, 100_000]),
        load: c.pick([0, 1]),
        state: c.pick(['running', 'draining']),
        // Odd dates a runner could send: the registry keeps them for the operator's `runners` query.
        startedAt: c.chance(75) ? '2025-01-01T00:00:00.000Z' : c.pick(DATE_TIMES),
      };
      if (c.chance(20)) info.dedicatedHandler = c.pick([null, FUNCS.work]);
      const ttlMs = c.pick([1000, 5000, 60_000, RUNNER_API_LIMITS.heartbeatTtlMs, 365 * 24 * 3600 * 1000]);
      const date = !Number.isNaN(Date.parse(info.startedAt as string));
      return { value: { info, ttlMs }, expect: !date ? 400 : own && ownCluster ? 200 : 403 };
    }
    case 'leave': {
      const own = c.chance(85);
      return { value: { runner: runnerId(ctx, own) }, expect: own ? 200 : 403 };
    }
  }
}

/** Every node of a JSON tree, with where it sits (the root has no parent). */
function nodesOf(value: unknown, parent: object | null = null, key: string | number = '', out: Array<{ parent: object | null; key: string | number; value: unknown }> = []) {
  out.push({ parent, key, value });
  if (Array.isArray(value)) value.forEach((item, index) => nodesOf(item, value, index, out));
  else if (isPlainObject(value)) for (const [k, item] of Object.entries(value)) nodesOf(item, value, k, out);
  return out;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Ref) && !(value instanceof Lazy);
}

/** Sets an own property, `__proto__` included (assignment would set the prototype instead). */
function define(target: object, key: string | number, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/** One field of a valid body changed: the near misses a validator must refuse (or may accept) without a fault. */
function mutate(value: object, c: Chooser): { value: object; how: string } {
  const nodes = nodesOf(value);
  const node = nodes[c.int(nodes.length)]!;
  const objects = nodes.filter((n) => isPlainObject(n.value));
  const arrays = nodes.filter((n) => Array.isArray(n.value));
  const replace = (replacement: unknown) => {
    if (node.parent === null) return replacement as object;
    define(node.parent, node.key, replacement);
    return value;
  };
  const how = c.pick(['wrong-type', 'null', 'missing', 'extra-key', 'out-of-range', 'oversize-string', 'oversize-array', 'deep', 'unicode']);
  switch (how) {
    case 'wrong-type':
      return { value: replace(c.pick<unknown>(typeof node.value === 'number' ? ['1', true, [1], {}] : typeof node.value === 'string' ? [42, false, [node.value], { s: 1 }] : ['x', 0, true])), how };
    case 'null':
      return { value: replace(null), how };
    case 'missing':
      if (Array.isArray(node.parent)) node.parent.splice(node.key as number, 1);
      else if (node.parent) delete (node.parent as Record<string, unknown>)[node.key];
      return { value, how };
    case 'extra-key': {
      const target = objects.length > 0 ? objects[c.int(objects.length)]!.value as object : value;
      define(target, c.pick(['extra', '__proto__', 'constructor', 'prototype', 'toString', c.string()]), c.pick<unknown>([1, { polluted: true }, null, c.json()]));
      return { value, how };
    }
    case 'out-of-range':
      return { value: replace(c.pick([-1, 0, 1.5, -0, 2 ** 31, 2 ** 53 + 2, -(2 ** 53), 1e308, 1e-9, c.integer()])), how };
    case 'oversize-string':
      return { value: replace('x'.repeat(c.pick([101, 201, 302, 1001, 8193, 32_769, 300_000]))), how };
    case 'oversize-array': {
      const target = arrays.length > 0 ? arrays[c.int(arrays.length)]! : node;
      // Copies of a small item only: ten thousand copies of a 100,000-deep one would be gigabytes.
      const first: unknown = Array.isArray(target.value) && target.value.length > 0 ? target.value[0] : 'default';
      const item = writeJson(first).length <= 1000 ? first : 'default';
      const copies = Array.from({ length: c.pick([501, 1001, 5001, 10_001]) }, () => item);
      if (target.parent === null) return { value: copies, how };
      define(target.parent, target.key, copies);
      return { value, how };
    }
    case 'deep':
      return { value: replace(new Lazy(c.pick(['array', 'object'] as const), c.pick([100, 1000, 10_000, 100_000]))), how };
    default:
      return { value: replace(c.pick(['ü', '日本語', '🙂', '\u202e', '\ud800', '\u0000', 'a\nb', '', ' ', c.string()])), how };
  }
}

function postRequest(route: PostRoute, c: Chooser, auth: { header: string | null; caller: Caller | null }): GatewayRequest {
  const ctx: Ctx = { c, caller: auth.caller, as: auth.caller ?? c.pick(['a', 'b'] as const) };
  const valid = auth.caller !== null;
  const query = c.chance(5) ? `?${c.pick(['runner=x', 'a=1&a=2', '__proto__=1'])}` : '';
  const base = { method: 'POST', path: `${PREFIX}${route}${query}`, authorization: auth.header, caller: auth.caller, contentType: 'application/json' };
  const refusedOr = (status: number | undefined) => (valid ? status : 401);
  if (c.chance(8)) {
    const method = c.pick(WRONG_FOR_POST);
    const body = method === 'GET' || method === 'HEAD' ? {} : { body: { kind: 'json', value: template(route, ctx).value } as Body };
    return { ...base, label: `${route} method`, method, ...body, expect: refusedOr(405) };
  }
  const limit = bodyLimit(route);
  return c.weighted<GatewayRequest>([
    [44, () => {
      const { value, expect } = template(route, ctx);
      return { ...base, label: `${route} valid`, contentType: c.pick(['application/json', 'application/json', 'application/json; charset=utf-8', 'Application/JSON']), body: { kind: 'json', value }, expect: refusedOr(expect) };
    }],
    [32, () => {
      const { value, how } = mutate(template(route, ctx).value, c);
      return { ...base, label: `${route} mutated:${how}`, body: { kind: 'json', value }, expect: refusedOr(undefined) };
    }],
    [5, () => ({ ...base, label: `${route} garbage`, body: c.chance(50) ? { kind: 'bytes', bytes: Array.from({ length: 1 + c.int(64) }, () => c.int(256)) } : { kind: 'text', text: `${c.string()}\u0000{` }, expect: refusedOr(400) })],
    [3, () => ({ ...base, label: `${route} empty`, body: { kind: 'text', text: '' }, expect: refusedOr(400) })],
    [3, () => ({ ...base, label: `${route} not-an-object`, body: { kind: 'text', text: c.pick(['null', '42', '"take"', 'true', '[]', '[{}]']) }, expect: refusedOr(400) })],
    [3, () => ({ ...base, label: `${route} bad-json`, body: { kind: 'text', text: c.pick(['{"runner":', '{"limit":1,}', "{'a':1}", '{"a":1}{"b":2}', '\ufeff{}', '{"a":"\\x"}', 'nul']) }, expect: refusedOr(400) })],
    [4, () => ({
      ...base,
      label: `${route} content-type`,
      contentType: c.pick([null, 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/jsonx', 'text/json', 'application/octet-stream']),
      body: { kind: 'json', value: template(route, ctx).value },
      expect: refusedOr(415),
    })],
    [3, () => ({ ...base, label: `${route} oversize`, body: { kind: 'pad', bytes: limit + 1 + c.int(1024), chunked: c.chance(50) }, expect: refusedOr(413) })],
    [1, () => ({ ...base, label: `${route} at-limit`, body: { kind: 'pad', bytes: limit, chunked: c.chance(50) }, expect: refusedOr(400) })],
  ]);
}

function getRequest(c: Chooser, auth: { header: string | null; caller: Caller | null }): GatewayRequest {
  const as = auth.caller ?? 'a';
  const wrongMethod = c.chance(8);
  const method = wrongMethod ? c.pick(WRONG_FOR_GET) : 'GET';
  /** `ok` for GET (undefined: not decided here); `early` when the path is refused before the method is looked at. */
  const request = (label: string, path: string, ok: number | undefined, early?: number): GatewayRequest => ({
    label: wrongMethod ? `${label} method` : label,
    method,
    path,
    authorization: auth.header,
    caller: auth.caller,
    contentType: null,
    expect: auth.caller === null ? 401 : (early ?? (ok === undefined ? undefined : wrongMethod ? 405 : ok)),
  });
  return c.weighted<GatewayRequest>([
    [3, () => request('clusters', `${PREFIX}clusters`, 200)],
    [5, () => {
      const [slug, ok, early] = c.pick<readonly [string, number, number?]>([
        [CLUSTERS[as], 200],
        [`%${CLUSTERS[as].charCodeAt(0).toString(16)}${CLUSTERS[as].slice(1)}`, 200],
        [CLUSTERS[as === 'a' ? 'b' : 'a'], 403],
        ['gamma', as === 'c' ? 200 : 403],
        ['', 403],
        ['%00', 403],
        [encodeURIComponent('日本'), 403],
        ['x'.repeat(3000), 403],
        ['%E0%A4%A', 400, 400],
        ['%', 400, 400],
      ]);
      return request('cluster', `${PREFIX}clusters/${slug}`, ok, early);
    }],
    [4, () => {
      const [name, ok, early] = c.pick<readonly [string, number | undefined, number?]>([
        ['default', 200],
        [WORKER_GROUP, 200],
        ['nope', 200],
        ['', 400, 400],
        [encodeURIComponent('bad name!'), 400, 400],
        ['%E0%A4%A', 400, 400],
        ['x'.repeat(101), 400, 400],
        // Random: `.` and `..` are path segments the URL parser resolves, so anything documented may come back.
        [pathPart(c.string()) || 'q', undefined],
      ]);
      return request('worker-group', `${PREFIX}worker-groups/${name}`, ok, early);
    }],
    [6, () => {
      const own = c.chance(80);
      const runner = c.weighted<readonly [string | null, number]>([
        [8, () => [runnerId({ c, caller: auth.caller, as }, own), own ? 200 : 403]],
        [1, () => [c.pick(['fz-a', '@tok-a', 'fz-a@', `${'n'.repeat(300)}@tok-a`, 'a b@tok-a']), 400]],
        [1, () => [null, 400]],
      ]);
      const group = c.weighted<readonly [string | null, boolean]>([
        [8, () => [c.pick(['default', WORKER_GROUP]), true]],
        [1, () => [c.pick(['bad group!', '', 'x'.repeat(101)]), false]],
        [1, () => [null, false]],
      ]);
      const params = new URLSearchParams();
      if (runner[0] !== null) params.set('runner', runner[0]);
      if (group[0] !== null) params.set('group', group[0]);
      const extra = c.chance(8);
      if (extra) params.set(c.pick(['extra', '__proto__', 'constructor']), '1');
      const query = params.toString();
      return request('events', `${PREFIX}events${query === '' ? '' : `?${query}`}`, !group[1] || extra || runner[1] === 400 ? 400 : runner[1]);
    }],
  ]);
}

function unknownRequest(c: Chooser, auth: { header: string | null; caller: Caller | null }): GatewayRequest {
  const route = c.pick(['nowhere', '', 'take/', 'TAKE', '%74ake', 'session/x', 'events/x', '__proto__', 'constructor', 'toString', 'worker-groups', '../graphql', '../../healthz', 'v2/take', `x-${pathPart(c.string())}`]);
  const method = c.pick(['GET', 'POST', 'POST', 'PUT', 'DELETE']);
  const body = method === 'GET' ? {} : { body: { kind: 'text', text: '{}' } as Body };
  return { label: 'unknown-path', method, path: `${PREFIX}${route}`, authorization: auth.header, caller: auth.caller, contentType: 'application/json', ...body, expect: auth.caller === null ? 401 : 404 };
}

/** Every request of a fuzz run: one arbitrary (tape + atoms) mapped to a request, so a seed regenerates it. */
export const gatewayRequestArbitrary: fc.Arbitrary<GatewayRequest> = fc
  .record({ tape: fc.array(fc.noBias(fc.nat()), { minLength: 64, maxLength: 400, size: 'max' }), atoms: atomsArbitrary })
  .map(({ tape, atoms }) => {
    const c = new Chooser(tape, atoms);
    const auth = authorization(c);
    return c.weighted<GatewayRequest>([
      [8, () => postRequest('session', c, auth)],
      [20, () => postRequest('take', c, auth)],
      [13, () => postRequest('renew', c, auth)],
      [22, () => postRequest('settle', c, auth)],
      [9, () => postRequest('heartbeat', c, auth)],
      [5, () => postRequest('leave', c, auth)],
      [18, () => getRequest(c, auth)],
      [5, () => unknownRequest(c, auth)],
    ]);
  });

/** The body with its `Ref`s filled in from the pools. */
function resolveRefs(value: unknown, pools: LeasePools): unknown {
  if (value instanceof Ref) {
    const list = value.pool === 'guard' ? pools.guards : pools.held[value.pool];
    // Guard i is always guard i % 4 (its owner depends on it). Three in four other refs name one of
    // the eight newest leases (most likely still live), the rest any lease.
    const newest = value.pool !== 'guard' && value.index % 4 !== 0;
    const at = newest ? list.length - 1 - ((value.index >> 1) % Math.min(list.length, 8)) : value.index % list.length;
    const lease = list[at]!;
    return value.field === 'next-attempt' ? lease.attempt + 1 : lease[value.field];
  }
  if (Array.isArray(value)) return value.map((item) => resolveRefs(item, pools));
  if (isPlainObject(value)) return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, resolveRefs(item, pools)]));
  return value;
}

export interface Answer {
  /** 0 when no HTTP answer came back. */
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly text: string;
  readonly error: string | null;
  readonly ms: number;
}

const TIMEOUT_MS = 20_000;
const MAX_ANSWER_BYTES = 16 * 1024 * 1024;

/**
 * Sends one request to `base` over a socket of `agent` (node:http, so a refusal the server sends
 * while the body is still being written is read, not lost to the write error). An event stream
 * is read up to its first event, then dropped: streams never pile up on the node.
 */
export function send(base: URL, agent: Agent, request: GatewayRequest, body: Buffer | null, chunked: boolean): Promise<Answer> {
  return new Promise((resolve) => {
    const started = Date.now();
    let answered = false;
    let done = false;
    const finish = (answer: Omit<Answer, 'ms'>, drop: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (drop) req.destroy();
      resolve({ ...answer, ms: Date.now() - started });
    };
    const headers: Record<string, string | number> = {};
    if (request.authorization !== null) headers.authorization = request.authorization;
    if (request.contentType !== null) headers['content-type'] = request.contentType;
    if (body && !chunked) headers['content-length'] = body.length;
    const req = httpRequest({ host: base.hostname, port: base.port, method: request.method, path: request.path, headers, agent }, (res) => {
      answered = true;
      const chunks: Buffer[] = [];
      let size = 0;
      const stream = (res.headers['content-type'] ?? '').startsWith('text/event-stream');
      const whole = () => ({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8'), error: null });
      res.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        size += chunk.length;
        if (size > MAX_ANSWER_BYTES) finish({ ...whole(), error: `answer over ${MAX_ANSWER_BYTES} bytes` }, true);
        else if (stream && Buffer.concat(chunks).includes('\n\n')) finish(whole(), true);
      });
      res.on('end', () => finish(whole(), false));
      res.on('error', (error) => finish({ ...whole(), error: `answer cut: ${error.message}` }, true));
    });
    const timer = setTimeout(() => finish({ status: 0, headers: {}, text: '', error: `no answer within ${TIMEOUT_MS} ms` }, true), TIMEOUT_MS);
    // Once the answer is in, a write the server no longer reads (it refused the body) may fail: that is not a finding.
    req.on('error', (error) => {
      if (!answered) finish({ status: 0, headers: {}, text: '', error: error.message }, true);
    });
    if (body && chunked) {
      for (let at = 0; at < body.length; at += 64 * 1024) req.write(body.subarray(at, at + 64 * 1024));
      req.end();
    } else {
      req.end(body ?? undefined);
    }
  });
}

/** The bytes of a body, and the value sent (refs filled in from `pools`) for the oracle. */
export function encode(body: Body | undefined, pools: LeasePools): { bytes: Buffer | null; chunked: boolean; sent: unknown } {
  if (!body) return { bytes: null, chunked: false, sent: undefined };
  switch (body.kind) {
    case 'json': {
      const sent = resolveRefs(body.value, pools);
      return { bytes: Buffer.from(writeJson(sent), 'utf8'), chunked: false, sent };
    }
    case 'text':
      return { bytes: Buffer.from(body.text, 'utf8'), chunked: false, sent: body.text };
    case 'bytes':
      return { bytes: Buffer.from(body.bytes), chunked: false, sent: body.bytes };
    case 'pad':
      return { bytes: Buffer.from(`"${'x'.repeat(body.bytes - 2)}"`), chunked: body.chunked, sent: new Lazy('string', body.bytes - 2) };
  }
}
