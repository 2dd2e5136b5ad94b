import { createHash } from 'node:crypto';
import { Agent } from 'node:http';
import fc from 'fast-check';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RUN_STATUSES, type Run } from '../../src/core/types.js';
import { createNode } from '../../src/node/create-node.js';
import type { TaskplaneNode } from '../../src/node/taskplane-node.js';
import { Lazy, preview, writeJson } from '../api/fuzz-values.js';
import { dropDatabases, testKeyPrefix, testMongoUrls, testRedisUrl } from '../services/context.js';
import {
  ADMIN_TOKEN,
  CALLERS,
  CLUSTERS,
  encode,
  FUNCS,
  gatewayRequestArbitrary,
  GUARD_NODE,
  GUARD_OWNERS,
  HIDDEN_TAG,
  PREFIX,
  send,
  sessionRunner,
  TOKEN_NAMES,
  TOKENS,
  WORKER_GROUP,
  type Answer,
  type Caller,
  type GatewayRequest,
  type LeasePools,
  type LeaseRecord,
} from './runner-gateway-fuzz-requests.js';

/**
 * The runner gateway (`/runner/v1/`, src/api/runner-gateway/) under fire: GATEWAY_FUZZ_RUNS
 * (default 1,500) generated requests (runner-gateway-fuzz-requests.ts), four at a time over real
 * HTTP, against a node started in this process with the api role only (FerretDB shards, Redis,
 * auth on) and three runner tokens: tok-a (cluster alpha), tok-b (beta), tok-c (gamma, which does
 * not exist). Before the run, sessions of tok-a and tok-b hold `held` runs (their leases are mixed
 * into requests) and `guard` runners hold `guard` runs that no generated request may move;
 * pending `work` runs are there for generated takes to claim.
 *
 * Every answer must pass `judge`: a documented status (below), never 500; on refusals exactly
 * `{ error: { code, message } }` with the code of that status and no stack or path; the status
 * the request alone decides (`expect`); on success the documented shape, scoped to the token.
 * What the gateway answers (src/api/runner-gateway/http-io.ts, runner-gateway.ts):
 *
 * | status | code | when |
 * |---|---|---|
 * | 200 | — | served (`events`: a `text/event-stream` opening with `ready`) |
 * | 400 | BAD_USER_INPUT | JSON that does not parse or fails the schema, a bad path part or query |
 * | 401 | UNAUTHENTICATED | no, malformed or unknown runner token (checked first, on any path) |
 * | 403 | FORBIDDEN | another cluster, or a runner id of another token |
 * | 404 | NOT_FOUND | no such request; `session` for a cluster that does not exist |
 * | 405 | BAD_USER_INPUT | wrong method (with `Allow`); not in protocol.ts's list |
 * | 413 | REQUEST_ENTITY_TOO_LARGE | body over `RUNNER_API_LIMITS` (declared or read), `Connection: close` |
 * | 415 | BAD_USER_INPUT | a body that is not `application/json`; not in protocol.ts's list |
 * | 429 | RATE_LIMITED | per-token rate or stream limits (with `Retry-After`); not reached here |
 * | 503 | SHARD_/COORDINATION_UNAVAILABLE | an outage; a finding here, where services are up |
 *
 * Every 100 requests, and at the end, what heartbeats registered is read back through GraphQL
 * (`runners`, every field). Afterwards: every run not accounted for by an accepted answer (a take
 * that returned it, a renew that renewed it, a settle that accepted it) is unchanged, and every
 * new run is a subtask of an accepted completion in its parent's cluster; guard and hidden runs
 * are untouched and the guard runners can still settle theirs; the node still claims, answers
 * GraphQL, lists its runners in their tokens' clusters, and logged nothing at error level. The
 * last describe holds one regression case per bug the fuzz found.
 *
 * Replay: request i is the first value fast-check draws with a seed made of FUZZ_SEED and i
 * (`seedOf`), so `FUZZ_SEED=<seed> npx vitest run test/nodes/runner-gateway-fuzz.test.ts` replays
 * a run, and `FUZZ_SEED=<seed> GATEWAY_FUZZ_FROM=<i> GATEWAY_FUZZ_RUNS=1 …` sends request i alone
 * (a failure report prints that command). Run ids and attempts are filled in at send time from the
 * leases held then, so a replayed request names the same kind of lease, not the same run.
 */

