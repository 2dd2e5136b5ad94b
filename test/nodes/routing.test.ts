import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { Run } from '../../src/core/types.js';
import { trackChild } from '../services/child-registry.js';
import { projectRoot } from '../services/project-root.js';
import { ClusterFixture, eventually } from './cluster-fixture.js';

/**
 * Routing across real runner processes (3 FerretDB shards, Redis): tags, dynamic tags, a worker
 * group's config followed without a restart, the cluster check and the init command at start.
 *
 * Nodes: `api` (api role only), and runners of the default cluster, all with the same handlers:
 * - `runner-gpu`: WORKER_TAGS gpu, normal-eu (group `default`, no stored config);
 * - `runner-plain`: group `plain`, no tags of its own; the group names an init command that this
 *   runner may not run;
 * - `runner-flex`: group `flex`, allowed to run init commands; the group's config changes while
 *   it runs.
 * Two more start and must stop: one of an unknown cluster, one whose init command fails.
 */

const fixture = new ClusterFixture('routing');
let graphqlUrl = '';

async function gql<T = Record<string, any>>(query: string, variables?: Record<string, unknown>): Promise<T> {
  const response = await fetch(graphqlUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query, variables }),
  });
  const answer = (await response.json()) as { data?: T; errors?: unknown[] };
  if (answer.errors) throw new Error(`GraphQL errors: ${JSON.stringify(answer.errors)}`);
  return answer.data!;
}

const putGroup = (input: Record<string, unknown>) =>
  gql('mutation ($input: WorkerGroupInput!) { workerGroup { put(input: $input) { name } } }', { input });

