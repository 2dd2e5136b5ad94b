import { RUN_STATUSES, type Run } from '../../src/core/types.js';
import { Lazy, preview } from '../api/fuzz-values.js';
import type { Answer } from './runner-gateway-fuzz-client.js';
import { CLUSTERS, guardIds, PREFIX, TOKEN_NAMES, type Caller, type GatewayRequest, type LeasePools } from './runner-gateway-fuzz-fixture.js';
import type { Ledger } from './runner-gateway-fuzz-ledger.js';

/**
 * The oracle of the runner gateway fuzz test (runner-gateway-fuzz.test.ts, whose top comment
 * tables the statuses and codes): `judge` says what is wrong with one answer, whatever was sent —
 * an undocumented status, a refusal that is not `{ error: { code, message } }` with the code and
 * header of its status, internal text leaking out, a status other than the one the request alone
 * decides, a success whose shape is not the documented one or not scoped to the token — and
 * records what accepted answers changed (the ledger; a take's runs join the lease pools).
 * `describeFailure` writes up an answer it faulted for the test's report.
 */

/** What the oracle reads and writes besides the answer: the pools (takes add to them), the runs no request may move, the ledger. */
export interface OracleContext {
  readonly pools: LeasePools;
  readonly hiddenIds: ReadonlySet<string>;
  readonly ledger: Ledger;
}

