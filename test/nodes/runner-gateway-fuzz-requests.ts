import fc from 'fast-check';
import { RUNNER_API_LIMITS } from '../../src/api/runner-gateway/protocol.js';
import { atomsArbitrary, Chooser } from '../api/fuzz-values.js';
import { mutate, runnerId, template, type BodyContext, type PostRoute } from './runner-gateway-fuzz-bodies.js';
import { ADMIN_TOKEN, CLUSTERS, PREFIX, TOKENS, WORKER_GROUP, type Body, type Caller, type GatewayRequest } from './runner-gateway-fuzz-fixture.js';

/**
 * What the runner gateway fuzz test (runner-gateway-fuzz.test.ts) sends: one request as plain
 * data (runner-gateway-fuzz-fixture.ts), built by code that asks a `Chooser` (a fast-check tape,
 * see fuzz-values.ts) for every decision, so a seed always generates the same request. POST
 * bodies are written by runner-gateway-fuzz-bodies.ts; their leases are filled in at send time.
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

const WRONG_FOR_POST = ['GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'];
const WRONG_FOR_GET = ['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'];

export function bodyLimit(route: string): number {
  if (route === 'settle') return RUNNER_API_LIMITS.settleBodyBytes;
  if (route === 'heartbeat') return RUNNER_API_LIMITS.heartbeatBodyBytes;
  return RUNNER_API_LIMITS.bodyBytes;
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


function postRequest(route: PostRoute, c: Chooser, auth: { header: string | null; caller: Caller | null }): GatewayRequest {
  const ctx: BodyContext = { c, caller: auth.caller, as: auth.caller ?? c.pick(['a', 'b'] as const) };
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
