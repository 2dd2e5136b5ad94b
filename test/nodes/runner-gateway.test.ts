import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { compileConfig, ConfigError } from '../../src/config/load-config.js';
import type { Run } from '../../src/core/types.js';
import { trackChild } from '../services/child-registry.js';
import { freePort } from '../services/free-port.js';
import { projectRoot } from '../services/project-root.js';
import { ClusterFixture, eventually } from './cluster-fixture.js';
import { startNodeProcess, type NodeProcess } from './node-process.js';

/**
 * Remote runners (issue 8: runner credentials scoped to a cluster; runners authenticate).
 *
 * One api + scheduler + storage node on the test FerretDB shards and Redis, auth on, with runner
 * tokens for two clusters (`alpha`: tok-a, `beta`: tok-b). Remote runner processes hold a runner
 * token and the api node's URL, and no database settings:
 * - `remote-a`: tok-a, cluster alpha, poll_ms 60 s — so anything it starts within seconds came
 *   through the push channel, not the poll;
 * - `remote-wrong`: tok-a but RUNNER_CLUSTER=beta — must refuse to start;
 * - `remote-bad`: a token no api node knows — must refuse to start;
 * - `remote-poll`: tok-a, tag `polled`, reaching the api through a proxy that refuses the push
 *   channel — it must keep working by polling.
 * Raw HTTP requests check what the gateway refuses.
 */

const fixture = new ClusterFixture('runner-gateway');
const ADMIN = 'tp_runner-gateway-test-admin';
const TOKEN_A = 'tpr_runner-gateway-test-token-alpha';
const TOKEN_B = 'tpr_runner-gateway-test-token-beta';
const sha = (token: string) => createHash('sha256').update(token).digest('hex');

let api: NodeProcess;
let base = '';
let remoteA: NodeProcess;
let wrongCluster: Promise<Exit>;
let badToken: Promise<Exit>;
let apiSettings: Record<string, unknown>;
/** Runs of beta created before anything with tok-a started. */
let betaRuns: Run[] = [];

interface Exit {
  code: number | null;
  stdout: string;
  stderr: string;
}

async function gql<T = Record<string, any>>(query: string, variables?: Record<string, unknown>): Promise<T> {
  const response = await fetch(`${base}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN}` },
    body: JSON.stringify({ query, variables }),
  });
  const answer = (await response.json()) as { data?: T; errors?: unknown[] };
  if (answer.errors) throw new Error(`GraphQL errors: ${JSON.stringify(answer.errors)}`);
  return answer.data!;
}

