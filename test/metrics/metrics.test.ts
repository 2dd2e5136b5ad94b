import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileConfig, loadConfig } from '../../src/config/load-config.js';
import { NodeMetrics } from '../../src/metrics/node-metrics.js';
import { withMetrics } from '../../src/metrics/metered-store.js';
import { createNode } from '../../src/node/create-node.js';
import type { TaskplaneNode } from '../../src/node/taskplane-node.js';
import { createTaskStore } from '../../src/storage/create-store.js';
import { eventually } from '../nodes/cluster-fixture.js';
import { dropDatabases, testKeyPrefix, testMongoUrls, testRedisUrl } from '../services/context.js';
import { withDatabase } from '../services/database-url.js';
import { startFerretDb } from '../services/processes.js';
import { parsePrometheusText, samples, total, type Family } from './prometheus-text.js';

/**
 * `/metrics` of real nodes (three FerretDB shards, Redis): after a few runs the families exist
 * with the values those runs imply, and the text parses as Prometheus text. Also: nodes without
 * the api role serve health and metrics when their listen address was set, and only then.
 */

const quiet = pino({ level: 'silent' });
const urls = testMongoUrls('metrics');
const redis = { url: testRedisUrl(), prefix: testKeyPrefix('metrics') };
const nodes: TaskplaneNode[] = [];

afterAll(async () => {
  for (const node of nodes.reverse()) await node.close();
  await dropDatabases(urls);
});

async function scrape(address: string): Promise<{ families: Map<string, Family>; contentType: string | null; text: string }> {
  const response = await fetch(`http://${address}/metrics`);
  expect(response.status).toBe(200);
  const text = await response.text();
  return { families: parsePrometheusText(text), contentType: response.headers.get('content-type'), text };
}