/** Starts a node that is expected to stop by itself; resolves with its exit code and output. */
async function runUntilExit(name: string, node: Record<string, unknown>, env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const configFile = fixture.file(`${name}.yaml`);
  writeFileSync(configFile, stringify(fixture.config({ id: name, ...node })));
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', '--config', configFile], {
    cwd: projectRoot,
    env: { ...process.env, TASKPLANE_LOG_LEVEL: 'info', ...env, NODE_OPTIONS: '' },
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

async function waitDone(id: string, what: string): Promise<Run> {
  const run = await fixture.store.wait(id, 15_000);
  expect(run.status, `${what}: ${JSON.stringify(run)}`).toBe('completed');
  return run;
}

/** Holds when the run is still pending after `ms`. */
async function staysPending(id: string, ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
  expect((await fixture.store.get(id))?.status).toBe('pending');
}

async function waitingReason(id: string): Promise<string | null> {
  return (await gql<{ task: { waitingReason: string | null } }>(`{ task(id: "${id}") { waitingReason } }`)).task.waitingReason;
}

let unknownCluster: Promise<{ code: number | null; stdout: string; stderr: string }>;
let failingInit: Promise<{ code: number | null; stdout: string; stderr: string }>;

beforeAll(async () => {
  await fixture.start();
  const api = await fixture.startNode('api', { roles: ['api'], listen: '127.0.0.1:0' });
  graphqlUrl = api.graphqlUrl();
  await putGroup({ name: 'plain', initCommand: 'echo plain-init-ran' });
  await putGroup({ name: 'flex', initCommand: 'echo "flex init $((6 * 7))"' });
  await putGroup({ name: 'broken', initCommand: 'echo about to fail; exit 3' });
  // The two that must stop start beside the others; their outcome is checked in their own tests.
  unknownCluster = runUntilExit('runner-lost', { roles: ['runner'] }, { RUNNER_CLUSTER: 'no-such-cluster' });
  failingInit = runUntilExit('runner-broken', { roles: ['runner'], runner: { group: 'broken', allow_init_command: true } });
  await Promise.all([
    fixture.startNode('runner-gpu', { roles: ['runner'], runner: { tags: ['gpu', 'normal-eu'] } }),
    fixture.startNode('runner-plain', { roles: ['runner'], runner: { group: 'plain' } }),
    fixture.startNode('runner-flex', { roles: ['runner'], runner: { group: 'flex', allow_init_command: true } }),
  ]);
  // Every runner has registered, so no claim below races a runner still starting.
  await eventually(async () => {
    const { runners } = await gql<{ runners: Array<{ id: string }> }>('{ runners { id } }');
    return runners.length === 3 ? true : undefined;
  }, 15_000, 'three registered runners');
}, 120_000);

afterAll(async () => {
  await Promise.allSettled([unknownCluster, failingInit]);
  await fixture.close();
}, 60_000);

describe('routing across runner processes', () => {
  it('gives a gpu run only to the runner with the gpu tag; the other runner with the handler stays idle', async () => {
    const file = fixture.file('gpu.log');
    const created = await fixture.store.createMany(Array.from({ length: 4 }, () => ({ funcName: 'handlers.touch', tag: 'gpu', args: { file } })));
    for (const { id } of created) expect((await waitDone(id, 'gpu run')).runner).toBe('runner-gpu');
    expect((await fixture.store.select({ runner: 'runner-plain' })).runs).toEqual([]);
    const { runners } = await gql<{ runners: Array<{ id: string; tags: string[] }> }>('{ runners { id tags } }');
    expect(runners).toEqual([
      { id: 'runner-flex', tags: ['default'] },
      { id: 'runner-gpu', tags: ['gpu', 'normal-eu', 'default'] },
      { id: 'runner-plain', tags: ['default'] },
    ]);
  });

  it('routes by a dynamic tag: normal-$args[region] with eu runs on the normal-eu runner, with us waits and says why', async () => {
    await gql('mutation { task { define(input: {name: "regional", kind: SINGLE_SHOT, funcName: "handlers.touch", tag: "normal-$args[region]"}) { name } } }');
    const start = (region: string) =>
      gql<{ task: { start: string } }>('mutation ($args: JSON) { task { start(name: "regional", args: $args) } }', {
        args: { region, file: fixture.file('regional.log') },
      });
    const eu = (await start('eu')).task.start;
    const us = (await start('us')).task.start;
    const done = await waitDone(eu, 'eu run');
    expect(done).toMatchObject({ tag: 'normal-eu', runner: 'runner-gpu' });
    expect((await fixture.store.get(us))?.tag).toBe('normal-us');
    await staysPending(us, 2000);
    expect(await waitingReason(us)).toMatch(
      /^no live runner in cluster default with handler handlers\.touch listens to tag normal-us \(they listen to: default, gpu, normal-eu\)/,
    );
    await fixture.store.stop(us);
  });

  it('re-routes a running runner within seconds when its group\'s config changes', async () => {
    const file = fixture.file('flex.log');
    await putGroup({ name: 'flex', tags: ['x'], initCommand: 'echo "flex init $((6 * 7))"' });
    const x1 = await fixture.store.create({ funcName: 'handlers.touch', tag: 'x', args: { file } });
    expect((await waitDone(x1.id, 'x run')).runner).toBe('runner-flex');

    await putGroup({ name: 'flex', tags: ['y'] });
    const y = await fixture.store.create({ funcName: 'handlers.touch', tag: 'y', args: { file } });
    expect((await waitDone(y.id, 'y run')).runner).toBe('runner-flex');
    const x2 = await fixture.store.create({ funcName: 'handlers.touch', tag: 'x', args: { file } });
    await staysPending(x2.id, 3000);
    // The heartbeat shows the new tags, so the api explains the wait.
    await eventually(async () => (/listens to tag x \(they listen to: default, gpu, normal-eu, y\)/.test((await waitingReason(x2.id)) ?? '') ? true : undefined), 10_000, 'the waiting reason to name tag x');
    await fixture.store.stop(x2.id);
    // Only the start ran the init command, however often the config changed.
    expect(fixture.node('runner-flex').logs().match(/"line":"flex init 42"/g)).toHaveLength(1);
  });

  it('stops a runner of an unknown cluster at start, naming the cluster and the existing ones', async () => {
    const { code, stderr } = await unknownCluster;
    expect(code, stderr).toBe(2);
    expect(stderr).toContain(
      "taskplane: node failed to start: runner cluster 'no-such-cluster' (RUNNER_CLUSTER or node.runner.cluster) does not exist; existing clusters: default.",
    );
  });

  it('runs the init command once before claiming when allowed, skips it when not, and stops the runner when it fails', async () => {
    const flex = fixture.node('runner-flex').logs();
    expect(flex.indexOf('"line":"flex init 42"')).toBeGreaterThan(-1);
    expect(flex.indexOf('"line":"flex init 42"')).toBeLessThan(flex.indexOf('"msg":"runner started"'));

    const plain = fixture.node('runner-plain').logs();
    expect(plain).not.toContain('plain-init-ran');
    expect(plain).toMatch(/"level":40,.*"msg":"worker group 'plain' names an init command, but this runner's config does not allow init commands \(node\.runner\.allow_init_command \/ RUNNER_ALLOW_INIT_COMMAND is false\); skipped it"/);

    const { code, stdout, stderr } = await failingInit;
    expect(code, stderr).toBe(1);
    expect(stdout).toContain('"line":"about to fail"');
    expect(stderr).toContain(
      "taskplane: node failed to start: init command of worker group 'broken' exited with code 3 (command: echo about to fail; exit 3). Last output:\n  about to fail\nThe runner stops.",
    );
  });
});