/** A raw runner protocol request; answers the status and the parsed body. */
async function raw(route: string, body: unknown, token: string | null = TOKEN_A, method = 'POST'): Promise<{ status: number; body: any; text: string }> {
  const response = await fetch(`${base}/runner/v1/${route}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await response.text();
  let parsed: unknown = null;
  try {
    parsed = JSON.parse(text);
  } catch {
    // asserted by the caller
  }
  return { status: response.status, body: parsed, text };
}

/** A body of `bytes` sent in chunks, without a content-length, so the limit is met while reading. */
function rawChunked(route: string, bytes: number): Promise<{ status: number; body: any; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${base}/runner/v1/${route}`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN_A}`, 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text), text }));
    });
    req.on('error', reject);
    const chunk = 'x'.repeat(64 * 1024);
    for (let sent = 0; sent < bytes; sent += chunk.length) req.write(chunk);
    req.end();
  });
}

function expectNoStack(text: string): void {
  expect(text).not.toMatch(/\n\s+at |\bat .+\(.+:\d+:\d+\)|\.ts:\d+|node_modules|"stack"/);
}

/** A remote runner's config file: the gateway and its token, no mongo, no redis. */
function remoteConfig(id: string, token: string, runner: Record<string, unknown> = {}): object {
  return {
    node: {
      id,
      roles: ['runner'],
      log_level: 'info',
      runner: { api: { url: base, token }, poll_ms: 60_000, heartbeat_ms: 1000, drain_grace_ms: 3000, capacity: 4, ...runner },
    },
    modules: { handlers: join(projectRoot, 'test/fixtures/handlers.ts') },
  };
}

/** Env that hides any database settings of the test process from the child. */
const NO_DATABASES = { TASKPLANE_MONGO_URLS: '', TASKPLANE_REDIS_URL: '', TASKPLANE_RUNNER_API_URL: '', TASKPLANE_RUNNER_TOKEN: '' };

async function runUntilExit(name: string, config: object, env: Record<string, string> = {}): Promise<Exit> {
  const configFile = fixture.file(`${name}.yaml`);
  writeFileSync(configFile, stringify(config));
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', '--config', configFile], {
    cwd: projectRoot,
    env: { ...process.env, TASKPLANE_LOG_LEVEL: 'info', ...NO_DATABASES, ...env, NODE_OPTIONS: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  trackChild(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 45_000);
  const code = await new Promise<number | null>((resolve) => child.once('exit', (exitCode) => resolve(exitCode)));
  clearTimeout(timer);
  return { code, stdout, stderr };
}

async function waitStatus(id: string, status: string, timeoutMs = 15_000): Promise<Run> {
  return eventually(async () => {
    const run = await fixture.store.get(id);
    return run?.status === status ? run : undefined;
  }, timeoutMs, `run ${id} to be ${status}`);
}

/** Remote TCP ports of a process's connected sockets (Linux /proc), or null where /proc is missing. */
function remotePortsOf(pid: number): Set<number> | null {
  if (!existsSync(`/proc/${pid}/fd`)) return null;
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (match) inodes.add(match[1]!);
    } catch {
      // closed meanwhile
    }
  }
  const ports = new Set<number>();
  for (const table of ['tcp', 'tcp6']) {
    const path = `/proc/${pid}/net/${table}`;
    if (!existsSync(path)) continue;
    for (const line of readFileSync(path, 'utf8').split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields.length < 10 || fields[3] === '0A' || !inodes.has(fields[9]!)) continue;
      ports.add(parseInt(fields[2]!.split(':')[1]!, 16));
    }
  }
  return ports;
}

/** An event stream read in the test: the events seen so far, and a way to end it. */
async function openEvents(token: string, runner: string, group = 'default') {
  const controller = new AbortController();
  const response = await fetch(`${base}/runner/v1/events?runner=${encodeURIComponent(runner)}&group=${group}`, {
    headers: { authorization: `Bearer ${token}` },
    signal: controller.signal,
  });
  const events: Array<{ event: string; data: any }> = [];
  if (response.ok) {
    void (async () => {
      const decoder = new TextDecoder();
      let buffer = '';
      try {
        for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
          buffer += decoder.decode(chunk, { stream: true });
          let end: number;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const event = /^event: (.*)$/m.exec(block)?.[1];
            const data = /^data: (.*)$/m.exec(block)?.[1];
            if (event && data) events.push({ event, data: JSON.parse(data) });
          }
        }
      } catch {
        // aborted
      }
    })();
  }
  return { status: response.status, events, close: () => controller.abort() };
}

/** An HTTP proxy to the api node that answers 503 to every push channel request. */
async function startPushlessProxy(): Promise<{ url: string; refused: () => number; close: () => Promise<void> }> {
  let refused = 0;
  const server: Server = createServer((req, res) => {
    if ((req.url ?? '').startsWith('/runner/v1/events')) {
      refused++;
      res.writeHead(503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'UNAVAILABLE', message: 'no event streams through this proxy' } }));
      return;
    }
    const upstream = httpRequest(`${base}${req.url}`, { method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => {
      res.writeHead(502);
      res.end();
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    refused: () => refused,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

beforeAll(async () => {
  await fixture.start();
  apiSettings = {
    roles: ['api', 'scheduler', 'storage'],
    // A fixed port: the api node is restarted on it below.
    listen: `127.0.0.1:${await freePort()}`,
    api: {
      auth: 'on',
      tokens: [{ name: 'admin', role: 'admin', sha256: sha(ADMIN) }],
      runner_tokens: [
        { name: 'tok-a', cluster: 'alpha', sha256: sha(TOKEN_A) },
        { name: 'tok-b', cluster: 'beta', sha256: sha(TOKEN_B) },
      ],
    },
  };
  api = await fixture.startNode('api', apiSettings);
  base = api.graphqlUrl().replace(/\/graphql$/, '');
  await gql('mutation { a: cluster { create(name: "alpha", slug: "alpha") { slug } } b: cluster { create(name: "beta", slug: "beta") { slug } } }');
  // Beta has work before any runner of tok-a starts: none of it may ever move.
  betaRuns = await Promise.all(Array.from({ length: 3 }, () => fixture.store.create({ funcName: 'handlers.touch', cluster: 'beta', args: { file: fixture.file('beta.log') } })));
  wrongCluster = runUntilExit('remote-wrong', remoteConfig('remote-wrong', TOKEN_A), { RUNNER_CLUSTER: 'beta' });
  badToken = runUntilExit('remote-bad', remoteConfig('remote-bad', 'tpr_not-a-token-of-this-deployment'), { RUNNER_CLUSTER: 'alpha' });
  remoteA = await startNodeProcess({ name: 'remote-a', config: remoteConfig('remote-a', TOKEN_A, { cluster: 'alpha' }), env: NO_DATABASES });
  fixture.nodes.set('remote-a', remoteA);
  await eventually(async () => {
    const { runners } = await gql<{ runners: Array<{ id: string; cluster: string }> }>('{ runners { id cluster } }');
    return runners.some((r) => r.id === 'remote-a@tok-a') ? true : undefined;
  }, 15_000, 'remote-a to register');
}, 120_000);

afterAll(async () => {
  await Promise.allSettled([wrongCluster, badToken]);
  await fixture.close();
}, 60_000);

describe('remote runners through the runner gateway', () => {
  it('completes runs of its cluster with a valid token, stores their results, and talks to no database', async () => {
    const file = fixture.file('alpha.log');
    const created = await fixture.store.createMany(Array.from({ length: 5 }, () => ({ funcName: 'handlers.touch', cluster: 'alpha', args: { file } })));
    for (const { id } of created) {
      const run = await waitStatus(id, 'completed');
      expect(run).toMatchObject({ runner: 'remote-a@tok-a', cluster: 'alpha', result: { pid: remoteA.pid } });
    }
    expect(fixture.records('alpha.log').map((r) => r.pid)).toEqual(Array(5).fill(remoteA.pid));
    const { runners } = await gql<{ runners: Array<{ id: string; cluster: string; node: string }> }>('{ runners { id cluster node } }');
    expect(runners).toContainEqual({ id: 'remote-a@tok-a', cluster: 'alpha', node: 'remote-a' });
    // Its only connections go to the api node: not to a FerretDB shard, not to Redis.
    const ports = remotePortsOf(remoteA.pid);
    if (ports) {
      const apiPort = Number(new URL(base).port);
      expect([...ports].filter((port) => port !== apiPort)).toEqual([]);
      expect(ports.has(apiPort)).toBe(true);
    }
    expect(remoteA.logs()).toContain('remote runner: the api node accepted the runner token');
  });

  it('a runner with another cluster\'s credentials claims nothing: tok-a with RUNNER_CLUSTER=beta refuses to start', async () => {
    const { code, stderr } = await wrongCluster;
    expect(code, stderr).toBe(2);
    expect(stderr).toContain(
      "taskplane: node failed to start: the api node at " + base + " refused this runner: runner token 'tok-a' is scoped to cluster 'alpha' and may not run in cluster 'beta'",
    );
    for (const run of betaRuns) expect(await fixture.store.get(run.id)).toMatchObject({ status: 'pending', attempt: 0, runner: null });
    expect(fixture.records('beta.log')).toEqual([]);
  });

  it('a bad token stops the runner at start with a message naming the problem', async () => {
    const { code, stderr } = await badToken;
    expect(code, stderr).toBe(2);
    expect(stderr).toMatch(/node failed to start: the api node at \S+ refused the runner token \(node\.runner\.api\.token or TASKPLANE_RUNNER_TOKEN\): the runner token is not valid on this api node/);
    expect(stderr).toContain('taskplane token create --runner');
    expect(stderr).not.toContain('tpr_not-a-token-of-this-deployment');
  });

  it('raw HTTP: no token is 401, another cluster is 403 and moves nothing, a run held by another runner is refused; no stacks', async () => {
    const identity = (id: string, cluster = 'alpha') => ({ runner: { id, cluster, tags: ['default'], handlers: ['handlers.touch', 'handlers.raw_only'] }, limit: 10 });

    const anonymous = await raw('take', identity('raw-1@tok-a'), null);
    expect(anonymous.status).toBe(401);
    expect(anonymous.body.error.code).toBe('UNAUTHENTICATED');
    const apiToken = await raw('take', identity('raw-1@tok-a'), ADMIN);
    expect(apiToken.status).toBe(401);
    const unknown = await raw('session', { node: 'x', cluster: 'alpha', group: 'default' }, 'tpr_unknown');
    expect(unknown.status).toBe(401);

    const otherCluster = await raw('take', identity('raw-1@tok-a', 'beta'));
    expect(otherCluster.status).toBe(403);
    expect(otherCluster.body.error).toEqual({ code: 'FORBIDDEN', message: expect.stringContaining("runner token 'tok-a' is scoped to cluster 'alpha' and may not claim runs of cluster 'beta'") });
    const otherRunner = await raw('take', identity('raw-1@tok-b'));
    expect(otherRunner.status).toBe(403);
    expect(otherRunner.body.error.message).toContain("may act only as runners '<node>@tok-a'");
    expect((await raw('heartbeat', { info: { id: 'raw-1@tok-a', node: 'raw-1', cluster: 'beta', group: 'default', tags: [], handlers: [], capacity: 1, load: 0, state: 'running', startedAt: new Date().toISOString() }, ttlMs: 3000 })).status).toBe(403);
    expect((await raw('clusters/beta', undefined, TOKEN_A, 'GET')).status).toBe(403);
    for (const run of betaRuns) expect(await fixture.store.get(run.id)).toMatchObject({ status: 'pending', attempt: 0, runner: null });

    // A run only this test's raw runner can take (no runner process has the handler).
    const held = await fixture.store.create({ funcName: 'handlers.raw_only', cluster: 'alpha', timeToResolve: 60 });
    const taken = await eventually(async () => {
      const answer = await raw('take', identity('raw-1@tok-a'));
      expect(answer.status).toBe(200);
      return answer.body.runs.find((run: Run) => run.id === held.id) as Run | undefined;
    }, 10_000, 'the raw runner to claim its run');
    expect(taken).toMatchObject({ status: 'running', runner: 'raw-1@tok-a', cluster: 'alpha' });
    const lease = (runner: string) => ({ id: held.id, attempt: taken.attempt, runner });
    const completed = { status: 'completed', result: 'forged' };

    // Another runner of the same token: storage refuses the stale lease, as for a local runner.
    const sameToken = await raw('settle', { settlements: [{ lease: lease('raw-2@tok-a'), outcome: completed }] });
    expect(sameToken.status).toBe(200);
    expect(sameToken.body.results).toEqual([{ id: held.id, accepted: false, status: null }]);
    // Another token, naming the holder: refused before storage is asked.
    const forged = await raw('settle', { settlements: [{ lease: lease('raw-1@tok-a'), outcome: completed }] }, TOKEN_B);
    expect(forged.status).toBe(403);
    const renewed = await raw('renew', { leases: [lease('raw-1@tok-a')] }, TOKEN_B);
    expect(renewed.status).toBe(403);
    // Another token, as its own runner: not the holder either.
    const ownId = await raw('settle', { settlements: [{ lease: lease('raw-9@tok-b'), outcome: completed }] }, TOKEN_B);
    expect(ownId.body.results).toEqual([{ id: held.id, accepted: false, status: null }]);
    expect(await fixture.store.get(held.id)).toMatchObject({ status: 'running', runner: 'raw-1@tok-a', result: null });

    // The holder renews and settles.
    const renewal = await raw('renew', { leases: [lease('raw-1@tok-a')] });
    expect(renewal.body.results).toEqual([{ id: held.id, state: 'renewed', deadline: expect.any(String), stopRequested: false }]);
    const settled = await raw('settle', { settlements: [{ lease: lease('raw-1@tok-a'), outcome: { status: 'completed', result: { ok: 1 } } }] });
    expect(settled.body.results).toEqual([{ id: held.id, accepted: true, status: 'completed' }]);
    expect(await fixture.store.get(held.id)).toMatchObject({ status: 'completed', result: { ok: 1 } });

    // Its runs' subtasks stay in its cluster: an outcome spawning into beta is a failure that says so.
    const spawner = await fixture.store.create({ funcName: 'handlers.raw_only', cluster: 'alpha' });
    const claimed = await eventually(async () => (await raw('take', identity('raw-1@tok-a'))).body.runs.find((r: Run) => r.id === spawner.id) as Run | undefined, 10_000, 'the spawner run');
    const spawnInto = await raw('settle', {
      settlements: [{ lease: { id: spawner.id, attempt: claimed.attempt, runner: 'raw-1@tok-a' }, outcome: { status: 'completed', result: 1, spawn: [{ funcName: 'handlers.touch', args: {}, cluster: 'beta', dependsOn: [] }] } }],
    });
    expect(spawnInto.body.results).toEqual([{ id: spawner.id, accepted: true, status: 'failed' }]);
    expect((await fixture.store.get(spawner.id))?.error?.message).toBe(
      "spawn[0].cluster: runner token 'tok-a' may spawn subtasks in 'alpha' only, not in 'beta' (an operator can allow it: spawn_clusters in its node.api.runner_tokens entry)",
    );
    expect((await fixture.store.select({ cluster: 'beta' })).runs.map((r) => r.id).sort()).toEqual(betaRuns.map((r) => r.id).sort());

    // Refusals of a valid token are in the audit log.
    await eventually(async () => {
      const { auditLog } = await gql<{ auditLog: Array<{ operations: string[]; role: string; errors: string[] }> }>('{ auditLog(first: 50, actor: "tok-a") { operations role errors } }');
      return auditLog.some((entry) => entry.operations[0] === 'runner.take' && entry.role === 'runner' && entry.errors[0] === 'FORBIDDEN') ? true : undefined;
    }, 5000, 'an audit entry for the refused take');

    // Bad input: named, bounded, never a stack.
    const refusals = [
      anonymous,
      otherCluster,
      await raw('take', '{"runner": ', TOKEN_A),
      await raw('take', { runner: { id: 'raw-1@tok-a', cluster: 'alpha', tags: [], handlers: [] }, limit: 0 }),
      await raw('settle', { settlements: [{ lease: lease('raw-1@tok-a'), outcome: { status: 'lost' } }] }),
      await raw('renew', { leases: [{ id: 'not-a-uuid', attempt: 1, runner: 'raw-1@tok-a' }] }),
      await raw('take', 'x'.repeat(2 * 1024 * 1024)),
      await rawChunked('settle', 9 * 1024 * 1024),
      await raw('worker-groups/%E0%A4%A', undefined, TOKEN_A, 'GET'),
      await raw('nowhere', {}),
    ];
    expect(refusals.map((r) => r.status)).toEqual([401, 403, 400, 400, 400, 400, 413, 413, 400, 404]);
    expect(refusals[4]!.body.error.message).toMatch(/^settle\.settlements\.0\.outcome/);
    expect(refusals[5]!.body.error.message).toBe('renew.leases.0.id: must be a UUID');
    for (const refusal of refusals) {
      expect(Object.keys(refusal.body.error).sort()).toEqual(['code', 'message']);
      expectNoStack(refusal.text);
    }
    for (const run of betaRuns) expect(await fixture.store.get(run.id)).toMatchObject({ status: 'pending', attempt: 0 });
  });

  it('push channel: each stream hears only its cluster\'s wake-ups and its own runs\' stop requests', async () => {
    const holder = await openEvents(TOKEN_A, 'raw-3@tok-a');
    const neighbour = await openEvents(TOKEN_A, 'raw-4@tok-a');
    const other = await openEvents(TOKEN_B, 'raw-5@tok-b');
    expect((await openEvents(TOKEN_B, 'raw-3@tok-a')).status).toBe(403);
    expect((await openEvents(TOKEN_A, 'raw-3@tok-a', 'bad group!')).status).toBe(400);
    try {
      for (const stream of [holder, neighbour, other]) await eventually(() => (stream.events.some((e) => e.event === 'ready') ? true : undefined), 5000, 'the stream to open');
      const run = await fixture.store.create({ funcName: 'handlers.raw_only', cluster: 'alpha' });
      await eventually(() => (holder.events.some((e) => e.event === 'work') ? true : undefined), 5000, 'a work event on the alpha stream');
      const taken = await raw('take', { runner: { id: 'raw-3@tok-a', cluster: 'alpha', tags: ['default'], handlers: ['handlers.raw_only'] }, limit: 1 });
      expect(taken.body.runs.map((r: Run) => r.id)).toEqual([run.id]);
      await gql('mutation ($id: ID!) { task { stop(id: $id) } }', { id: run.id });
      await eventually(() => (holder.events.some((e) => e.event === 'stop' && e.data.id === run.id) ? true : undefined), 5000, 'the stop event on the holder\'s stream');
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(neighbour.events.filter((e) => e.event === 'stop')).toEqual([]);
      expect(other.events.map((e) => e.event)).toEqual(['ready']);
      await raw('settle', { settlements: [{ lease: { id: run.id, attempt: 1, runner: 'raw-3@tok-a' }, outcome: { status: 'stopped' } }] });
    } finally {
      for (const stream of [holder, neighbour, other]) stream.close();
    }
  });

  it('stop requests reach a remote runner\'s handler, and wake-ups start new runs within seconds, not at the 60 s poll', async () => {
    const file = fixture.file('work.log');
    const long = await fixture.store.create({ funcName: 'handlers.work', cluster: 'alpha', args: { file, ms: 30_000 } });
    await waitStatus(long.id, 'running');
    const stoppedAt = Date.now();
    await gql('mutation ($id: ID!) { task { stop(id: $id) } }', { id: long.id });
    const stopped = await waitStatus(long.id, 'stopped', 8000);
    expect(stopped.runner).toBe('remote-a@tok-a');
    const aborted = readFileSync(`${file}.aborted`, 'utf8').trim().split('\n').map((line) => line.split(' '));
    expect(aborted.map(([id]) => id)).toEqual([long.id]);
    expect(Number(aborted[0]![1]) - stoppedAt).toBeLessThan(8000);

    // Idle now, its next poll a minute away: only a wake-up through the push channel starts these.
    for (let round = 0; round < 2; round++) {
      await new Promise((resolve) => setTimeout(resolve, 1500));
      const createdAt = Date.now();
      const run = await fixture.store.create({ funcName: 'handlers.touch', cluster: 'alpha', args: { file: fixture.file('wake.log') } });
      await waitStatus(run.id, 'completed', 10_000);
      expect(Date.now() - createdAt).toBeLessThan(10_000);
    }
  });

  it('falls back to polling while the push channel cannot be opened', async () => {
    const proxy = await startPushlessProxy();
    const config = remoteConfig('remote-poll', TOKEN_A, { cluster: 'alpha', tags: ['polled'], poll_ms: 1000 });
    (config as { node: { runner: { api: { url: string } } } }).node.runner.api.url = proxy.url;
    const node = await startNodeProcess({ name: 'remote-poll', config, env: NO_DATABASES });
    fixture.nodes.set('remote-poll', node);
    try {
      const created = await fixture.store.createMany(Array.from({ length: 3 }, () => ({ funcName: 'handlers.touch', cluster: 'alpha', tag: 'polled', args: { file: fixture.file('polled.log') } })));
      for (const { id } of created) expect(await waitStatus(id, 'completed')).toMatchObject({ runner: 'remote-poll@tok-a' });
      expect(proxy.refused()).toBeGreaterThan(0);
      expect(node.logs()).toContain('runner gateway push channel lost; polling until it is back');
      expect(node.logs()).not.toContain('push channel open');
    } finally {
      await node.stop('SIGTERM', 10_000);
      await proxy.close();
    }
  });

  it('keeps outcomes through an api node restart, reopens the push channel, and claims what was created meanwhile at once', async () => {
    // Ends while the api node is down (once `release` exists): its outcome waits in the settlement queue.
    const release = fixture.file('busy.release');
    const busy = await fixture.store.create({ funcName: 'handlers.work', cluster: 'alpha', args: { file: fixture.file('busy.log'), ms: 100, until: release } });
    await waitStatus(busy.id, 'running');
    await api.stop('SIGTERM', 20_000);
    // Created while no api node answers: remote-a can learn of it only when its stream is back (its poll is 60 s away).
    const run = await fixture.store.create({ funcName: 'handlers.touch', cluster: 'alpha', args: { file: fixture.file('restart.log') } });
    await eventually(() => (remoteA.logs().includes('runner gateway push channel lost') ? true : undefined), 10_000, 'remote-a to notice the lost stream');
    // The busy run's handler returns while no api node answers: its outcome must wait, not vanish.
    writeFileSync(release, '');
    await eventually(() => (remoteA.logs().includes('outcomes not written yet; will retry') ? true : undefined), 15_000, 'the outcome to wait for the api node');
    api = await fixture.startNode('api', apiSettings);
    const done = await waitStatus(run.id, 'completed', 20_000);
    expect(done.runner).toBe('remote-a@tok-a');
    expect(remoteA.logs()).toContain('runner gateway push channel open again');
    expect(await waitStatus(busy.id, 'completed', 20_000)).toMatchObject({ attempt: 1, runner: 'remote-a@tok-a', result: { pid: remoteA.pid, ms: 100 } });
  });
});

describe('remote runner config', () => {
  const compile = (node: Record<string, unknown>, env: Record<string, string> = {}) => {
    try {
      compileConfig({ node }, { env });
      return null;
    } catch (error) {
      if (error instanceof ConfigError) return error.message;
      throw error;
    }
  };
  const api = { url: 'https://taskplane.example.com', token: 'tpr_secret-value' };

  it('takes the gateway and token from the file or the environment, and refuses what would give a runner database credentials', () => {
    expect(compileConfig({ node: { roles: ['runner'], runner: { api } } }).runner.api).toEqual(api);
    expect(compileConfig({ node: { roles: ['runner'] } }, { env: { TASKPLANE_RUNNER_API_URL: 'http://api:4000', TASKPLANE_RUNNER_TOKEN: 'tpr_x' } }).runner.api).toEqual({ url: 'http://api:4000', token: 'tpr_x' });
    expect(compile({ roles: ['runner'], runner: { api }, mongo: { shards: ['mongodb://a:27017/x'] } })).toMatch(/node\.mongo: must not be set on a remote runner .* holds no database credentials/);
    expect(compile({ roles: ['runner'], runner: { api } }, { TASKPLANE_REDIS_URL: 'redis://r:6379' })).toMatch(/TASKPLANE_REDIS_URL: must not be set on a remote runner/);
    expect(compile({ roles: ['runner', 'storage'], runner: { api } })).toMatch(/node\.runner\.api\.url: a remote runner node has the runner role only/);
    expect(compile({ roles: ['runner'], runner: { api: { url: api.url } } })).toMatch(/no runner token is set/);
    expect(compile({ roles: ['runner'] }, { TASKPLANE_RUNNER_TOKEN: 'tpr x' })).toBe('environment: TASKPLANE_RUNNER_TOKEN: must not contain spaces');
    expect(compile({ roles: ['runner'], runner: { api: { ...api, url: 'ftp://x' } } })).toMatch(/node\.runner\.api\.url: must be the http/);
    const entry = { name: 'gpu', cluster: 'gpu', sha256: sha('tpr_gpu') };
    expect(compile({ roles: ['api'], api: { auth: 'off', runner_tokens: [entry, entry] } })).toMatch(/runner token name 'gpu' appears twice/);
    expect(compile({ roles: ['api'], api: { auth: 'off', tokens: [{ name: 'x', role: 'admin', sha256: entry.sha256 }], runner_tokens: [entry] } })).toMatch(/has the hash of an API token/);
    expect(compile({ roles: ['api'], api: { auth: 'off', runner_tokens: [{ ...entry, cluster: 'GPU' }] } })).toMatch(/node\.api\.runner_tokens\[0\]\.cluster: must be a slug/);
    expect(compileConfig({ node: { roles: ['api'], api: { auth: 'off', runner_tokens: [{ ...entry, spawn_clusters: ['cpu'] }] } } }).api.runnerTokens).toEqual([{ ...entry, spawnClusters: ['cpu'] }]);
  });
});