const SEED = Number(process.env.FUZZ_SEED ?? 20_250_301);
const RUNS = Number(process.env.GATEWAY_FUZZ_RUNS ?? 1500);
const FROM = Number(process.env.GATEWAY_FUZZ_FROM ?? 0);
/** Request i's seed: mixed, not FUZZ_SEED + i, so runs with nearby seeds do not send the same requests shifted by one. */
const seedOf = (index: number) => (Math.imul(SEED ^ 0x9e3779b9, 0x85ebca6b) + Math.imul(index + 1, 0xc2b2ae35)) | 0;
const CONCURRENCY = 4;

const sha = (token: string) => createHash('sha256').update(token).digest('hex');
const mongoUrls = testMongoUrls('gateway-fuzz');
const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY * 2 });
/** What the node logged at warn and above. */
const logged: Array<{ level: number; msg?: string; err?: { message?: string } }> = [];
let node: TaskplaneNode;
let base: URL;
const pools: LeasePools = { held: { a: [], b: [] }, guards: [] };
const hiddenIds = new Set<string>();
let before = new Map<string, Run>();

/** What accepted answers did to runs: only these may have changed. */
class Ledger {
  /** Run id → how many takes returned it. */
  readonly claimed = new Map<string, number>();
  readonly renewed = new Set<string>();
  /** Run id → the statuses accepted settles wrote. */
  readonly settled = new Map<string, string[]>();

  touched(id: string): boolean {
    return this.claimed.has(id) || this.renewed.has(id) || this.settled.has(id);
  }
}
const ledger = new Ledger();

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

