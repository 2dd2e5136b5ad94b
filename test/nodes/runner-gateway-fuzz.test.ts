import { createHash } from 'node:crypto';
import { Agent } from 'node:http';
import fc from 'fast-check';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Run } from '../../src/core/types.js';
import { createNode } from '../../src/node/create-node.js';
import type { TaskplaneNode } from '../../src/node/taskplane-node.js';
import { Lazy, preview, writeJson } from '../api/fuzz-values.js';
import { dropDatabases, testKeyPrefix, testMongoUrls, testRedisUrl } from '../services/context.js';
import { encode, makeGatewayClient, send, type Answer, type GatewayClient } from './runner-gateway-fuzz-client.js';
import {
  ADMIN_TOKEN,
  CALLERS,
  CLUSTERS,
  FUNCS,
  GUARD_NODE,
  GUARD_OWNERS,
  guardIds,
  HIDDEN_TAG,
  sessionRunner,
  TOKEN_NAMES,
  TOKENS,
  WORKER_GROUP,
  type LeasePools,
  type LeaseRecord,
} from './runner-gateway-fuzz-fixture.js';
import { allRuns, Ledger, unaccountedChanges } from './runner-gateway-fuzz-ledger.js';
import { describeFailure, judge, routeOf, type Failure, type OracleContext, type Verdict } from './runner-gateway-fuzz-oracle.js';
import { probeRegistry } from './runner-gateway-fuzz-registry-probe.js';
import { gatewayRequestArbitrary } from './runner-gateway-fuzz-requests.js';