describe('/metrics of a node with every role', () => {
  let node: TaskplaneNode;
  let nodeId: string;
  let idleCluster: string;
  const CAPACITY = 7;

  beforeAll(async () => {
    node = createNode({
      node: {
        roles: ['api', 'scheduler', 'storage', 'runner'],
        listen: '127.0.0.1:0',
        mongo: { shards: urls },
        redis,
        runner: { poll_ms: 100, capacity: CAPACITY },
        scheduler: { lease_ms: 3000 },
        storage: { lease_ms: 3000, sweep_every_ms: 200 },
      },
      tasks: { greet: { kind: 'single_shot', func_name: 'ok', args: ['world'] } },
      handlers: {
        ok: (args) => ({ echo: args }),
        parent: (_args, ctx) => {
          ctx.spawn('ok', ['child']);
          return 'spawned';
        },
        boom: () => {
          throw new Error('boom');
        },
      },
      logger: quiet,
    });
    nodes.push(node);
    await node.start();
    nodeId = node.config.nodeId;
    idleCluster = (await node.catalog.createCluster({ name: 'idle' })).slug;
  });

  it('counts created, started and finished runs, times them, and shows cluster-wide gauges', async () => {
    const { store } = node;
    const ok = await Promise.all([1, 2, 3].map((i) => store.create({ funcName: 'ok', args: [i] })));
    const boom = await store.create({ funcName: 'boom', maxAttempts: 1 });
    const parent = await store.create({ funcName: 'parent' });
    // Over GraphQL, as an operator launches a definition.
    const launched = await fetch(`http://${node.address}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: 'mutation { task { start(name: "greet") } }' }),
    });
    const greet = ((await launched.json()) as { data: { task: { start: string } } }).data.task.start;
    // No runner has this handler: one stays pending, one is stopped while pending, one expires.
    const waiting = await store.create({ funcName: 'nobody.home' });
    const stopped = await store.create({ funcName: 'nobody.home' });
    const expiring = await store.create({ funcName: 'nobody.home', timeout: 1 });
    await store.stop(stopped.id);

    for (const run of [...ok, { id: greet }]) expect((await store.wait(run.id, 15_000)).status).toBe('completed');
    expect((await store.wait(boom.id, 15_000)).status).toBe('failed');
    expect((await store.wait(parent.id, 15_000)).status).toBe('completed');
    const [child] = (await store.select({ jobId: parent.id, parentId: parent.id })).runs;
    expect((await store.wait(child!.id, 15_000)).status).toBe('completed');
    expect((await store.wait(expiring.id, 15_000)).status).toBe('did not start');
    expect((await store.get(waiting.id))?.status).toBe('pending');

    // Leases are taken in the background after start; the stop's name is read in the background.
    const { families, contentType, text } = await eventually(
      async () => {
        const scraped = await scrape(node.address!);
        const holders = samples(scraped.families, 'taskplane_cluster_lease_holder', { holder: nodeId });
        // The sweep's call returns after the expired run's waiter has woken.
        const counted =
          total(scraped.families, 'taskplane_runs_finished_total', { status: 'stopped', name: 'nobody.home' }) === 1 &&
          total(scraped.families, 'taskplane_runs_finished_total', { status: 'did_not_start' }) === 1;
        return holders.some((s) => s.labels.lease === 'scheduler') && holders.some((s) => s.labels.lease?.startsWith('storage:')) && counted
          ? scraped
          : undefined;
      },
      20_000,
      'the lease holders, the stopped and the expired run in /metrics',
    );
    expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);

    const type = (name: string) => families.get(name)?.type;
    expect(type('taskplane_runs_created_total')).toBe('counter');
    expect(type('taskplane_runs_started_total')).toBe('counter');
    expect(type('taskplane_runs_finished_total')).toBe('counter');
    expect(type('taskplane_run_duration_seconds')).toBe('histogram');
    expect(type('taskplane_run_queue_wait_seconds')).toBe('histogram');
    expect(type('taskplane_store_operation_duration_seconds')).toBe('histogram');
    expect(type('taskplane_store_operation_errors_total')).toBe('counter');
    expect(type('taskplane_cluster_pending_runs')).toBe('gauge');
    expect(type('taskplane_runner_capacity')).toBe('gauge');
    expect(type('taskplane_cluster_lease_holder')).toBe('gauge');
    expect(families.get('taskplane_cluster_pending_runs')?.help).toMatch(/^Cluster-wide/);
    expect(families.get('taskplane_runs_created_total')?.help).toMatch(/^Per node/);

    // Runs: 3 ok, greet, parent and the ok it spawned completed; boom failed; 3 never claimed.
    expect(total(families, 'taskplane_runs_created_total')).toBe(10);
    expect(total(families, 'taskplane_runs_created_total', { name: 'ok', cluster: 'default' })).toBe(4);
    expect(total(families, 'taskplane_runs_created_total', { name: 'greet' })).toBe(1);
    expect(total(families, 'taskplane_runs_started_total')).toBe(7);
    expect(total(families, 'taskplane_runs_finished_total', { status: 'completed' })).toBe(6);
    expect(total(families, 'taskplane_runs_finished_total', { status: 'completed', name: 'ok', cluster: 'default' })).toBe(4);
    expect(total(families, 'taskplane_runs_finished_total', { status: 'failed', name: 'boom' })).toBe(1);
    expect(total(families, 'taskplane_runs_finished_total', { status: 'did_not_start' })).toBe(1);

    expect(total(families, 'taskplane_run_duration_seconds_count', { outcome: 'completed' })).toBe(6);
    expect(total(families, 'taskplane_run_duration_seconds_count', { outcome: 'failed', name: 'boom' })).toBe(1);
    expect(total(families, 'taskplane_run_duration_seconds_sum')).toBeGreaterThanOrEqual(0);
    expect(total(families, 'taskplane_run_queue_wait_seconds_count')).toBe(7);

    const creates = samples(families, 'taskplane_store_operation_duration_seconds_count', { operation: 'create' });
    expect(creates.reduce((sum, s) => sum + s.value, 0)).toBeGreaterThanOrEqual(7);
    for (const sample of creates) expect(sample.labels.shard).toMatch(/^shard-[012]$/);
    expect(total(families, 'taskplane_store_operation_duration_seconds_count', { operation: 'take' })).toBeGreaterThan(0);
    expect(total(families, 'taskplane_store_operation_duration_seconds_count', { operation: 'settle' })).toBeGreaterThan(0);
    expect(total(families, 'taskplane_store_operation_errors_total')).toBe(0);

    // Cluster-wide gauges.
    expect(total(families, 'taskplane_cluster_pending_runs', { cluster: 'default' })).toBe(1);
    expect(samples(families, 'taskplane_cluster_pending_runs', { cluster: idleCluster })).toEqual([expect.objectContaining({ value: 0 })]);
    expect(total(families, 'taskplane_cluster_running_runs', { cluster: 'default' })).toBe(0);
    expect(total(families, 'taskplane_cluster_runners', { cluster: 'default', state: 'running' })).toBe(1);
    expect(total(families, 'taskplane_cluster_runner_capacity', { cluster: 'default', group: 'default' })).toBe(CAPACITY);
    const load = total(families, 'taskplane_cluster_runner_load', { cluster: 'default' });
    expect(load).toBeGreaterThanOrEqual(0);
    expect(load).toBeLessThanOrEqual(CAPACITY);

    // This node's own figures.
    expect(total(families, 'taskplane_runner_capacity', { cluster: 'default', group: 'default' })).toBe(CAPACITY);
    expect(total(families, 'taskplane_runner_load')).toBe(0);
    expect(samples(families, 'taskplane_shard_up').map((s) => [s.labels.shard, s.value])).toEqual([['shard-0', 1], ['shard-1', 1], ['shard-2', 1]]);
    expect(samples(families, 'taskplane_node_info', { node: nodeId, roles: 'api,runner,scheduler,storage' })).toHaveLength(1);

    // prom-client's default process metrics ride along.
    expect(type('process_cpu_user_seconds_total')).toBe('counter');
    expect(type('nodejs_heap_size_used_bytes')).toBe('gauge');
    expect(text.split('\n').filter((line) => line.startsWith('# TYPE taskplane_runs_created_total'))).toHaveLength(1);
  });

  it('serves health and readiness beside metrics; /metrics answers only GET and HEAD', async () => {
    expect(await (await fetch(`http://${node.address}/healthz`)).json()).toEqual({ ok: true });
    const ready = await fetch(`http://${node.address}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ ok: true, embedded: false });
    expect((await fetch(`http://${node.address}/metrics`, { method: 'POST' })).status).toBe(405);
    expect((await fetch(`http://${node.address}/metrics`, { method: 'HEAD' })).status).toBe(200);
  });
});

describe('nodes without the api role', () => {
  const runnerNode = (listen?: string) =>
    createNode({
      node: { roles: ['runner'], ...(listen ? { listen } : {}), mongo: { shards: urls }, redis, runner: { poll_ms: 200, capacity: 3, cluster: 'default' } },
      handlers: { ok: () => 1 },
      logger: quiet,
    });

  it('serve /healthz, /readyz and /metrics (no GraphQL, no cluster-wide figures) when their listen address is set', async () => {
    const node = runnerNode('127.0.0.1:0');
    nodes.push(node);
    await node.start();
    expect(node.address).toMatch(/^127\.0\.0\.1:\d+$/);
    const base = `http://${node.address}`;
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ ok: true, embedded: false, roles: ['runner'], coordination: { ok: true } });
    expect((await fetch(`${base}/graphql`, { method: 'POST', body: '{}' })).status).toBe(404);

    const { families } = await scrape(node.address!);
    expect(total(families, 'taskplane_runner_capacity', { cluster: 'default' })).toBe(3);
    expect(samples(families, 'taskplane_shard_up')).toHaveLength(3);
    expect([...families.keys()].filter((name) => name.startsWith('taskplane_cluster_'))).toEqual([]);
  });

  it('start no HTTP server when no listen address was set, so several share a machine', async () => {
    const a = runnerNode();
    const b = runnerNode();
    nodes.push(a, b);
    await Promise.all([a.start(), b.start()]);
    expect(a.address).toBeNull();
    expect(b.address).toBeNull();
  });

  it('config tells a set listen address from the default', () => {
    expect(compileConfig({}).listen).toEqual({ host: '127.0.0.1', port: 4000, explicit: false });
    expect(compileConfig({ node: { listen: 9100 } }).listen).toEqual({ host: '127.0.0.1', port: 9100, explicit: true });
    expect(compileConfig({}, { env: { PORT: '9200' } }).listen).toMatchObject({ port: 9200, explicit: true });
    expect(compileConfig({ node: { roles: ['runner'] } }, { env: { TASKPLANE_LISTEN: '0.0.0.0:9300' } }).listen).toEqual({ host: '0.0.0.0', port: 9300, explicit: true });
    expect(loadConfig({ argv: [], env: {} }).listen.explicit).toBe(true); // the embedded default names its address
  });
});

