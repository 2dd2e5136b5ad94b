import fc from 'fast-check';
import type { GraphQLSchema } from 'graphql';
import { generateOperation, type GeneratedOperation } from './fuzz-operations.js';
import { Chooser, atomsArbitrary, writeJson } from './fuzz-values.js';

/**
 * One fuzz request as plain data: what to send (method, path, headers, body or raw bytes) and
 * what the oracle needs to know about it (the GraphQL document, the caller). Names that only
 * exist at run time (tokens, run ids, cursors) are written as `@@pool:n@@` and filled in when the
 * request is sent, so a seed always generates the same requests.
 */

export type Role = 'viewer' | 'operator' | 'admin';

export interface FuzzRequest {
  /** Category, for the summary and failure reports (`op:mutation`, `body:bad-json` …). */
  readonly label: string;
  readonly method: string;
  /** Path and query string. */
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  /** Who the request authenticates as: a role, or null (no token, or one that must be refused). */
  readonly caller: Role | null;
  readonly body?: string | { readonly padded: number };
  /** Read as server-sent events (subscriptions), for a moment, then dropped. */
  readonly sse?: boolean;
  /** A whole HTTP/1.1 request sent over a plain socket (malformed HTTP). */
  readonly raw?: string;
  /** The GraphQL document and operation name, when the request carries one the server can read. */
  readonly document?: string;
  readonly operationName?: string | undefined;
}