const routeOf = (path: string) => {
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
const guardIds = () => new Set(pools.guards.map((lease) => lease.id));

interface Verdict {
  readonly outcome: string;
  readonly problems: string[];
}

/** What every answer must satisfy, whatever was sent; records what accepted answers changed. */
function judge(request: GatewayRequest, sent: unknown, answer: Answer): Verdict {
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
  served(request.caller, routeOf(request.path), request, sent, answer, problems);
  return { outcome: '200', problems };
}

/** A 200 answer: the documented shape, scoped to the token; accepted changes go to the ledger. */
function served(caller: Caller, route: string, request: GatewayRequest, sent: any, answer: Answer, problems: string[]): void {
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
  const guards = guardIds();
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

async function gql<T = any>(query: string): Promise<{ data?: T; errors?: Array<{ message: string }> }> {
  const response = await fetch(new URL('/graphql', base), {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` },
    body: JSON.stringify({ query }),
  });
  return (await response.json()) as { data?: T; errors?: Array<{ message: string }> };
}

/** A request a real runner would send, outside the fuzz (`body` is written with `writeJson`). */
async function runnerCall(caller: Caller, route: string, body: unknown): Promise<{ status: number; body: any }> {
  const response = await fetch(new URL(`${PREFIX}${route}`, base), {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKENS[caller]}`, 'content-type': 'application/json' },
    body: writeJson(body),
  });
  return { status: response.status, body: await response.json() };
}

async function take(caller: Caller, runner: string, handlers: string[]): Promise<LeaseRecord[]> {
  const answer = await runnerCall(caller, 'take', { runner: { id: runner, cluster: CLUSTERS[caller], tags: ['default'], handlers }, limit: 100 });
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  return (answer.body.runs as Run[]).map((run) => ({ id: run.id, attempt: run.attempt, runner: run.runner! }));
}

async function allRuns(): Promise<Map<string, Run>> {
  const runs = new Map<string, Run>();
  let after: string | null = null;
  do {
    const page = await node.store.select({}, { first: 1000, after });
    for (const run of page.runs) runs.set(run.id, run);
    after = page.hasNextPage ? page.endCursor : null;
  } while (after !== null);
  return runs;
}

/** The fields of a run a runner request can change. */
function changes(was: Run, now: Run): string[] {
  const fields = (run: Run) => ({
    status: run.status,
    attempt: run.attempt,
    runner: run.runner,
    cluster: run.cluster,
    deadline: run.deadline?.getTime() ?? null,
    result: JSON.stringify(run.result),
    error: JSON.stringify(run.error),
    history: run.history.length,
    stopRequested: run.stopRequested,
    reason: run.reason,
  });
  const a = fields(was);
  const b = fields(now);
  return (Object.keys(a) as Array<keyof typeof a>).filter((key) => a[key] !== b[key]);
}

beforeAll(async () => {
  node = createNode({
    node: {
      id: 'gateway-fuzz',
      roles: ['api'],
      listen: '127.0.0.1:0',
      mongo: { shards: mongoUrls },
      redis: { url: testRedisUrl(), prefix: testKeyPrefix('gateway-fuzz') },
      api: {
        auth: 'on',
        tokens: [{ name: 'admin', role: 'admin', sha256: sha(ADMIN_TOKEN) }],
        runner_tokens: CALLERS.map((caller) => ({ name: TOKEN_NAMES[caller], cluster: CLUSTERS[caller], sha256: sha(TOKENS[caller]) })),
      },
    },
    logger: pino({ level: 'warn' }, { write: (line: string) => void logged.push(JSON.parse(line)) }),
  });
  await node.start();
  base = new URL(`http://${node.address}`);
  expect((await gql('mutation { a: cluster { create(name: "alpha", slug: "alpha") { slug } } b: cluster { create(name: "beta", slug: "beta") { slug } } }')).errors).toBeUndefined();
  expect((await gql(`mutation { workerGroup { put(input: {name: "${WORKER_GROUP}", tags: ["gpu"]}) { name } } }`)).errors).toBeUndefined();

  const run = (funcName: string, caller: 'a' | 'b', tag = 'default') => ({ funcName, cluster: CLUSTERS[caller], tag, timeToResolve: 3600, maxAttempts: 1000, delay: 0, args: { fuzz: funcName } });
  const created = await node.store.createMany(
    (['a', 'b'] as const).flatMap((caller) => [
      ...Array.from({ length: 25 }, () => run(FUNCS.work, caller)),
      ...Array.from({ length: 3 }, () => run(FUNCS.work, caller, HIDDEN_TAG)),
      ...Array.from({ length: 3 }, () => run(FUNCS.held, caller)),
      ...Array.from({ length: 2 }, () => run(FUNCS.guard, caller)),
    ]),
  );
  expect(created.every((result) => result.created)).toBe(true);

  // One session per token whose cluster exists; tok-c's cluster does not.
  for (const caller of ['a', 'b'] as const) {
    for (const nodeId of [`fz-${caller}`, GUARD_NODE]) {
      const session = await runnerCall(caller, 'session', { node: nodeId, cluster: CLUSTERS[caller], group: 'default' });
      expect(session).toEqual({ status: 200, body: { runner: `${nodeId}@${TOKEN_NAMES[caller]}`, token: TOKEN_NAMES[caller], cluster: CLUSTERS[caller] } });
    }
    pools.held[caller].push(...(await take(caller, sessionRunner(caller), [FUNCS.held])));
    expect(pools.held[caller]).toHaveLength(3);
  }
  expect((await runnerCall('c', 'session', { node: 'fz-c', cluster: 'gamma', group: 'default' })).status).toBe(404);
  const guardsOf = await Promise.all(GUARD_OWNERS.map((caller) => take(caller, `${GUARD_NODE}@${TOKEN_NAMES[caller]}`, [FUNCS.guard])));
  // Interleaved, so guard i belongs to GUARD_OWNERS[i % 2].
  (pools.guards as LeaseRecord[]).push(...[0, 1].flatMap((i) => guardsOf.map((leases) => leases[i]!)));
  expect(pools.guards).toHaveLength(4);
  before = await allRuns();
  for (const run of before.values()) if (run.tag === HIDDEN_TAG) hiddenIds.add(run.id);
  expect(hiddenIds.size).toBe(6);
}, 120_000);

afterAll(async () => {
  agent.destroy();
  await node?.close();
  await dropDatabases(mongoUrls);
});

/** Runner id → the request whose heartbeat registered it last (for probe reports). */
const registeredBy = new Map<string, string>();
const PROBE_EVERY = 100;

/**
 * What heartbeats registered must read back for the operator: `runners` through GraphQL, with
 * every field. A failure names the registry entries that do not read back and who sent them.
 */
async function probeRegistry(): Promise<string[]> {
  const answer = await gql<{ runners: Array<{ id: string; cluster: string }> }>('{ runners { id node cluster group tags handlers capacity load state startedAt lastHeartbeat } }');
  if (!answer.errors) return [];
  const members = await node.coordinator.members('runner');
  const unreadable = members.filter((member) => Number.isNaN(new Date(String((member.info as { startedAt?: unknown } | null)?.startedAt)).getTime()));
  return [
    `runners query answered ${preview(JSON.stringify(answer.errors), 300)}; registry entries with a startedAt that is not a date: ` +
      (unreadable.map((member) => `${member.id} (${preview(JSON.stringify(member.info), 300)}), registered by ${registeredBy.get(member.id) ?? '?'}`).join('; ') || 'none'),
  ];
}

interface Failure {
  readonly index: number;
  readonly request: GatewayRequest;
  readonly sent: unknown;
  readonly answer: Answer;
  readonly problems: string[];
}

function describeFailure({ index, request, sent, answer, problems }: Failure): string {
  return [
    `request #${index} (${request.label}, caller ${request.caller ?? 'none'}; alone: FUZZ_SEED=${SEED} GATEWAY_FUZZ_FROM=${index} GATEWAY_FUZZ_RUNS=1): ${problems.join('; ')}`,
    `  sent: ${request.method} ${preview(request.path, 200)} authorization=${preview(String(request.authorization), 80)} content-type=${request.contentType}`,
    `  body: ${sent === undefined ? '(none)' : preview(typeof sent === 'string' ? sent : JSON.stringify(sent, (_key, value: unknown) => (value instanceof Lazy ? `<${value.shape} of ${value.size}>` : value)), 800)}`,
    `  got:  ${answer.status} ${answer.headers['content-type'] ?? ''} ${preview(answer.error ?? answer.text, 800)}`,
  ].join('\n');
}

describe('runner gateway fuzz against a node in this process', () => {
  it(`answers ${RUNS} generated requests with documented statuses, codes and shapes`, async () => {
    const requestAt = (index: number) => fc.sample(gatewayRequestArbitrary, { seed: seedOf(index), numRuns: 1 })[0]!;
    const statuses = new Map<number, number>();
    const outcomes = new Map<string, number>();
    const labels = new Map<string, number>();
    const failures: Failure[] = [];
    const probeProblems: string[] = [];
    const started = Date.now();
    let next = FROM;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        for (let index = next++; index < FROM + RUNS; index = next++) {
          const request = requestAt(index);
          let sent: unknown;
          let answer: Answer = { status: 0, headers: {}, text: '', error: 'not sent', ms: 0 };
          let verdict: Verdict;
          // A fault of the test itself is reported like any other, and the run goes on to its end.
          try {
            const encoded = encode(request.body, pools);
            sent = encoded.sent;
            answer = await send(base, agent, request, request.method === 'GET' || request.method === 'HEAD' ? null : encoded.bytes, encoded.chunked);
            verdict = judge(request, sent, answer);
          } catch (error) {
            verdict = { outcome: 'test fault', problems: [`the test threw: ${(error as Error).stack ?? String(error)}`] };
          }
          statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
          outcomes.set(verdict.outcome, (outcomes.get(verdict.outcome) ?? 0) + 1);
          const label = request.label.split(' ')[0]!;
          labels.set(label, (labels.get(label) ?? 0) + 1);
          if (verdict.problems.length > 0 && failures.length < 100) failures.push({ index, request, sent, answer, problems: verdict.problems });
          if (answer.status === 200 && routeOf(request.path) === 'heartbeat' && verdict.outcome === '200') {
            registeredBy.set((sent as { info: { id: string } }).info.id, `request #${index} (FUZZ_SEED=${SEED} GATEWAY_FUZZ_FROM=${index} GATEWAY_FUZZ_RUNS=1): ${preview(writeJson(sent), 500)}`);
          }
          if ((index - FROM) % PROBE_EVERY === PROBE_EVERY - 1) probeProblems.push(...(await probeRegistry()).map((problem) => `after request #${index}: ${problem}`));
        }
      }),
    );
    const count = <K>(map: Map<K, number>) => [...map].sort((a, b) => b[1] - a[1]).map(([key, n]) => `${String(key)} ×${n}`).join(', ');
    console.log(
      [
        `[gateway-fuzz] seed ${SEED} (FUZZ_SEED=${SEED} to replay): ${RUNS} requests from #${FROM}, ${CONCURRENCY} at a time, in ${((Date.now() - started) / 1000).toFixed(1)} s; ${failures.length} failing`,
        `[gateway-fuzz] statuses: ${count(statuses)}`,
        `[gateway-fuzz] outcomes: ${count(outcomes)}`,
        `[gateway-fuzz] routes: ${count(labels)}`,
        `[gateway-fuzz] accepted: ${ledger.claimed.size} runs claimed, ${ledger.renewed.size} renewed, ${ledger.settled.size} settled`,
      ].join('\n'),
    );
    expect.soft(failures.map(describeFailure)).toEqual([]);
    expect.soft(probeProblems.slice(0, 3)).toEqual([]);
    // The run reached every refusal the gateway has for a client, and did real work: otherwise the checks above prove little.
    if (RUNS >= 1000) expect.soft([...statuses.keys()].sort()).toEqual(expect.arrayContaining([200, 400, 401, 403, 404, 405, 413, 415]));
    if (RUNS >= 1000) expect.soft(Math.min(ledger.claimed.size, ledger.renewed.size, ledger.settled.size)).toBeGreaterThan(0);
  }, 300_000);

  it('changed no run but through answers that accepted the change; guard runs stay with their holders', async () => {
    const after = await allRuns();
    const guards = guardIds();
    const problems: string[] = [];
    for (const [id, was] of before) {
      const now = after.get(id);
      if (!now) {
        problems.push(`run ${id} (${was.funcName}) is gone`);
        continue;
      }
      const changed = changes(was, now);
      if (guards.has(id) || hiddenIds.has(id)) {
        if (changed.length > 0) problems.push(`guarded run ${id} (${was.funcName}, tag ${was.tag}) changed: ${changed.join(', ')}`);
        continue;
      }
      if (changed.length > 0 && !ledger.touched(id)) problems.push(`run ${id} changed (${changed.join(', ')}) though no accepted answer claimed, renewed or settled it`);
      if (now.cluster !== was.cluster) problems.push(`run ${id} moved from cluster ${was.cluster} to ${now.cluster}`);
      if (now.attempt - was.attempt > (ledger.claimed.get(id) ?? 0)) problems.push(`run ${id} went from attempt ${was.attempt} to ${now.attempt}, claimed ${ledger.claimed.get(id) ?? 0} times`);
      const written = ledger.settled.get(id) ?? [];
      if (now.status !== was.status && ['completed', 'failed', 'stopped', 'lost'].includes(now.status) && !written.includes(now.status)) problems.push(`run ${id} is ${now.status}; no accepted settle wrote that`);
      if (written.length > 0 && now.history.length <= was.history.length) problems.push(`settle accepted an outcome for ${id}, but its history did not grow`);
    }
    let spawned = 0;
    for (const [id, run] of after) {
      if (before.has(id)) continue;
      spawned++;
      const parent = run.parentId === null ? undefined : after.get(run.parentId);
      if (!parent || !(ledger.settled.get(parent.id) ?? []).includes('completed')) problems.push(`run ${id} (${run.funcName}) appeared without a parent whose completion was accepted`);
      else if (parent.cluster !== run.cluster) problems.push(`subtask ${id} is in cluster ${run.cluster}, its parent ${parent.id} in ${parent.cluster}`);
    }
    console.log(`[gateway-fuzz] ${before.size} runs before, ${after.size} after (${spawned} subtasks)`);
    expect(problems.slice(0, 20)).toEqual([]);

    // Only their holders settle them, and can: their leases outlived the run.
    for (const [i, lease] of pools.guards.entries()) {
      const answer = await runnerCall(GUARD_OWNERS[i % 2]!, 'settle', { settlements: [{ lease, outcome: { status: 'completed', result: { guard: i } } }] });
      expect(answer).toEqual({ status: 200, body: { results: [{ id: lease.id, accepted: true, status: 'completed' }] } });
    }
  });

  it('still claims, settles and answers GraphQL afterwards, lists runners in their token\'s cluster, and logged no fault', async () => {
    const fresh = await node.store.create({ funcName: FUNCS.final, cluster: CLUSTERS.a, timeToResolve: 3600 });
    const [lease, ...rest] = await take('a', sessionRunner('a'), [FUNCS.final]);
    expect(rest).toEqual([]);
    expect(lease).toEqual({ id: fresh.id, attempt: 1, runner: sessionRunner('a') });
    expect(await runnerCall('a', 'settle', { settlements: [{ lease, outcome: { status: 'completed', result: 'done' } }] })).toEqual({
      status: 200,
      body: { results: [{ id: fresh.id, accepted: true, status: 'completed' }] },
    });

    const statistics = await gql<{ statistics: { total: number } }>('{ statistics { total } }');
    expect(statistics.errors).toBeUndefined();
    expect(statistics.data?.statistics.total).toBeGreaterThan(0);
    // What heartbeats registered must read back for the operator, each runner in its token's cluster.
    expect(await probeRegistry()).toEqual([]);
    const runners = await gql<{ runners: Array<{ id: string; cluster: string }> }>('{ runners { id cluster } }');
    for (const runner of runners.data?.runners ?? []) {
      const caller = CALLERS.find((c) => runner.id.endsWith(`@${TOKEN_NAMES[c]}`));
      expect(caller ? CLUSTERS[caller] : `no token of ${runner.id}`).toBe(runner.cluster);
    }

    const faults = logged.filter((entry) => entry.level >= 50);
    console.log(`[gateway-fuzz] node logged ${logged.length} warnings or worse: ${[...new Set(logged.map((entry) => entry.msg))].join(' | ')}`);
    expect(faults.slice(0, 5).map((entry) => `${entry.msg}: ${preview(entry.err?.message ?? '', 300)}`)).toEqual([]);
  });
});