const DOCUMENTED = new Set([200, 400, 401, 403, 404, 405, 413, 415, 429, 503]);
const CODE_OF_STATUS: Readonly<Record<number, readonly string[]>> = {
  400: ['BAD_USER_INPUT'],
  401: ['UNAUTHENTICATED'],
  403: ['FORBIDDEN'],
  404: ['NOT_FOUND'],
  405: ['BAD_USER_INPUT'],
  413: ['REQUEST_ENTITY_TOO_LARGE'],
  415: ['BAD_USER_INPUT'],
  429: ['RATE_LIMITED'],
  503: ['SHARD_UNAVAILABLE', 'COORDINATION_UNAVAILABLE'],
};
/** Headers a refusal carries: the challenge, the method to use, the closed connection (the body is not read), when to retry. */
const HEADER_OF_STATUS: Readonly<Record<number, readonly [string, RegExp]>> = {
  401: ['www-authenticate', /^Bearer realm="taskplane-runner"$/],
  405: ['allow', /^(GET|POST)$/],
  413: ['connection', /^close$/i],
  429: ['retry-after', /^\d+$/],
};
/** Text only an internal error would put in an answer. */
const LEAKS: ReadonlyArray<readonly [RegExp, string]> = [
  [/\bat .+\.(ts|js):\d+/, 'a stack frame'],
  [/\n\s+at \S/, 'a stack trace'],
  [/node_modules/, 'node_modules'],
  [/\/work\/|\/home\/|\/usr\/|\/tmp\//, 'a file path'],
  [/Mongo[A-Za-z]*Error|E11000|ReplyError|ECONNREFUSED|ECONNRESET|Maximum call stack|Cannot read propert|is not a function|TypeError|RangeError|SyntaxError/, 'an internal error message'],
];
const STATUSES_WRITTEN = new Set<string>(RUN_STATUSES);

export const routeOf = (path: string) => {
  const pathname = new URL(path, 'http://gateway').pathname;
  return pathname.startsWith(PREFIX) ? pathname.slice(PREFIX.length) : pathname;
};
const sameKeys = (value: unknown, keys: readonly string[]) =>
  typeof value === 'object' && value !== null && !Array.isArray(value) && Object.keys(value).sort().join() === [...keys].sort().join();
const parseJson = (text: string): unknown => {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
};

export interface Verdict {
  readonly outcome: string;
  readonly problems: string[];
}

/** What every answer must satisfy, whatever was sent; records what accepted answers changed. */
export function judge(context: OracleContext, request: GatewayRequest, sent: unknown, answer: Answer): Verdict {
  const problems: string[] = [];
  if (answer.error !== null) return { outcome: 'no answer', problems: [`no whole HTTP answer: ${answer.error}`] };
  const { status } = answer;
  if (!DOCUMENTED.has(status)) problems.push(`status ${status} is not one the gateway documents`);
  if (request.expect !== undefined && status !== request.expect) problems.push(`status ${status}, expected ${request.expect}`);
  if (status !== 200) {
    const [header, value] = HEADER_OF_STATUS[status] ?? [];
    if (header && value && !value.test(String(answer.headers[header]))) problems.push(`${status} with ${header}: ${String(answer.headers[header])}`);
    if (request.method === 'HEAD') return { outcome: `${status} (HEAD)`, problems };
    for (const [pattern, what] of LEAKS) if (pattern.test(answer.text)) problems.push(`the answer holds ${what}`);
    const body = parseJson(answer.text) as { error?: { code?: unknown; message?: unknown } } | undefined;
    if (body === undefined) problems.push(`a ${status} body that is not JSON: ${preview(answer.text, 200)}`);
    if (!/^application\/json\b/.test(answer.headers['content-type'] ?? '')) problems.push(`content type '${answer.headers['content-type']}' on a refusal`);
    if (body !== undefined && (!sameKeys(body, ['error']) || !sameKeys(body.error, ['code', 'message']))) problems.push(`a refusal that is not { error: { code, message } }: ${preview(answer.text, 200)}`);
    const code = body?.error?.code;
    if (typeof body?.error?.message !== 'string' || body.error.message === '') problems.push('a refusal without a message');
    if (!(CODE_OF_STATUS[status] ?? []).includes(String(code))) problems.push(`code ${String(code)} with status ${status}`);
    return { outcome: `${status} ${String(code)}`, problems };
  }
  if (request.caller === null) return { outcome: '200', problems: [...problems, 'served without a valid runner token'] };
  served(context, request.caller, routeOf(request.path), request, sent, answer, problems);
  return { outcome: '200', problems };
}

/** A 200 answer: the documented shape, scoped to the token; accepted changes go to the ledger. */
function served(context: OracleContext, caller: Caller, route: string, request: GatewayRequest, sent: any, answer: Answer, problems: string[]): void {
  const { pools, hiddenIds, ledger } = context;
  if (route === 'events') {
    const query = new URL(request.path, 'http://gateway').searchParams;
    const ready = `event: ready\ndata: ${JSON.stringify({ runner: query.get('runner'), cluster: CLUSTERS[caller] })}\n\n`;
    if (!(answer.headers['content-type'] ?? '').startsWith('text/event-stream')) problems.push(`events answered as '${answer.headers['content-type']}'`);
    if (!answer.text.startsWith(ready)) problems.push(`the stream did not open with ${JSON.stringify(ready)}: ${preview(answer.text, 200)}`);
    return;
  }
  const body = parseJson(answer.text) as any;
  if (body === undefined) {
    problems.push(`a 200 body that is not JSON: ${preview(answer.text, 200)}`);
    return;
  }
  const shape = (ok: boolean, what: string) => {
    if (!ok) problems.push(`${route}: ${what}: ${preview(answer.text, 300)}`);
  };
  const guards = guardIds(pools);
  switch (route) {
    case 'session':
      shape(sameKeys(body, ['runner', 'token', 'cluster']), 'not { runner, token, cluster }');
      shape(body.runner === `${sent.node}@${TOKEN_NAMES[caller]}` && body.token === TOKEN_NAMES[caller] && body.cluster === CLUSTERS[caller], 'not scoped to the token');
      return;
    case 'take': {
      shape(sameKeys(body, ['runs', 'unavailable']) && Array.isArray(body.runs) && Array.isArray(body.unavailable), 'not { runs, unavailable }');
      shape(body.unavailable?.length === 0, 'a shard was unavailable');
      for (const run of Array.isArray(body.runs) ? (body.runs as Run[]) : []) {
        shape(run.status === 'running' && run.runner === sent.runner.id && run.cluster === CLUSTERS[caller], `run ${run.id} is not running for ${sent.runner.id} in ${CLUSTERS[caller]}`);
        shape(sent.runner.handlers.includes(run.funcName) && sent.runner.tags.includes(run.tag), `run ${run.id} (${run.funcName}, tag ${run.tag}) is not one the runner can execute`);
        shape(!hiddenIds.has(run.id) && !guards.has(run.id), `claimed guarded run ${run.id}`);
        ledger.claimed.set(run.id, (ledger.claimed.get(run.id) ?? 0) + 1);
        if (caller !== 'c') pools.held[caller].push({ id: run.id, attempt: run.attempt, runner: run.runner! });
      }
      return;
    }
    case 'renew': {
      const results: any[] = Array.isArray(body.results) ? body.results : [];
      shape(sameKeys(body, ['results']) && results.length === sent.leases.length, 'not one result per lease');
      for (const result of results) {
        const renewed = result.state === 'renewed' && sameKeys(result, ['id', 'state', 'deadline', 'stopRequested']) && !Number.isNaN(Date.parse(result.deadline));
        shape(renewed || (result.state === 'lost' && sameKeys(result, ['id', 'state'])), `result ${JSON.stringify(result)} is not renewed or lost`);
        shape(!(result.state === 'renewed' && guards.has(result.id)), `renewed guard run ${result.id}`);
        if (result.state === 'renewed') ledger.renewed.add(result.id);
      }
      return;
    }
    case 'settle': {
      const results: any[] = Array.isArray(body.results) ? body.results : [];
      shape(sameKeys(body, ['results']) && results.length === sent.settlements.length, 'not one result per settlement');
      for (const result of results) {
        const accepted = result.accepted === true && STATUSES_WRITTEN.has(result.status);
        shape(sameKeys(result, ['id', 'accepted', 'status']) && (accepted || (result.accepted === false && result.status === null)), `result ${JSON.stringify(result)}`);
        shape(!(result.accepted && guards.has(result.id)), `settled guard run ${result.id}`);
        if (accepted) ledger.settled.set(result.id, [...(ledger.settled.get(result.id) ?? []), result.status]);
      }
      return;
    }
    case 'heartbeat':
    case 'leave':
      shape(sameKeys(body, ['ok']) && body.ok === true, 'not { ok: true }');
      return;
    case 'clusters':
      shape(sameKeys(body, ['clusters']) && Array.isArray(body.clusters) && JSON.stringify(body.clusters.map((c: { slug?: unknown }) => c.slug)) === JSON.stringify(caller === 'c' ? [] : [CLUSTERS[caller]]), 'not the token\'s cluster only');
      return;
    default:
      if (route.startsWith('clusters/')) shape(sameKeys(body, ['cluster']) && (caller === 'c' ? body.cluster === null : body.cluster?.slug === CLUSTERS[caller]), 'not the token\'s cluster');
      else if (route.startsWith('worker-groups/')) shape(sameKeys(body, ['config']), 'not { config }');
      else problems.push(`200 for route '${route}', which the protocol does not have`);
  }
}

/** An answer `judge` found problems with, and the request that got it (request `index` of the run). */
export interface Failure {
  readonly index: number;
  readonly request: GatewayRequest;
  readonly sent: unknown;
  readonly answer: Answer;
  readonly problems: string[];
}

/** A failure as the report prints it, with the command that sends its request alone. */
export function describeFailure({ index, request, sent, answer, problems }: Failure, seed: number): string {
  return [
    `request #${index} (${request.label}, caller ${request.caller ?? 'none'}; alone: FUZZ_SEED=${seed} GATEWAY_FUZZ_FROM=${index} GATEWAY_FUZZ_RUNS=1): ${problems.join('; ')}`,
    `  sent: ${request.method} ${preview(request.path, 200)} authorization=${preview(String(request.authorization), 80)} content-type=${request.contentType}`,
    `  body: ${sent === undefined ? '(none)' : preview(typeof sent === 'string' ? sent : JSON.stringify(sent, (_key, value: unknown) => (value instanceof Lazy ? `<${value.shape} of ${value.size}>` : value)), 800)}`,
    `  got:  ${answer.status} ${answer.headers['content-type'] ?? ''} ${preview(answer.error ?? answer.text, 800)}`,
  ].join('\n');
}
