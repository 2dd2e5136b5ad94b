import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunStatus } from '../../src/core/types.js';
import { createNode } from '../../src/node/create-node.js';
import type { TaskplaneNode } from '../../src/node/taskplane-node.js';
import { eventually } from '../nodes/cluster-fixture.js';
import { dropDatabases, testKeyPrefix, testMongoUrls, testRedisUrl } from '../services/context.js';
import { freePort } from '../services/free-port.js';
import { runCli, spawnCli } from './run-cli.js';

/**
 * The `taskplane` command run as a child process against a real node (three FerretDB shards,
 * Redis): each command, its `--json` output, and its errors and exit codes.
 */

const urls = testMongoUrls('cli');
let node: TaskplaneNode;
let env: Record<string, string>;
const dir = mkdtempSync(join(tmpdir(), 'tp-cli-'));

beforeAll(async () => {
  node = createNode({
    node: {
      roles: ['api', 'scheduler', 'storage', 'runner'],
      listen: '127.0.0.1:0',
      mongo: { shards: urls },
      redis: { url: testRedisUrl(), prefix: testKeyPrefix('cli') },
      runner: { poll_ms: 100 },
    },
    handlers: {
      echo: (args) => ({ echo: args }),
      slow: (_args, ctx) => new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(new Error('stopped')))),
    },
    logger: pino({ level: 'silent' }),
  });
  await node.start();
  // Defined through the API, so `config apply` (which replaces the config-file set) leaves it.
  await node.catalog.putDefinition({ name: 'greet', kind: 'single_shot', funcName: 'echo', args: ['world'] }, 'api');
  env = { TASKPLANE_URL: `http://${node.address}/graphql` };
});

afterAll(async () => {
  await node?.close();
  await dropDatabases(urls);
});

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

async function ok(args: string[]): Promise<string> {
  const result = await runCli(args, env);
  expect(result.code, `taskplane ${args.join(' ')}\n${result.stderr}`).toBe(0);
  return result.stdout;
}

async function json<T = Record<string, unknown>>(args: string[]): Promise<T> {
  return JSON.parse(await ok([...args, '--json'])) as T;
}

async function until(id: string, status: RunStatus): Promise<void> {
  await eventually(async () => ((await node.store.get(id))?.status === status ? true : undefined), 15_000, `run ${id} to be ${status}`, 100);
}