/**
 * The runner gateway (`/runner/v1/`, src/api/runner-gateway/) under fire: GATEWAY_FUZZ_RUNS
 * (default 1,500) generated requests (runner-gateway-fuzz-requests.ts), four at a time over real
 * HTTP, against a node started in this process with the api role only (FerretDB shards, Redis,
 * auth on) and three runner tokens: tok-a (cluster alpha), tok-b (beta), tok-c (gamma, which does
 * not exist). Before the run, sessions of tok-a and tok-b hold `held` runs (their leases are mixed
 * into requests) and `guard` runners hold `guard` runs that no generated request may move;
 * pending `work` runs are there for generated takes to claim.
 *
 * Every answer must pass `judge` (runner-gateway-fuzz-oracle.ts): a documented status (below),
 * never 500; on refusals exactly `{ error: { code, message } }` with the code of that status and
 * no stack or path; the status the request alone decides (`expect`); on success the documented
 * shape, scoped to the token. What the gateway answers (src/api/runner-gateway/http-io.ts,
 * runner-gateway.ts):
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
 * (`runners`, every field; runner-gateway-fuzz-registry-probe.ts). Afterwards: every run not
 * accounted for by an accepted answer (a take that returned it, a renew that renewed it, a settle
 * that accepted it; runner-gateway-fuzz-ledger.ts) is unchanged, and every new run is a subtask
 * of an accepted completion in its parent's cluster; guard and hidden runs are untouched and the
 * guard runners can still settle theirs; the node still claims, answers GraphQL, lists its
 * runners in their tokens' clusters, and logged nothing at error level. The last describe holds
 * one regression case per bug the fuzz found.
 *
 * Replay: request i is the first value fast-check draws with a seed made of FUZZ_SEED and i
 * (`seedOf`), so `FUZZ_SEED=<seed> npx vitest run test/nodes/runner-gateway-fuzz.test.ts` replays
 * a run, and `FUZZ_SEED=<seed> GATEWAY_FUZZ_FROM=<i> GATEWAY_FUZZ_RUNS=1 …` sends request i alone
 * (a failure report prints that command). Run ids and attempts are filled in at send time from the
 * leases held then, so a replayed request names the same kind of lease, not the same run.
 *
 * Beside this file: runner-gateway-fuzz-fixture.ts (the deployment, lease pools, a request as data),
 * -requests.ts and -bodies.ts (what is sent), -client.ts (HTTP), -oracle.ts, -ledger.ts, -registry-probe.ts.
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
const ledger = new Ledger();
/** What the oracle reads and records: the pools and hidden runs filled in before the run, the ledger. */
const oracle: OracleContext = { pools, hiddenIds, ledger };
let client: GatewayClient;

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
  client = makeGatewayClient(base);
  expect((await client.gql('mutation { a: cluster { create(name: "alpha", slug: "alpha") { slug } } b: cluster { create(name: "beta", slug: "beta") { slug } } }')).errors).toBeUndefined();
  expect((await client.gql(`mutation { workerGroup { put(input: {name: "${WORKER_GROUP}", tags: ["gpu"]}) { name } } }`)).errors).toBeUndefined();

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
      const session = await client.runnerCall(caller, 'session', { node: nodeId, cluster: CLUSTERS[caller], group: 'default' });
      expect(session).toEqual({ status: 200, body: { runner: `${nodeId}@${TOKEN_NAMES[caller]}`, token: TOKEN_NAMES[caller], cluster: CLUSTERS[caller] } });
    }
    pools.held[caller].push(...(await client.take(caller, sessionRunner(caller), [FUNCS.held])));
    expect(pools.held[caller]).toHaveLength(3);
  }
  expect((await client.runnerCall('c', 'session', { node: 'fz-c', cluster: 'gamma', group: 'default' })).status).toBe(404);
  const guardsOf = await Promise.all(GUARD_OWNERS.map((caller) => client.take(caller, `${GUARD_NODE}@${TOKEN_NAMES[caller]}`, [FUNCS.guard])));
  // Interleaved, so guard i belongs to GUARD_OWNERS[i % 2].
  (pools.guards as LeaseRecord[]).push(...[0, 1].flatMap((i) => guardsOf.map((leases) => leases[i]!)));
  expect(pools.guards).toHaveLength(4);
  before = await allRuns(node.store);
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
const probe = () => probeRegistry({ client, node, registeredBy });

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
            verdict = judge(oracle, request, sent, answer);
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
          if ((index - FROM) % PROBE_EVERY === PROBE_EVERY - 1) probeProblems.push(...(await probe()).map((problem) => `after request #${index}: ${problem}`));
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
    expect.soft(failures.map((failure) => describeFailure(failure, SEED))).toEqual([]);
    expect.soft(probeProblems.slice(0, 3)).toEqual([]);
    // The run reached every refusal the gateway has for a client, and did real work: otherwise the checks above prove little.
    if (RUNS >= 1000) expect.soft([...statuses.keys()].sort()).toEqual(expect.arrayContaining([200, 400, 401, 403, 404, 405, 413, 415]));
    if (RUNS >= 1000) expect.soft(Math.min(ledger.claimed.size, ledger.renewed.size, ledger.settled.size)).toBeGreaterThan(0);
  }, 300_000);

  it('changed no run but through answers that accepted the change; guard runs stay with their holders', async () => {
    const after = await allRuns(node.store);
    const guards = guardIds(pools);
    const { problems, spawned } = unaccountedChanges(ledger, before, after, (id) => guards.has(id) || hiddenIds.has(id));
    console.log(`[gateway-fuzz] ${before.size} runs before, ${after.size} after (${spawned} subtasks)`);
    expect(problems.slice(0, 20)).toEqual([]);

    // Only their holders settle them, and can: their leases outlived the run.
    for (const [i, lease] of pools.guards.entries()) {
      const answer = await client.runnerCall(GUARD_OWNERS[i % 2]!, 'settle', { settlements: [{ lease, outcome: { status: 'completed', result: { guard: i } } }] });
      expect(answer).toEqual({ status: 200, body: { results: [{ id: lease.id, accepted: true, status: 'completed' }] } });
    }
  });

  it('still claims, settles and answers GraphQL afterwards, lists runners in their token\'s cluster, and logged no fault', async () => {
    const fresh = await node.store.create({ funcName: FUNCS.final, cluster: CLUSTERS.a, timeToResolve: 3600 });
    const [lease, ...rest] = await client.take('a', sessionRunner('a'), [FUNCS.final]);
    expect(rest).toEqual([]);
    expect(lease).toEqual({ id: fresh.id, attempt: 1, runner: sessionRunner('a') });
    expect(await client.runnerCall('a', 'settle', { settlements: [{ lease, outcome: { status: 'completed', result: 'done' } }] })).toEqual({
      status: 200,
      body: { results: [{ id: fresh.id, accepted: true, status: 'completed' }] },
    });

    const statistics = await client.gql<{ statistics: { total: number } }>('{ statistics { total } }');
    expect(statistics.errors).toBeUndefined();
    expect(statistics.data?.statistics.total).toBeGreaterThan(0);
    // What heartbeats registered must read back for the operator, each runner in its token's cluster.
    expect(await probe()).toEqual([]);
    const runners = await client.gql<{ runners: Array<{ id: string; cluster: string }> }>('{ runners { id cluster } }');
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
      expect(await client.runnerCall('a', 'heartbeat', { info: { ...info, startedAt }, ttlMs: 60_000 })).toEqual({
        status: 400,
        body: { error: { code: 'BAD_USER_INPUT', message: expect.stringMatching(/^heartbeat\.info\.startedAt: /) } },
      });
    }
    expect(await probe()).toEqual([]);
    expect(await client.runnerCall('a', 'heartbeat', { info: { ...info, startedAt: new Date().toISOString() }, ttlMs: 60_000 })).toEqual({ status: 200, body: { ok: true } });
    const runners = await client.gql<{ runners: Array<{ id: string }> }>('{ runners { id startedAt } }');
    expect(runners.errors).toBeUndefined();
    expect(runners.data?.runners.map((runner) => runner.id)).toContain(info.id);
    expect(await client.runnerCall('a', 'leave', { runner: info.id })).toEqual({ status: 200, body: { ok: true } });
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
      const [lease] = await client.take('a', 'fz-r@tok-a', ['fz.regress']);
      expect(lease?.id).toBe(run.id);
      const spawn = [{ funcName: FUNCS.child, args: [], cluster, dependsOn: [] }];
      expect(await client.runnerCall('a', 'settle', { settlements: [{ lease, outcome: { status: 'completed', result: null, spawn } }] })).toEqual({
        status: 200,
        body: { results: [{ id: run.id, accepted: true, status: 'failed' }] },
      });
      expect((await node.store.get(run.id))?.error?.message).toMatch(/spawn\[0\]\.cluster/);
      expect((await node.store.select({ parentId: run.id })).runs).toEqual([]);
    }
    expect(logged.filter((entry) => entry.level >= 50).length).toBe(faultsBefore);
  });
});
