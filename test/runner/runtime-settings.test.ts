import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileConfig, ConfigError } from '../../src/config/index.js';
import { nonJsonProblem } from '../../src/core/json-check.js';
import { openHarness, type Harness } from '../api/harness.js';
import { BAD_MODULE } from './runtime-stand.js';

/**
 * Where runtimes and run timeouts are set: the config file (per task, `task_runner`, `node.runner`),
 * GraphQL definitions and `task.create` options; and the JSON rule results are held to.
 */

function refusal(raw: object, handlerNames: string[] = []): string {
  try {
    compileConfig(raw, { handlerNames });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).message;
  }
  return expect.fail('expected a ConfigError');
}

describe('runtime settings in the config file', () => {
  it('defaults to inline, one hour, a 5 s abort grace and two warm children', () => {
    expect(compileConfig({}).runner).toMatchObject({ runtime: 'inline', runTimeout: 3600, abortGraceMs: 5000, processPoolSize: 2 });
  });

  it('reads task_runner and node.runner, and each task\'s runtime and run_timeout', () => {
    const config = compileConfig({
      task_runner: { runtime: 'process', run_timeout: 90 },
      node: { runner: { abort_grace_ms: 1500, process_pool_size: 0 } },
      tasks: { t: { kind: 'single_shot', func_name: 'bad.pid', runtime: 'inline', run_timeout: 2.5 } },
      modules: { bad: BAD_MODULE },
    });
    expect(config.runner).toMatchObject({ runtime: 'process', runTimeout: 90, abortGraceMs: 1500, processPoolSize: 0 });
    expect(config.tasks[0]).toMatchObject({ runtime: 'inline', runTimeout: 2.5 });
  });

  it('refuses bad values, naming the key', () => {
    expect(refusal({ task_runner: { runtime: 'thread' } })).toBe("built-in default config: task_runner.runtime: must be one of 'inline', 'process'");
    expect(refusal({ task_runner: { run_timeout: 0 } })).toBe('built-in default config: task_runner.run_timeout: must be a positive number of seconds');
    expect(refusal({ node: { runner: { abort_grace_ms: -1 } } })).toBe('built-in default config: node.runner.abort_grace_ms: abort_grace_ms must be positive');
    const task = (extra: object) => ({ tasks: { t: { kind: 'single_shot', func_name: 'bad.pid', ...extra } }, modules: { bad: BAD_MODULE } });
    expect(refusal(task({ runtime: 'fork' }))).toBe("built-in default config: tasks.t.runtime: must be one of 'inline', 'process'");
    expect(refusal(task({ run_timeout: -5 }))).toBe('built-in default config: tasks.t.run_timeout: runTimeout must not be negative');
    expect(refusal(task({ run_timeout: 0 }))).toBe('built-in default config: tasks.t.run_timeout: runTimeout must be positive');
  });

  it('refuses runtime: process for a handler given in code, which no child can load', () => {
    expect(refusal({ tasks: { t: { kind: 'single_shot', func_name: 'inCode', runtime: 'process' } } }, ['inCode'])).toBe(
      "built-in default config: tasks.t.runtime: runtime 'process' loads handlers only from modules listed under modules:, and 'inCode' is a handler given in code; use runtime: inline or move it into a module",
    );
    expect(compileConfig({ tasks: { t: { kind: 'single_shot', func_name: 'inCode', runtime: 'inline' } } }, { handlerNames: ['inCode'] }).tasks).toHaveLength(1);
  });
});

describe('runtime settings through GraphQL', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await openHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  it('defines, reads, patches and resets a definition\'s runtime and runTimeout, and launches runs with them', async () => {
    const defined = await h.gql(`mutation { task { define(input: { name: "iso", kind: SINGLE_SHOT, funcName: "bad.pid", runtime: PROCESS, runTimeout: 12.5 }) { runtime runTimeout } } }`);
    expect(defined.errors).toBeUndefined();
    expect(defined.data?.['task']['define']).toEqual({ runtime: 'PROCESS', runTimeout: 12.5 });
    const started = await h.gql(`mutation { task { start(name: "iso") } }`);
    const run = await h.deps.store.get(started.data?.['task']['start']);
    expect(run).toMatchObject({ runtime: 'process', runTimeout: 12.5 });

    const overridden = await h.gql(`mutation { task { start(name: "iso", options: { runtime: INLINE, runTimeout: 3 }) } }`);
    expect(await h.deps.store.get(overridden.data?.['task']['start'])).toMatchObject({ runtime: 'inline', runTimeout: 3 });

    const patched = await h.gql(`mutation { task { update(name: "iso", patch: { runtime: null, runTimeout: 60 }) { runtime runTimeout } } }`);
    expect(patched.data?.['task']['update']).toEqual({ runtime: null, runTimeout: 60 });
  });

  it('takes runtime and runTimeout as task.create options and shows them on the run', async () => {
    const created = await h.gql(`mutation { task { create(funcName: "bad.pid", options: { runtime: PROCESS, runTimeout: 0.5 }) } }`);
    const id = created.data?.['task']['create'];
    const read = await h.gql(`query($id: ID!) { task(id: $id) { runtime runTimeout } }`, { id });
    expect(read.data?.['task']).toEqual({ runtime: 'PROCESS', runTimeout: 0.5 });
    const plain = await h.gql(`mutation { task { create(funcName: "bad.pid") } }`);
    const readPlain = await h.gql(`query($id: ID!) { task(id: $id) { runtime runTimeout } }`, { id: plain.data?.['task']['create'] });
    expect(readPlain.data?.['task']).toEqual({ runtime: null, runTimeout: null });
  });

  it('refuses a runtime that does not exist and a run timeout that is not positive', async () => {
    const unknown = await h.gql(`mutation { task { create(funcName: "bad.pid", options: { runtime: THREAD }) } }`);
    expect(unknown.errors?.[0]?.message).toMatch(/Value "THREAD" does not exist in "HandlerRuntime" enum/);
    const zero = await h.gql(`mutation { task { create(funcName: "bad.pid", options: { runTimeout: 0 }) } }`);
    expect(zero.errors?.[0]).toMatchObject({ message: 'run.runTimeout: runTimeout must be positive', extensions: { code: 'BAD_USER_INPUT' } });
  });
});

describe('what counts as a JSON result', () => {
  it('names the first value JSON cannot keep, with its path', () => {
    expect(nonJsonProblem({ a: [1, { 'odd key': 10n }] })).toBe('BigInt at $.a[1]["odd key"]');
    expect(nonJsonProblem(Infinity)).toBe('Infinity at $');
    expect(nonJsonProblem(new Uint8Array(2))).toBe('Uint8Array at $');
    expect(nonJsonProblem({ at: { toJSON: () => { throw new Error('nope'); } } })).toBe('toJSON() threw (nope) at $.at');
    const deep: Record<string, unknown> = {};
    let cursor = deep;
    for (let i = 0; i < 100_000; i++) cursor = cursor['n'] = {};
    expect(nonJsonProblem(deep)).toBeNull();
  });

  it('accepts what JSON keeps whole, shared references included', () => {
    const shared = { x: 1 };
    expect(nonJsonProblem({ a: shared, b: shared, c: [undefined, null], d: undefined, e: new Date(0), f: 'text', g: -0, h: true })).toBeNull();
  });
});