describe('task commands', () => {
  it('start launches a definition and prints the id; get shows the run as fields and as JSON', async () => {
    const id = (await ok(['task', 'start', 'greet', '--args', '["Ada"]'])).trim();
    expect(id).toMatch(UUID);
    await until(id, 'completed');

    const run = await json<{ id: string; name: string; status: string; result: unknown; attempt: number }>(['task', 'get', id]);
    expect(run).toMatchObject({ id, name: 'greet', status: 'COMPLETED', result: { echo: ['Ada'] }, attempt: 1 });
    const text = await ok(['task', 'get', id]);
    expect(text).toMatch(new RegExp(`^id +${id}$`, 'm'));
    expect(text).toMatch(/^status +COMPLETED$/m);
    expect(text).toMatch(/^result +\{"echo":\["Ada"\]\}$/m);
  });

  it('create passes args and options through', async () => {
    const { id } = await json<{ id: string }>([
      'task', 'create', 'echo', '--args', '{"a": 1}', '--cluster', 'default', '--tag', 'default', '--priority', '5', '--max-attempts', '2', '--ttr', '30',
    ]);
    expect(id).toMatch(UUID);
    await until(id, 'completed');
    expect(await node.store.get(id)).toMatchObject({ funcName: 'echo', args: { a: 1 }, priority: 5, maxAttempts: 2, timeToResolve: 30, result: { echo: { a: 1 } } });
  });

  it('stop, retry and forget a run', async () => {
    const id = (await ok(['task', 'create', 'slow'])).trim();
    await until(id, 'running');
    expect((await ok(['task', 'stop', id])).trim()).toBe(id);
    await until(id, 'stopped');
    expect(await json(['task', 'retry', id])).toEqual({ id });
    await until(id, 'running');
    await ok(['task', 'stop', id]);
    await until(id, 'stopped');
    expect((await ok(['task', 'forget', id])).trim()).toBe(`forgot ${id}`);
    expect(await node.store.get(id)).toBeNull();

    const gone = await runCli(['task', 'get', id], env);
    expect(gone.code).toBe(1);
    expect(gone.stderr.trim()).toBe(`taskplane: NOT_FOUND: run ${id} does not exist (it may have been forgotten or trimmed)`);
  });

  it('list filters, pages with --after, and prints an aligned table', async () => {
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push((await node.store.create({ funcName: 'echo', name: 'listed', args: [i] })).id);
    for (const id of ids) await until(id, 'completed');

    type Page = { tasks: Array<{ id: string; name: string; status: string }>; pageInfo: { hasNextPage: boolean; endCursor: string | null }; unavailableShards: string[] };
    const first = await json<Page>(['task', 'list', '--name', 'listed', '--status', 'completed', '--first', '2']);
    expect(first.tasks).toHaveLength(2);
    expect(first.tasks.every((t) => t.name === 'listed' && t.status === 'COMPLETED')).toBe(true);
    expect(first.pageInfo.hasNextPage).toBe(true);
    expect(first.unavailableShards).toEqual([]);
    const second = await json<Page>(['task', 'list', '--name', 'listed', '--first', '2', '--after', first.pageInfo.endCursor!]);
    expect(second.tasks).toHaveLength(1);
    expect(new Set([...first.tasks, ...second.tasks].map((t) => t.id))).toEqual(new Set(ids));
    expect(await json<Page>(['task', 'list', '--name', 'listed', '--status', 'pending,running'])).toMatchObject({ tasks: [] });

    const table = await runCli(['task', 'list', '--name', 'listed', '--first', '2'], env);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID +NAME +KIND +STATUS +ATTEMPT +CLUSTER +CREATED +FINISHED +RESULT$/);
    expect(lines).toHaveLength(3);
    // Columns line up: every row's NAME starts where the header's does.
    const nameAt = lines[0]!.indexOf('NAME');
    for (const line of lines.slice(1)) expect(line.slice(nameAt, nameAt + 'listed'.length)).toBe('listed');
    expect(table.stderr).toMatch(/^more: add --after \S+$/m);
  });

  it('refuses a bad id, an unknown task and a bad option with a clear message and exit code', async () => {
    const badId = await runCli(['task', 'get', 'not-a-uuid'], env);
    expect(badId.code).toBe(1);
    expect(badId.stderr).toMatch(/^taskplane: BAD_USER_INPUT: id: must be a UUID/);
    expect(badId.stderr.trim().split('\n')).toHaveLength(1);

    const unknown = await runCli(['task', 'start', 'no_such_task'], env);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^taskplane: NOT_FOUND: .*no_such_task/);

    const asJson = await runCli(['task', 'stop', 'not-a-uuid', '--json'], env);
    expect(asJson.code).toBe(1);
    expect(JSON.parse(asJson.stderr)).toMatchObject({ error: { code: 'BAD_USER_INPUT' } });

    const usage = await Promise.all([
      runCli(['task', 'create'], env),
      runCli(['task', 'create', 'echo', '--args', '{not json'], env),
      runCli(['task', 'list', '--status', 'sleeping'], env),
      runCli(['task', 'create', 'echo', '--priority', 'high'], env),
      runCli(['no-such-command'], env),
    ]);
    for (const result of usage) expect(result.code, result.stderr).toBe(2);
    expect(usage[1]!.stderr).toMatch(/--args: not valid JSON/);
    expect(usage[2]!.stderr).toMatch(/'sleeping' is not a status/);

    const unreachable = await runCli(['stats', '--url', `http://127.0.0.1:${await freePort()}/graphql`], env);
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toMatch(/^taskplane: UNREACHABLE: cannot reach http:\/\/127\.0\.0\.1:\d+\/graphql: ECONNREFUSED/);
  });
});