describe('store metering when a shard dies', () => {
  it('counts the dead shard’s errors by operation and shard, and the unavailable shard of a cross-shard read', async () => {
    const ferret = await startFerretDb();
    const own = [...testMongoUrls('metrics_outage').slice(0, 2), withDatabase(ferret.url, 'tp_metrics_outage')];
    const metrics = new NodeMetrics({ nodeId: 'outage', roles: ['storage'], version: 'test' });
    const store = withMetrics(createTaskStore({ mongo: { shards: own, serverSelectionTimeoutMs: 800 } }), metrics);
    try {
      await store.start();
      const created = await store.createMany(Array.from({ length: 30 }, (_, i) => ({ funcName: 'mod.fn', args: [i] })));
      const onDead = created.find((c) => c.shard === 'shard-2');
      expect(onDead).toBeDefined();
      await ferret.kill('SIGKILL');

      await expect(store.get(onDead!.id)).rejects.toMatchObject({ code: 'SHARD_UNAVAILABLE' });
      expect((await store.statistics()).unavailable).toEqual(['shard-2']);

      const families = parsePrometheusText(await metrics.render());
      expect(total(families, 'taskplane_store_operation_errors_total', { operation: 'get', shard: 'shard-2', code: 'SHARD_UNAVAILABLE' })).toBe(1);
      expect(total(families, 'taskplane_store_operation_errors_total', { operation: 'statistics', shard: 'shard-2' })).toBe(1);
      expect(total(families, 'taskplane_store_operation_errors_total', { shard: 'shard-0' })).toBe(0);
      expect(total(families, 'taskplane_store_operation_duration_seconds_count', { operation: 'get', shard: 'shard-2' })).toBe(1);
      expect(total(families, 'taskplane_runs_created_total', { name: 'mod.fn' })).toBe(30);
    } finally {
      await store.close();
      await dropDatabases(own.slice(0, 2));
      await ferret.stop();
    }
  });
});
