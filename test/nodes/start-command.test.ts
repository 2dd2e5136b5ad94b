import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { trackChild } from '../services/child-registry.js';
import { freePort } from '../services/free-port.js';
import { projectRoot } from '../services/project-root.js';
import { eventually } from './cluster-fixture.js';

/** `npm start` as a newcomer runs it, and the refusals of bad config files. */

const stops: Array<() => void> = [];
afterAll(() => stops.forEach((stop) => stop()));

async function graphql(port: number, query: string): Promise<{ data?: Record<string, unknown>; errors?: unknown[] }> {
  const response = await fetch(`http://127.0.0.1:${port}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query }),
  });
  return (await response.json()) as { data?: Record<string, unknown> };
}

describe('npm start', () => {
  it('with no config starts the embedded node, answers GraphQL and completes example runs', async () => {
    const port = await freePort();
    const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port), TASKPLANE_LOG_LEVEL: 'warn' };
    delete env.TASKPLANE_CONFIG;
    const child = spawn('npm', ['start', '--silent'], { cwd: projectRoot, env, stdio: 'ignore', detached: true });
    trackChild(child);
    stops.push(() => {
      try {
        process.kill(-child.pid!, 'SIGTERM');
      } catch {
        // already gone
      }
    });
    const stats = await eventually(async () => {
      const answer = await graphql(port, '{ statistics { completed total } }');
      const statistics = answer.data?.statistics as { completed: number; total: number } | undefined;
      return statistics && statistics.completed > 0 ? statistics : undefined;
    }, 30_000, 'an example run to complete');
    expect(stats.total).toBeGreaterThanOrEqual(stats.completed);
    const started = await graphql(port, 'mutation { task { start(name: "say_hello", args: {name: "newcomer"}) } }');
    const id = (started.data?.task as { start: string } | undefined)?.start;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    const run = await eventually(async () => {
      const answer = await graphql(port, `{ task(id: "${id}") { status result } }`);
      const task = answer.data?.task as { status: string; result: unknown } | undefined;
      return task?.status === 'COMPLETED' ? task : undefined;
    }, 10_000, 'say_hello to complete');
    expect(JSON.stringify(run.result)).toContain('newcomer');
  }, 60_000);
});

describe('bad config', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tp-bad-config-'));
  writeFileSync(join(dir, 'mod.js'), 'export function fn() { return 1; }\n');
  const cases: Array<{ what: string; yaml: string; key: string; reason: RegExp }> = [
    { what: 'a bad cron', yaml: 'tasks:\n  t:\n    kind: periodical\n    func_name: mod.fn\n    schedule: "61 * * * * *"\nmodules:\n  mod: ./mod.js\n', key: 'tasks.t.schedule', reason: /not a valid cron/ },
    { what: 'an unknown kind', yaml: 'tasks:\n  t:\n    kind: sometimes\n    func_name: mod.fn\nmodules:\n  mod: ./mod.js\n', key: 'tasks.t.kind', reason: /kind must be one of/ },
    { what: 'a negative capacity', yaml: 'task_runner:\n  capacity: -1\n', key: 'task_runner.capacity', reason: /positive|at least/ },
    { what: 'a func_name whose module is not listed', yaml: 'tasks:\n  t:\n    kind: single_shot\n    func_name: other.fn\nmodules:\n  mod: ./mod.js\n', key: 'tasks.t.func_name', reason: /not listed under modules/ },
    { what: 'an unknown key', yaml: 'task_storage:\n  task_ttr: 60\n  colour: blue\n', key: 'task_storage', reason: /colour/ },
  ];
  for (const { what, yaml, key, reason } of cases) {
    it(`refuses ${what} with the file, the key and the reason, exit code 2`, () => {
      const file = join(dir, `${what.replace(/\W+/g, '-')}.yaml`);
      writeFileSync(file, yaml);
      const result = spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts', '--config', file], {
        cwd: projectRoot,
        encoding: 'utf8',
        timeout: 30_000,
      });
      expect(result.status, result.stderr).toBe(2);
      expect(result.stderr).toContain(file);
      expect(result.stderr).toContain(key);
      expect(result.stderr).toMatch(reason);
    });
  }
});