describe('what the runner gateway fuzz test found', () => {
  it('a heartbeat whose startedAt is not a date is refused (400), so the operator\'s runners query keeps answering', async () => {
    // FUZZ_SEED=20250301 GATEWAY_FUZZ_FROM=49 GATEWAY_FUZZ_RUNS=1: tok-b's heartbeat
    // `{ info: { id: "A@tok-b", …, startedAt: "yesterday" }, ttlMs: 1000 }` was registered (200),
    // and `{ runners { startedAt } }` then answered INTERNAL with data null — no runner of any
    // cluster listed, an error logged per query — until the entry expired.
    const info = { id: 'fz-late@tok-a', node: 'fz-late', cluster: CLUSTERS.a, group: 'default', tags: ['default'], handlers: [FUNCS.work], capacity: 1, load: 0, state: 'running' };
    for (const startedAt of ['yesterday', '', '2024-13-01', '2024-05-01T12:00:00+25:00', '+275760-09-13T00:00:00.001Z']) {
      expect(await runnerCall('a', 'heartbeat', { info: { ...info, startedAt }, ttlMs: 60_000 })).toEqual({
        status: 400,
        body: { error: { code: 'BAD_USER_INPUT', message: expect.stringMatching(/^heartbeat\.info\.startedAt: /) } },
      });
    }
    expect(await probeRegistry()).toEqual([]);
    expect(await runnerCall('a', 'heartbeat', { info: { ...info, startedAt: new Date().toISOString() }, ttlMs: 60_000 })).toEqual({ status: 200, body: { ok: true } });
    const runners = await gql<{ runners: Array<{ id: string }> }>('{ runners { id startedAt } }');
    expect(runners.errors).toBeUndefined();
    expect(runners.data?.runners.map((runner) => runner.id)).toContain(info.id);
    expect(await runnerCall('a', 'leave', { runner: info.id })).toEqual({ status: 200, body: { ok: true } });
  });

  it('a subtask whose cluster is not a string is a failed attempt (200), not INTERNAL', async () => {
    // FUZZ_SEED=1 GATEWAY_FUZZ_FROM=409 GATEWAY_FUZZ_RUNS=1: tok-a's settle of a lease of no run,
    // completed with `spawn: [{ funcName: "fz.child", args: {}, cluster: <100,000-deep array> }]`,
    // answered 500 INTERNAL ("Maximum call stack size exceeded"): the gateway's spawn check ran
    // String() on the cluster before storage was asked. `{ toString: 1 }` broke the same call
    // ("Cannot convert object to primitive value").
    const faultsBefore = logged.filter((entry) => entry.level >= 50).length;
    for (const cluster of [new Lazy('array', 100_000), { toString: 1 }, ['alpha'], null]) {
      const run = await node.store.create({ funcName: 'fz.regress', cluster: CLUSTERS.a, timeToResolve: 3600 });
      const [lease] = await take('a', 'fz-r@tok-a', ['fz.regress']);
      expect(lease?.id).toBe(run.id);
      const spawn = [{ funcName: FUNCS.child, args: [], cluster, dependsOn: [] }];
      expect(await runnerCall('a', 'settle', { settlements: [{ lease, outcome: { status: 'completed', result: null, spawn } }] })).toEqual({
        status: 200,
        body: { results: [{ id: run.id, accepted: true, status: 'failed' }] },
      });
      expect((await node.store.get(run.id))?.error?.message).toMatch(/spawn\[0\]\.cluster/);
      expect((await node.store.select({ parentId: run.id })).runs).toEqual([]);
    }
    expect(logged.filter((entry) => entry.level >= 50).length).toBe(faultsBefore);
  });
});