describe('stats and cluster commands', () => {
  it('stats prints counts by status, and per cluster with --by', async () => {
    const stats = await json<Record<string, number>>(['stats']);
    expect(Object.keys(stats)).toEqual(['pending', 'running', 'completed', 'failed', 'lost', 'stopped', 'didNotStart', 'unknownTask', 'total']);
    expect(stats.completed).toBeGreaterThan(0);
    expect(await ok(['stats'])).toMatch(/^STATUS +RUNS\npending +\d+\n/);
    const byCluster = await json<Array<{ key: string; counts: Record<string, number> }>>(['stats', '--by', 'cluster']);
    expect(byCluster.find((row) => row.key === 'default')?.counts.completed).toBeGreaterThan(0);
    expect(await ok(['stats', '--by', 'shard'])).toMatch(/^SHARD +PENDING .* TOTAL\nshard-0 /);
  });

  it('cluster create, list and delete', async () => {
    const created = await json<{ slug: string; name: string; isDefault: boolean }>(['cluster', 'create', 'testing']);
    expect(created).toMatchObject({ name: 'testing', isDefault: false });
    expect(created.slug).toMatch(/^testing-[a-z0-9]+$/);
    const fixed = (await ok(['cluster', 'create', 'fixed', '--slug', 'fixed-one'])).trim();
    expect(fixed).toBe('fixed-one');
    const taken = await runCli(['cluster', 'create', 'fixed', '--slug', 'fixed-one'], env);
    expect(taken.code).toBe(1);
    expect(taken.stderr).toMatch(/^taskplane: CONFLICT: /);
    expect((await ok(['cluster', 'create', 'fixed', '--slug', 'fixed-one', '--exists-ok'])).trim()).toBe('fixed-one');

    const listed = await json<Array<{ slug: string }>>(['cluster', 'list']);
    expect(listed.map((c) => c.slug)).toEqual(expect.arrayContaining(['default', created.slug, 'fixed-one']));
    expect(await ok(['cluster', 'list'])).toMatch(/^SLUG +NAME +DEFAULT +CREATED +DESCRIPTION\n/);

    expect((await ok(['cluster', 'delete', created.slug])).trim()).toBe(`deleted ${created.slug}`);
    expect(await json(['cluster', 'delete', 'fixed-one'])).toEqual({ slug: 'fixed-one', deleted: true });
    const again = await runCli(['cluster', 'delete', created.slug], env);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(new RegExp(`^taskplane: NOT_FOUND: no cluster has slug '${created.slug}'`));
    const protectedDefault = await runCli(['cluster', 'delete', 'default'], env);
    expect(protectedDefault.code).toBe(1);
    expect(protectedDefault.stderr).toMatch(/^taskplane: CONFLICT: /);
  });
});

describe('config apply', () => {
  writeFileSync(join(dir, 'jobs.js'), 'export function report(args) { return args; }\n');
  const file = (name: string, tasks: object) => {
    const path = join(dir, name);
    writeFileSync(path, stringify({ tasks, modules: { jobs: './jobs.js' } }));
    return path;
  };

  it("checks the file as a node would, then makes its tasks the cluster's config definitions", async () => {
    const good = file('good.yaml', {
      nightly: { kind: 'periodical', func_name: 'jobs.report', schedule: '0 0 3 * * *', time_to_resolve: 120 },
      adhoc: { kind: 'single_shot', func_name: 'jobs.report', args: { to: 'ops' } },
    });
    const dry = await json<{ definitions: Array<{ name: string; kind: string }> }>(['config', 'apply', good, '--dry-run']);
    expect(dry.definitions.map((d) => [d.name, d.kind])).toEqual([['nightly', 'PERIODICAL'], ['adhoc', 'SINGLE_SHOT']]);
    expect(await node.catalog.getDefinition('nightly')).toBeNull();

    expect(await json(['config', 'apply', good])).toEqual({ added: ['adhoc', 'nightly'], updated: [], removed: [], unchanged: [] });
    expect(await node.catalog.getDefinition('nightly')).toMatchObject({ source: 'config', schedule: '0 0 3 * * *', timeToResolve: 120, funcName: 'jobs.report' });
    expect(await node.catalog.getDefinition('adhoc')).toMatchObject({ source: 'config', args: { to: 'ops' } });

    const smaller = file('smaller.yaml', { adhoc: { kind: 'single_shot', func_name: 'jobs.report', args: { to: 'ops' } } });
    expect(await ok(['config', 'apply', smaller])).toMatch(/^CHANGE +TASKS\nadded +-\nupdated +-\nremoved +nightly\nunchanged +adhoc\n$/);
    // API-defined definitions are not the file's to remove.
    expect(await node.catalog.getDefinition('greet')).not.toBeNull();
  });

  it('refuses a bad file with its name, key and reason, and sends nothing', async () => {
    const bad = file('bad.yaml', { broken: { kind: 'periodical', func_name: 'jobs.report', schedule: '61 * * * * *' } });
    const result = await runCli(['config', 'apply', bad], env);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^taskplane: CONFIG_INVALID: .*bad\.yaml: tasks\.broken\.schedule: .*not a valid cron/);
    expect(await node.catalog.getDefinition('broken')).toBeNull();
    const missing = await runCli(['config', 'apply', join(dir, 'nope.yaml')], env);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/no such file/);
  });
});

