import { Kind, parse, type DocumentNode, type OperationDefinitionNode, type SelectionSetNode } from 'graphql';
import { MUTATION_ROLES, QUERY_ROLES } from '../../src/api/auth/permissions.js';
import type { Answer } from './fuzz-client.js';
import type { FuzzRequest, Role } from './fuzz-requests.js';

/**
 * What every answer of the API must look like, whatever was sent:
 * - an HTTP status from `STATUSES`, never 5xx;
 * - a body that is GraphQL JSON (`data` and/or `errors`, also in each server-sent event), or one
 *   of the documented plain answers (`PLAIN_STATUSES`: empty or non-JSON bodies from HTTP
 *   itself — Node's parser, 406 for an Accept header the API cannot satisfy, HEAD/OPTIONS);
 * - errors with a message and an `extensions.code` from `CODES`, and nothing internal: no stack,
 *   file path, driver message or `originalError`;
 * - the status and the codes agree (401 ⇔ UNAUTHENTICATED, 403 ⇔ FORBIDDEN, 413, 429);
 * - access control held: a caller without a valid token, or whose role is below what the
 *   operation needs (per `MUTATION_ROLES` / `QUERY_ROLES`), got nothing executed — no data and
 *   no error from a resolver (those carry a `path`).
 */

export const STATUSES = new Set([200, 204, 400, 401, 403, 404, 405, 406, 413, 415, 429, 431]);
/** Answers HTTP gives without a GraphQL body: Node's parser (400, 431), content negotiation (406), HEAD and OPTIONS. */
const PLAIN_STATUSES = new Set([204, 400, 406, 431]);

export const CODES = new Set([
  'BAD_USER_INPUT',
  'BAD_REQUEST',
  'NOT_FOUND',
  'CONFLICT',
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'RATE_LIMITED',
  'SHARD_UNAVAILABLE',
  'COORDINATION_UNAVAILABLE',
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'OPERATION_RESOLUTION_FAILURE',
  'REQUEST_ENTITY_TOO_LARGE',
]);

/** Text that only an internal error would put in an answer. */
const LEAKS: ReadonlyArray<readonly [RegExp, string]> = [
  [/\n\s+at \S/, 'a stack trace'],
  [/"stack"|"stacktrace"/, 'a stack field'],
  [/originalError/, 'originalError'],
  [/\/work\/|\/home\/|\/usr\/|\/tmp\//, 'a file path'],
  [/node_modules/, 'node_modules'],
  [/\.[cm]?[jt]s:\d+/, 'a source position'],
  [/Mongo[A-Za-z]*Error|MongoServer|E11000|ReplyError|ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT/, 'driver text'],
  [/Maximum call stack|Cannot read propert|is not a function|is not iterable|undefined is not|RangeError|TypeError|SyntaxError/, 'a JavaScript error'],
];

function leaks(text: string, problems: string[]): void {
  for (const [pattern, what] of LEAKS) if (pattern.test(text)) problems.push(`the answer holds ${what}`);
}

export interface Verdict {
  /** For the summary: `200 data`, `400 GRAPHQL_VALIDATION_FAILED`, `401 UNAUTHENTICATED` … */
  readonly outcome: string;
  readonly problems: string[];
}

interface Body {
  data?: unknown;
  errors?: Array<{ message?: unknown; path?: unknown; extensions?: { code?: unknown } }>;
}

export function judge(request: FuzzRequest, answer: Answer): Verdict {
  const problems: string[] = [];
  if (answer.error !== null) return { outcome: 'no answer', problems: [`no HTTP answer: ${answer.error}`] };
  if (!STATUSES.has(answer.status)) problems.push(`HTTP status ${answer.status} is not one the API documents`);

  const bodies = request.method === 'HEAD' ? null : parseBodies(answer, problems);
  if (bodies === null) {
    leaks(answer.text, problems);
    return { outcome: `${answer.status} plain`, problems };
  }
  const errors = bodies.flatMap((body) => body.errors ?? []);
  // Data may echo what the fuzz stored (args, results); errors are what the server wrote.
  leaks(JSON.stringify(errors), problems);
  const codes = errors.map((error) => error.extensions?.code);
  for (const error of errors) {
    if (typeof error.message !== 'string' || error.message.trim() === '') problems.push('an error without a message');
    if (typeof error.extensions?.code !== 'string' || !CODES.has(error.extensions.code)) problems.push(`error code ${String(error.extensions?.code)} is not a known one: ${String(error.message).slice(0, 200)}`);
  }
  const pairs: ReadonlyArray<readonly [number, string]> = [
    [401, 'UNAUTHENTICATED'],
    [403, 'FORBIDDEN'],
    [413, 'REQUEST_ENTITY_TOO_LARGE'],
    [429, 'RATE_LIMITED'],
  ];
  for (const [status, code] of pairs) {
    if (answer.status === status && !codes.includes(code)) problems.push(`HTTP ${status} without ${code}`);
    if (answer.status !== status && codes.includes(code)) problems.push(`${code} answered with HTTP ${answer.status}, not ${status}`);
  }

  const executed = bodies.some((body) => (body.data !== undefined && body.data !== null) || (body.errors ?? []).some((error) => error.path !== undefined));
  const needed = request.document === undefined ? null : roleNeeded(request.document, request.operationName);
  if (executed && request.caller === null) problems.push('executed without a valid token');
  if (executed && request.caller !== null && needed !== null && RANK[request.caller] < RANK[needed]) {
    problems.push(`executed for role ${request.caller}; the operation needs ${needed}`);
  }
  const first = codes.find((code) => typeof code === 'string');
  return { outcome: `${answer.status} ${first ?? (executed ? 'data' : 'empty')}`, problems };
}

/** The JSON bodies of an answer (one, or one per event); null for a documented plain answer. */
function parseBodies(answer: Answer, problems: string[]): Body[] | null {
  const texts = answer.events ?? (answer.text === '' ? [] : [answer.text]);
  const json = /^application\/(graphql-response\+)?json/.test(answer.contentType);
  const stream = answer.contentType.startsWith('text/event-stream');
  if (!json && !stream) {
    if (PLAIN_STATUSES.has(answer.status) || answer.contentType.startsWith('text/html')) return null;
    problems.push(`HTTP ${answer.status} with content type '${answer.contentType}' and no GraphQL body`);
    return null;
  }
  if (json && texts.length === 0) problems.push(`HTTP ${answer.status} with an empty JSON body`);
  const bodies: Body[] = [];
  for (const text of texts) {
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      problems.push(`a body that is not JSON: ${text.slice(0, 200)}`);
      continue;
    }
    if (body === null || typeof body !== 'object' || Array.isArray(body)) {
      problems.push('a body that is not a JSON object');
      continue;
    }
    const keys = Object.keys(body);
    if (!keys.includes('data') && !keys.includes('errors')) problems.push(`a body with neither data nor errors: ${keys.join(', ')}`);
    if (keys.some((key) => !['data', 'errors', 'extensions'].includes(key))) problems.push(`a body with other keys: ${keys.join(', ')}`);
    const errors = (body as Body).errors;
    if (errors !== undefined && (!Array.isArray(errors) || errors.length === 0)) problems.push('errors is not a non-empty list');
    bodies.push(body as Body);
  }
  return bodies;
}