const JSON_HEADERS = { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json' };

/** The authorization header and who it makes the caller. Tokens are `@@token:<role>@@`. */
function authorization(c: Chooser): { header: string | null; caller: Role | null } {
  const role = (r: Role) => ({ header: `Bearer @@token:${r}@@`, caller: r });
  return c.weighted<{ header: string | null; caller: Role | null }>([
    [30, () => role('admin')],
    [22, () => role('operator')],
    [22, () => role('viewer')],
    [10, () => ({ header: null, caller: null })],
    [2, () => ({ header: 'bearer   @@token:operator@@  ', caller: 'operator' })],
    [14, () => ({
      header: c.pick([
        'Bearer @@token:admin@@x',
        `Bearer tp_${'A'.repeat(43)}`,
        'Bearer',
        'Bearer ',
        'Basic YWRtaW46YWRtaW4=',
        'Bearer @@token:admin@@ @@token:admin@@',
        `Bearer ${'t'.repeat(5000)}`,
        'Token @@token:admin@@',
        `Bearer ${headerSafe(c.string())}`,
      ]),
      caller: null,
    })],
  ]);
}

/** Header values travel as latin-1 without CR, LF or NUL; the rest of the string is kept. */
function headerSafe(text: string): string {
  return [...text].map((ch) => (/^[\t\x20-\x7e\x80-\xff]$/.test(ch) ? ch : '?')).join('');
}

function withAuth(headers: Record<string, string>, auth: { header: string | null }): Record<string, string> {
  return auth.header === null ? headers : { ...headers, authorization: auth.header };
}

function graphQLBody(op: GeneratedOperation, c: Chooser): string {
  const params: Record<string, unknown> = { query: op.document };
  if (op.variables !== undefined) params.variables = op.variables;
  if (op.operationName !== undefined) params.operationName = op.operationName;
  if (c.chance(3)) params.extensions = c.pick<unknown>([{}, { persistedQuery: { version: 1, sha256Hash: 'x' } }, 'x', null]);
  return writeJson(params);
}

function operationRequest(schema: GraphQLSchema, c: Chooser, shards: readonly string[]): FuzzRequest {
  const op = generateOperation(schema, c, shards);
  const auth = authorization(c);
  const base = { caller: auth.caller, document: op.document, operationName: op.operationName };
  const asGet = op.type !== 'mutation' ? c.chance(12) : c.chance(3);
  if (asGet) {
    const query = new URLSearchParams({ query: op.document });
    if (op.variables !== undefined) query.set('variables', writeJson(op.variables));
    if (op.operationName !== undefined) query.set('operationName', op.operationName);
    const sse = op.type === 'subscription';
    return { ...base, label: `get:${op.type}`, method: 'GET', path: `/graphql?${query}`, headers: withAuth({ accept: sse ? 'text/event-stream' : 'application/json' }, auth), sse };
  }
  if (op.type === 'subscription' || c.chance(1)) {
    return { ...base, label: `sse:${op.type}`, method: 'POST', path: '/graphql', headers: withAuth({ 'content-type': 'application/json', accept: 'text/event-stream' }, auth), body: graphQLBody(op, c), sse: true };
  }
  if (c.chance(4)) {
    const form = c.chance(50);
    const body = form ? new URLSearchParams({ query: op.document, ...(op.variables ? { variables: writeJson(op.variables) } : {}) }).toString() : op.document;
    const headers = { 'content-type': form ? 'application/x-www-form-urlencoded' : 'application/graphql', accept: 'application/json' };
    return { ...base, label: `${form ? 'form' : 'graphql-body'}:${op.type}`, method: 'POST', path: '/graphql', headers: withAuth(headers, auth), body };
  }
  return { ...base, label: `op:${op.type}`, method: 'POST', path: '/graphql', headers: withAuth(JSON_HEADERS, auth), body: graphQLBody(op, c) };
}

/** Bodies no GraphQL server should read as a request: broken JSON, wrong shapes, wrong types, too big. */
function malformedBody(c: Chooser): FuzzRequest {
  const auth = authorization(c);
  const post = (label: string, body: FuzzRequest['body'], headers: Record<string, string> = JSON_HEADERS): FuzzRequest => ({
    label: `body:${label}`,
    method: 'POST',
    path: '/graphql',
    headers: withAuth(headers, auth),
    caller: auth.caller,
    body,
  });
  return c.weighted<FuzzRequest>([
    [4, () => post('bad-json', c.pick(['{"query":', '{query: "{ __typename }"}', '{"query":"{ __typename }",}', "{'query':'x'}", '{"query":"\\x"}', '{"a":1}{"b":2}', 'nul']))],
    [2, () => post('truncated', `{"query":"{ tasks { nodes { id } } }","variables":{"a":[${'1,'.repeat(c.int(50))}`)],
    [2, () => post('empty', '')],
    [3, () => post('not-an-object', c.pick(['null', '42', '"query"', 'true', '[]', '[null]', '[1,2]']))],
    [3, () => post('wrong-param-types', writeJson(c.pick<unknown>([{ query: 42 }, { query: ['{ __typename }'] }, { query: '{ __typename }', variables: 'x' }, { query: '{ __typename }', variables: [1] }, { query: '{ __typename }', operationName: 7 }, { query: null }, {}, { query: '{ __typename }', extensions: 5 }])))],
    [2, () => post('control-characters', `{"query":"{ __typename }\u0000\u0001","variables":{"x":"\u001b[31m"}}`)],
    [1, () => post('bom', `\ufeff{"query":"{ __typename }"}`)],
    [2, () => post('random', c.string())],
    [1, () => post('json-value', writeJson(c.json()))],
    [1, () => post('too-large', { padded: 2 * 1024 * 1024 + 1 + c.int(1024 * 1024) })],
    [2, () => post('unknown-content-type', '{"query":"{ __typename }"}', { 'content-type': c.pick(['text/plain', 'application/xml', 'application/octet-stream', 'text/html; charset=utf-8', 'application/jsonx', 'multipart/form-data; boundary=x']), accept: 'application/json' })],
    [1, () => post('no-content-type', '{"query":"{ __typename }"}', { accept: 'application/json' })],
    [1, () => post('multipart', '--x\r\nContent-Disposition: form-data; name="operations"\r\n\r\n{"query":"{ __typename }"}\r\n--x--\r\n', { 'content-type': 'multipart/form-data; boundary=x', accept: 'application/json' })],
    [1, () => post('form-bad-json', 'query=%7B__typename%7D&variables=%7B', { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' })],
    [1, () => post('accept-nothing-known', '{"query":"{ __typename }"}', { 'content-type': 'application/json', accept: 'image/png' })],
  ]);
}

function batchRequest(schema: GraphQLSchema, c: Chooser, shards: readonly string[]): FuzzRequest {
  const auth = authorization(c);
  const ops = Array.from({ length: c.int(12) }, () => generateOperation(schema, c, shards));
  const body = `[${ops.map((op) => writeJson({ query: op.document, variables: op.variables })).join(',')}]`;
  return { label: 'batch', method: 'POST', path: '/graphql', headers: withAuth(JSON_HEADERS, auth), caller: auth.caller, body };
}

function oddRequest(c: Chooser): FuzzRequest {
  const auth = authorization(c);
  const get = (label: string, path: string, headers: Record<string, string> = { accept: 'application/json' }): FuzzRequest => ({
    label: `get:${label}`,
    method: 'GET',
    path,
    headers: withAuth(headers, auth),
    caller: auth.caller,
  });
  return c.weighted<FuzzRequest>([
    [2, () => get('no-query', '/graphql')],
    [2, () => get('bad-variables', `/graphql?query=${encodeURIComponent('query ($n: Int) { tasks(first: $n) { nodes { id } } }')}&variables=${encodeURIComponent(c.pick(['{', '[1', 'x', '{"n":']))}`)],
    [1, () => get('bad-extensions', `/graphql?query=%7B__typename%7D&extensions=${encodeURIComponent(c.pick(['{', 'nope']))}`)],
    [2, () => get('bad-percent-encoding', c.pick(['/graphql?query=%7B__typename', '/graphql?query=%E0%A4%A&x=%', '/graphql?query=%00%01', '/graphql?%%%=%%%']))],
    [2, () => get('mutation', `/graphql?query=${encodeURIComponent('mutation { task { create(funcName: "fuzz.echo") } }')}`)],
    [1, () => get('url-too-long', `/graphql?query=${'%7B'.repeat(7000)}`)],
    [1, () => get('graphiql', '/graphql', { accept: 'text/html' })],
    [2, () => ({ label: 'method', method: c.pick(['PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD']), path: '/graphql', headers: withAuth(JSON_HEADERS, auth), caller: auth.caller, ...(c.chance(50) ? { body: '{"query":"{ __typename }"}' } : {}) })],
  ]);
}

/** Malformed HTTP itself, over a socket: Node's parser answers these before Taskplane sees them. */
function rawRequest(c: Chooser): FuzzRequest {
  const body = '{"query":"{ __typename }"}';
  const raw = c.pick([
    'GARBAGE\r\n\r\n',
    `POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: abc\r\n\r\n${body}`,
    `POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5\r\nContent-Length: 9\r\n\r\n${body}`,
    `POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n${body}\r\n0\r\n\r\n`,
    `POST /graphql HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer a\u0000b\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
    `POST /graphql HTTP/1.1\r\nHost: x\r\nX-\u0001: 1\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
    `GET /graphql?query=%7B__typename%7D HTTP/1.1\r\nHost: x\r\n${'X-Pad: y\r\n'.repeat(3000)}\r\n`,
    `GET /graph\u0000ql HTTP/1.1\r\nHost: x\r\n\r\n`,
  ]);
  return { label: 'raw-http', method: 'RAW', path: '/graphql', headers: {}, caller: null, raw };
}

/**
 * Every request of a fuzz run. One arbitrary (tape + atoms, mapped to a request), so fast-check
 * can regenerate a request from its seed and shrink it.
 */
export function requestArbitrary(schema: GraphQLSchema, shards: readonly string[]): fc.Arbitrary<FuzzRequest> {
  return fc.record({ tape: fc.array(fc.noBias(fc.nat()), { minLength: 64, maxLength: 400, size: 'max' }), atoms: atomsArbitrary }).map(({ tape, atoms }) => {
    const c = new Chooser(tape, atoms);
    return c.weighted<FuzzRequest>([
      [64, () => operationRequest(schema, c, shards)],
      [18, () => malformedBody(c)],
      [3, () => batchRequest(schema, c, shards)],
      [13, () => oddRequest(c)],
      [1, () => rawRequest(c)],
    ]);
  });
}