describe('global options', () => {
  it('--token is sent as a bearer token and --url overrides TASKPLANE_URL', async () => {
    const seen: Array<string | undefined> = [];
    const server = createServer((req, res) => {
      seen.push(req.headers.authorization);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ data: { clusters: [] } }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as { port: number };
      const url = `http://127.0.0.1:${port}/graphql`;
      expect((await runCli(['cluster', 'list', '--url', url, '--token', 's3cret', '--json'], env)).code).toBe(0);
      expect((await runCli(['cluster', 'list', '--json'], { TASKPLANE_URL: url, TASKPLANE_TOKEN: 'from-env' })).code).toBe(0);
      expect(seen).toEqual(['Bearer s3cret', 'Bearer from-env']);
    } finally {
      server.close();
    }
  });
});

describe('token create', () => {
  it('makes a token and the config entry that grants it, refusing a name the config would refuse', async () => {
    const made = await json<{ name: string; role: string; token: string; sha256: string }>(['token', 'create', '--name', 'ci-bot', '--role', 'admin']);
    expect(made).toMatchObject({ name: 'ci-bot', role: 'admin' });
    expect(made.token).toMatch(/^tp_[A-Za-z0-9_-]{43}$/);
    expect(made.sha256).toBe(createHash('sha256').update(made.token).digest('hex'));
    const text = await ok(['token', 'create', '--name', 'viewer-1', '--role', 'viewer']);
    expect(text).toMatch(/^config +node\.api\.tokens: - \{ name: viewer-1, role: viewer, sha256: [0-9a-f]{64} \}$/m);
    const badName = await runCli(['token', 'create', '--name', 'two words'], env);
    expect(badName.code).toBe(2);
    expect(badName.stderr).toMatch(/--name 'two words' must be a name/);
    expect((await runCli(['token', 'create', '--name', 'x', '--role', 'root'], env)).code).toBe(2);
  });
});

describe('taskplane start', () => {
  it('runs a node from a config file until SIGTERM, and refuses a bad file with exit code 2', async () => {
    const port = await freePort();
    const config = join(dir, 'node.yaml');
    writeFileSync(config, stringify({ node: { roles: ['api', 'scheduler', 'storage', 'runner'], listen: `127.0.0.1:${port}` } }));
    const child = spawnCli(['start', '--config', config], { TASKPLANE_LOG_LEVEL: 'info' });
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      await eventually(() => (output.includes('"node started"') ? true : undefined), 30_000, `the node to start:\n${output}`);
      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
      const stats = await runCli(['stats', '--json', '--url', `http://127.0.0.1:${port}/graphql`]);
      expect(JSON.parse(stats.stdout)).toMatchObject({ total: 0 });
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);

    const bad = join(dir, 'bad-node.yaml');
    writeFileSync(bad, 'task_runner:\n  capacity: -1\n');
    const refused = await runCli(['start', '--config', bad]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/task_runner\.capacity in .*bad-node\.yaml/);
  });
});