const RANK: Readonly<Record<Role, number>> = { viewer: 0, operator: 1, admin: 2 };

/** The role the operation the server would run needs; null when the document does not parse or names no operation. */
export function roleNeeded(document: string, operationName: string | undefined): Role | null {
  let parsed: DocumentNode;
  try {
    parsed = parse(document, { noLocation: true });
  } catch {
    return null;
  }
  const operations = parsed.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  const operation = operationName ? operations.find((o) => o.name?.value === operationName) : operations.length === 1 ? operations[0] : undefined;
  if (!operation) return null;
  const fragments = new Map(parsed.definitions.flatMap((d) => (d.kind === Kind.FRAGMENT_DEFINITION ? [[d.name.value, d.selectionSet] as const] : [])));
  let role: Role = 'viewer';
  const raise = (r: Role) => {
    if (RANK[r] > RANK[role]) role = r;
  };
  for (const top of fieldsOf(operation.selectionSet, fragments)) {
    if (operation.operation !== 'mutation') raise(QUERY_ROLES[top.name] ?? 'viewer');
    else if (top.name !== '__typename') {
      const inner = top.selectionSet ? fieldsOf(top.selectionSet, fragments).filter((f) => f.name !== '__typename') : [];
      if (inner.length === 0) raise('admin');
      for (const field of inner) raise(MUTATION_ROLES[`${top.name}.${field.name}`] ?? 'admin');
    }
  }
  return role;
}

function fieldsOf(set: SelectionSetNode, fragments: ReadonlyMap<string, SelectionSetNode>, seen = new Set<string>()): Array<{ name: string; selectionSet: SelectionSetNode | undefined }> {
  return set.selections.flatMap((selection) => {
    if (selection.kind === Kind.FIELD) return [{ name: selection.name.value, selectionSet: selection.selectionSet }];
    if (selection.kind === Kind.INLINE_FRAGMENT) return fieldsOf(selection.selectionSet, fragments, seen);
    const fragment = fragments.get(selection.name.value);
    if (!fragment || seen.has(selection.name.value)) return [];
    seen.add(selection.name.value);
    return fieldsOf(fragment, fragments, seen);
  });
}
