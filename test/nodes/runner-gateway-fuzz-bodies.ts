import { RUNNER_API_LIMITS } from '../../src/api/runner-gateway/protocol.js';
import { DATE_TIMES, Lazy, writeJson, type Chooser } from '../api/fuzz-values.js';
import { CALLERS, CLUSTERS, FUNCS, GUARD_OWNERS, isPlainObject, Ref, TOKEN_NAMES, WORKER_GROUP, type Caller } from './runner-gateway-fuzz-fixture.js';

/**
 * The bodies of the runner gateway fuzz test's POST requests (runner-gateway-fuzz-requests.ts):
 * `template` writes a valid body for a route as one caller's request and says what status it
 * must get; `mutate` changes one field of it, the near misses a validator must refuse (or may
 * accept) without a fault. Leases are `Ref`s into the pools, with whether their runner belongs
 * to the body's caller: the status of a valid body depends on it.
 */

export const POST_ROUTES = ['session', 'take', 'renew', 'settle', 'heartbeat', 'leave'] as const;
export type PostRoute = (typeof POST_ROUTES)[number];

/** Who writes a body: the tape that makes every decision, and the caller whose token is sent (null: none valid). */
export interface BodyContext {
  readonly c: Chooser;
  readonly caller: Caller | null;
  /** Whose request the body is written as. */
  readonly as: Caller;
}

/** A runner id of the body's caller (`own`), or of another token. Never a guard holder. */
export function runnerId(ctx: BodyContext, own: boolean): string {
  const node = ctx.c.pick(['fz-a', 'fz-b', 'fz-x', 'n.1:2_3', 'A']);
  if (own) return `${node}@${TOKEN_NAMES[ctx.as]}`;
  const other = CALLERS.filter((caller) => caller !== ctx.as);
  return ctx.c.pick([`${node}@${TOKEN_NAMES[ctx.c.pick(other)]}`, `${node}@tok-zzz`, `${node}@${TOKEN_NAMES[ctx.as]}x`, `${node}@${TOKEN_NAMES[ctx.as]}@x`]);
}

function otherCluster(ctx: BodyContext): string {
  return ctx.c.pick([...CALLERS.filter((caller) => caller !== ctx.as).map((caller) => CLUSTERS[caller]), 'default', 'nope']);
}

function uuid(c: Chooser): string {
  const hex = Array.from({ length: 32 }, () => '0123456789abcdef'[c.int(16)]).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20)}`;
}

/** A lease to renew or settle, and whether its runner belongs to the body's caller. */
function lease(ctx: BodyContext): { value: object; own: boolean } {
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

function outcome(ctx: BodyContext): object {
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
export function template(route: PostRoute, ctx: BodyContext): { value: object; expect: number } {
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

/** Sets an own property, `__proto__` included (assignment would set the prototype instead). */
function define(target: object, key: string | number, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/** One field of a valid body changed: the near misses a validator must refuse (or may accept) without a fault. */
export function mutate(value: object, c: Chooser): { value: object; how: string } {
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
