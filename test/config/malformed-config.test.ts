import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { ConfigError, formatConfigError, loadConfig } from '../../src/config/index.js';
import { keyOf } from '../../src/config/config-schema.js';
import { trackChild } from '../services/child-registry.js';
import { projectRoot } from '../services/project-root.js';

/**
 * Malformed config files, generated: a valid file with one value made bad (wrong type, out of
 * range, unknown key, missing key, wrong section shape), written as block YAML, flow YAML or
 * JSON, must be refused by the loader with a `ConfigError` that names the file and exactly that
 * key — never accepted, never another kind of error. Random damage to the text (bytes cut,
 * inserted, replaced) must end in a config or a `ConfigError`, never a crash. YAML's own hazards
 * (alias bombs, nesting thousands deep, several documents, unknown tags) are refused the same
 * way, and a few real `node src/main.ts --config FILE` starts exit 2 with one readable paragraph.
 *
 * The single refusals with their exact messages are in load-config.test.ts and
 * ../nodes/start-command.test.ts; this file does not repeat them.
 * Reproduce: CONFIG_FUZZ_SEED=<seed> npx vitest run test/config/malformed-config.test.ts
 */

const SEED = Number(process.env.CONFIG_FUZZ_SEED ?? 20_240_816);
const root = mkdtempSync(join(tmpdir(), 'taskplane-malformed-'));
mkdirSync(join(root, 'tasks'));
writeFileSync(join(root, 'tasks', 'app.js'), 'export function reload() {}\nexport function flush() {}\nexport function metrics() {}\n');
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A config with every section and most keys set, all valid. */
const BASE = {
  tasks: {
    reload: { kind: 'periodical', func_name: 'app.reload', schedule: '*/5 * * * * *', time_to_resolve: 30, max_attempts: 3, delay: 5, delay_factor: 2, timeout: 600, priority: 1, cluster: 'default', tag: 'default', args: ['x'] },
    flush: { kind: 'single_shot', func_name: 'app.flush', args: { a: 1 } },
    metrics: { kind: 'continuous', func_name: 'app.metrics', pause_sec: 5 },
  },
  task_storage: { task_ttr: 60, task_log_max_size: 100 },
  task_runner: { capacity: 8 },
  node: {
    roles: ['api', 'runner'],
    listen: '127.0.0.1:4000',
    id: 'node-1',
    mongo: { shards: ['mongodb://a:27017/tp', 'mongodb://b:27017/tp'], buckets: 64 },
    redis: { url: 'redis://127.0.0.1:6379', prefix: 'tp:' },
    runner: { cluster: 'default', group: 'default', tags: ['gpu'], capacity: 4, poll_ms: 1000, drain_grace_ms: 1000, heartbeat_ms: 1000, allow_init_command: false, init_command_timeout_ms: 1000 },
    scheduler: { lease_ms: 5000 },
    storage: { lease_ms: 5000, sweep_every_ms: 1000, trim_every_ms: 10_000 },
    log_level: 'info',
    api: { auth: 'off', tokens: [{ name: 'ci', role: 'operator', sha256: 'a'.repeat(64) }], cors_origins: ['https://ops.example.com'], mutations_per_minute: 100 },
  },
  modules: { app: './tasks/app.js' },
};

type Path = ReadonlyArray<string | number>;

/** A string that is none of `valid` (random text, or one of the given near misses). */
const stringOtherThan = (valid: readonly string[], nearMisses: readonly string[]) =>
  fc.oneof(fc.constantFrom(...nearMisses), fc.string({ maxLength: 12 }).filter((s) => !valid.includes(s)));
/** Text with at least one character outside `[A-Za-z0-9_.:-]`, which no name, slug or tag allows. */
const notAName = fc.tuple(fc.string({ maxLength: 6 }), fc.constantFrom(' ', '!', '/', '\u0000', 'é', '"', '\n', '*'), fc.string({ maxLength: 6 })).map(([a, b, c]) => a + b + c);
const notPositive = fc.oneof(fc.constantFrom(0, -1), fc.integer({ max: 0 }), fc.double({ max: -0.001, noNaN: true, noDefaultInfinity: true }));
const notWhole = fc.double({ min: 0.01, max: 1000, noNaN: true }).filter((n) => !Number.isInteger(n));
const notANumber = fc.oneof(fc.string({ maxLength: 8 }), fc.boolean(), fc.constant([1]), fc.constant({ n: 1 }));
const badMs = fc.oneof(notPositive, notWhole, notANumber, fc.integer({ min: 24 * 3600 * 1000 + 1 }));
const badCount = fc.oneof(notPositive, notWhole, notANumber);

/** Keys made bad one at a time: where, and values that key must refuse. */
const BAD_VALUES: ReadonlyArray<readonly [Path, fc.Arbitrary<unknown>]> = [
  [['tasks', 'reload', 'kind'], fc.oneof(stringOtherThan(['periodical', 'continuous', 'single_shot'], ['hourly', 'PERIODICAL', 'single-shot', '']), fc.integer(), fc.constant(['periodical']))],
  [['tasks', 'reload', 'schedule'], fc.oneof(fc.constantFrom('61 * * * * *', '* * * * * * *', '*/0 * * * * *', '', '* * * 31 2 *', '1-2-3 * * * * *', 'L * * * * *', '@yearly'), fc.integer())],
  [['tasks', 'reload', 'func_name'], fc.oneof(fc.constantFrom('', 'reload', 'other.reload', 'app.', '.reload', 'app..reload'), fc.integer(), fc.constant(null))],
  [['tasks', 'reload', 'time_to_resolve'], fc.oneof(notPositive, notANumber, fc.constant(1e12))],
  [['tasks', 'reload', 'max_attempts'], fc.oneof(notPositive, notWhole, notANumber, fc.constant(10_000_000))],
  [['tasks', 'reload', 'delay'], fc.oneof(fc.integer({ max: -1 }), notANumber)],
  [['tasks', 'reload', 'delay_factor'], fc.oneof(fc.double({ min: -10, max: 0.99, noNaN: true }), fc.constant(101), notANumber)],
  [['tasks', 'reload', 'timeout'], fc.oneof(notPositive, notANumber, fc.constant(1e12))],
  [['tasks', 'reload', 'priority'], fc.oneof(notWhole, fc.constantFrom(2_000_000, -2_000_000), fc.string({ maxLength: 5 }))],
  [['tasks', 'reload', 'cluster'], fc.oneof(notAName, fc.constantFrom('', 'Default', 'x'.repeat(101)), fc.integer())],
  [['tasks', 'reload', 'tag'], fc.oneof(notAName, fc.constantFrom('', 'x'.repeat(101)))],
  [['tasks', 'metrics', 'pause_sec'], fc.oneof(fc.integer({ max: -1 }), notANumber, fc.constant(1e12))],
  [['tasks', 'flush', 'pause_sec'], fc.integer({ min: 0, max: 100 })],
  [['task_storage', 'task_ttr'], fc.oneof(notPositive, notANumber, fc.constant(1e12))],
  [['task_storage', 'task_log_max_size'], fc.oneof(fc.integer({ max: -1 }), notWhole, notANumber, fc.constant(2_000_000))],
  [['task_runner', 'capacity'], fc.oneof(badCount, fc.constant(100_001), fc.constant(null))],
  [['node', 'roles'], fc.oneof(fc.constant([]), fc.constant(['api', 'api']), fc.array(stringOtherThan(['api', 'scheduler', 'storage', 'runner'], ['cook', 'API', 'worker']), { minLength: 1, maxLength: 3 }), fc.constant('api'))],
  [['node', 'listen'], fc.oneof(fc.constantFrom('localhost:99999', 'nohost', ':4000', '1.2.3.4:', 'a b:80', '[::1]4000'), fc.constantFrom(70_000, -1, 1.5), fc.boolean())],
  [['node', 'id'], fc.oneof(notAName, fc.constantFrom('', '-lead', 'x'.repeat(201)), fc.integer())],
  [['node', 'mongo', 'shards'], fc.oneof(fc.constant([]), fc.constant(['http://a/tp']), fc.constant('mongodb://a/tp'), fc.constant(['mongodb://a/tp', 'mongodb://a/tp']), fc.constant(['mongodb://a b/tp']))],
  [['node', 'mongo', 'buckets'], fc.oneof(badCount, fc.constantFrom(1, 70_000))],
  [['node', 'redis', 'url'], fc.oneof(fc.constantFrom('http://r:6379', 'localhost:6379', 'redis://', ''), fc.integer())],
  [['node', 'redis', 'prefix'], fc.oneof(fc.constantFrom('', 'a b', 'x'.repeat(101)), fc.integer())],
  [['node', 'runner', 'cluster'], fc.oneof(notAName, fc.constantFrom('', 'Upper'))],
  [['node', 'runner', 'tags'], fc.oneof(fc.array(notAName, { minLength: 1, maxLength: 3 }), fc.constant('gpu'))],
  [['node', 'runner', 'capacity'], badCount],
  [['node', 'runner', 'poll_ms'], badMs],
  [['node', 'runner', 'heartbeat_ms'], badMs],
  [['node', 'runner', 'allow_init_command'], fc.constantFrom('yes', 'true', 1, 0, null)],
  [['node', 'scheduler', 'lease_ms'], badMs],
  [['node', 'storage', 'sweep_every_ms'], badMs],
  [['node', 'log_level'], stringOtherThan(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], ['loud', 'INFO', 'warning', ''])],
  [['node', 'api', 'auth'], fc.oneof(stringOtherThan(['auto', 'on', 'off'], ['maybe', 'true', 'ON']), fc.boolean())],
  [['node', 'api', 'tokens', 0, 'role'], stringOtherThan(['viewer', 'operator', 'admin'], ['root', 'Admin', ''])],
  [['node', 'api', 'tokens', 0, 'sha256'], fc.oneof(fc.constantFrom('abc', 'A'.repeat(64), 'g'.repeat(64), 'a'.repeat(65)), fc.integer())],
  [['node', 'api', 'tokens', 0, 'name'], fc.oneof(notAName, fc.constant(''))],
  [['node', 'api', 'cors_origins', 0], fc.constantFrom('ftp://x', 'https://x.example/path', '*', 'ops.example.com', '')],
  [['node', 'api', 'mutations_per_minute'], fc.oneof(badCount, fc.constant(2_000_000))],
  [['modules', 'app'], fc.oneof(fc.constantFrom('', './tasks/missing.js', './tasks'), fc.integer())],
];

/** Sections and objects where an unknown key can be slipped in. */
const OBJECTS: readonly Path[] = [[], ['tasks', 'reload'], ['task_storage'], ['task_runner'], ['node'], ['node', 'mongo'], ['node', 'redis'], ['node', 'runner'], ['node', 'scheduler'], ['node', 'storage'], ['node', 'api'], ['node', 'api', 'tokens', 0]];
/** Where a section of the wrong shape (a list, a number, a string) can go. */
const SECTIONS: readonly Path[] = [['tasks'], ['tasks', 'reload'], ['task_storage'], ['task_runner'], ['node'], ['node', 'runner'], ['node', 'mongo'], ['node', 'api'], ['modules']];

interface Case {
  readonly path: Path;
  /** The value put there, or `undefined` to delete the key. */
  readonly value: unknown;
  readonly format: 'block' | 'flow' | 'json';
}

const caseArbitrary: fc.Arbitrary<Case> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...BAD_VALUES).chain(([path, bad]) => bad.map((value) => ({ path, value }))) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.constantFrom(...OBJECTS), fc.oneof(fc.constantFrom('capcity', 'funcName', 'Roles', 'colour', '__proto__', 'constructor'), fc.stringMatching(/^[a-z][a-z_]{0,10}$/)), fc.jsonValue({ maxDepth: 2 }))
      // A key the object does not have; `pause_sec` is the one key BASE leaves out that a task may have.
      .filter(([object, key]) => key !== 'pause_sec' && !Object.hasOwn(at(BASE, object), key))
      .map(([object, key, value]) => ({ path: [...object, key], value })),
  },
  { weight: 1, arbitrary: fc.constantFrom<Path>(['tasks', 'reload', 'kind'], ['tasks', 'reload', 'func_name'], ['tasks', 'reload', 'schedule'], ['node', 'mongo', 'shards'], ['node', 'api', 'tokens', 0, 'sha256']).map((path) => ({ path, value: undefined })) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...SECTIONS), fc.constantFrom<unknown>([1, 2], 'text', 42, true)).map(([path, value]) => ({ path, value })) },
).chain((bad) => fc.constantFrom<Case['format']>('block', 'flow', 'json').map((format) => ({ ...bad, format })));

/** The key the refusal must name: the key itself, or for a key that was added, that key. */
function expectedKey({ path }: Case): string {
  return keyOf(path);
}

function at(config: object, path: Path): object {
  let target = config as Record<string | number, unknown>;
  for (const part of path) target = target[part] as Record<string | number, unknown>;
  return target;
}

function build({ path, value }: Case): Record<string, unknown> {
  const config = structuredClone(BASE) as Record<string, unknown>;
  const target = at(config, path.slice(0, -1)) as Record<string | number, unknown>;
  const last = path[path.length - 1]!;
  if (value === undefined) delete target[last];
  // defineProperty, so `__proto__` becomes a key like any other, as YAML's parser makes it.
  else Object.defineProperty(target, last, { value, enumerable: true, writable: true, configurable: true });
  return config;
}

function text(config: object, format: Case['format']): string {
  if (format === 'json') return `${JSON.stringify(config, null, 2)}\n`;
  return stringify(config, format === 'flow' ? { collectionStyle: 'flow' } : {});
}

let files = 0;
function write(contents: string | Buffer): string {
  const file = join(root, `case-${++files}.yaml`);
  writeFileSync(file, contents);
  return file;
}

const load = (file: string) => loadConfig({ argv: ['--config', file], env: {}, cwd: root });

/** Loads `file`; the answer is the config, or the ConfigError. Anything else thrown fails the test. */
function attempt(file: string): { config: ReturnType<typeof loadConfig> } | { error: ConfigError } {
  try {
    return { config: load(file) };
  } catch (error) {
    if (error instanceof ConfigError) return { error };
    throw new Error(`the loader crashed instead of refusing ${file}: ${(error as Error)?.stack ?? String(error)}`);
  }
}

/** A refusal a person can act on: names the file and the key, one paragraph, no stack. */
function expectReadable(error: ConfigError, file: string, key?: string): void {
  expect(error.file).toBe(file);
  // That key, or one inside it (`node.mongo.shards[0]` for a bad entry of `node.mongo.shards`).
  if (key !== undefined && error.key !== key) expect(error.key.startsWith(`${key}[`) || error.key.startsWith(`${key}.`), `${error.key} is not ${key}`).toBe(true);
  const paragraph = formatConfigError(error);
  expect(paragraph).toContain(file);
  expect(paragraph).toContain(error.key);
  expect(paragraph).not.toMatch(/\n|\bat \S+ \(|\.ts:\d/);
}

describe('malformed config files are refused at start', () => {
  it('the base config the cases start from is valid', () => {
    for (const format of ['block', 'flow', 'json'] as const) {
      const config = load(write(text(BASE, format)));
      expect(config.tasks.map((task) => task.name)).toEqual(['reload', 'flush', 'metrics']);
    }
  });

  it(`generated: one bad value, key or section → a ConfigError naming the file and that key (seed ${SEED})`, () => {
    console.log(`[config fuzz] seed ${SEED} (CONFIG_FUZZ_SEED=${SEED} to replay)`);
    const seen = new Set<string>();
    fc.assert(
      fc.property(caseArbitrary, (bad) => {
        // JSON has no .inf or .nan; YAML writes them.
        fc.pre(bad.format !== 'json' || JSON.stringify(bad.value) !== 'null' || bad.value === null);
        const file = write(text(build(bad), bad.format));
        const result = attempt(file);
        if ('config' in result) throw new Error(`accepted ${expectedKey(bad)} = ${JSON.stringify(bad.value)} (${bad.format})`);
        expectReadable(result.error, file, expectedKey(bad));
        seen.add(result.error.key);
      }),
      { seed: SEED, numRuns: 400 },
    );
    console.log(`[config fuzz] 400 bad files refused, naming ${seen.size} different keys`);
  });

  it(`generated: damaged text loads or is refused with the file named, never crashes (seed ${SEED})`, () => {
    const valid = text(BASE, 'block');
    const edit = fc.record({ at: fc.nat({ max: valid.length }), cut: fc.nat({ max: 20 }), insert: fc.string({ unit: 'binary', maxLength: 6 }) });
    let refused = 0;
    fc.assert(
      fc.property(fc.array(edit, { minLength: 1, maxLength: 4 }), (edits) => {
        let damaged = valid;
        for (const { at, cut, insert } of edits) damaged = damaged.slice(0, at) + insert + damaged.slice(at + cut);
        const file = write(damaged);
        const result = attempt(file);
        if ('error' in result) {
          refused++;
          expectReadable(result.error, file);
        }
      }),
      { seed: SEED, numRuns: 300 },
    );
    console.log(`[config fuzz] 300 damaged files: ${refused} refused, ${300 - refused} still valid`);
    expect(refused).toBeGreaterThan(150);
  });

  // YAML's own hazards; the loader used to crash on the alias bomb (toJS threw a ReferenceError).
  const laughs = 'a: &a [x, x, x, x, x, x, x, x, x]\n' + 'bcdefghi'.split('').map((name, i) => `${name}: &${name} [${Array(9).fill(`*${'abcdefghi'[i]}`).join(', ')}]`).join('\n') + '\n';
  interface Hazard {
    readonly what: string;
    readonly contents: string | Buffer;
    /** The key the refusal names. */
    readonly key: RegExp;
    readonly reason?: RegExp;
  }
  const hazards: readonly Hazard[] = [
    { what: 'an alias bomb (billion laughs)', contents: laughs, key: /^\(yaml\)$/, reason: /aliases \(\*name\) expand to too many values/ },
    // The parser runs out of stack; the reason says what that means, not "Maximum call stack size exceeded".
    { what: 'lists nested 20,000 deep', contents: `tasks: ${'['.repeat(20_000)}${']'.repeat(20_000)}\n`, key: /^line 1$/, reason: /nests too deeply/ },
    { what: 'maps nested 5,000 deep', contents: `node: ${'{a: '.repeat(5000)}1${'}'.repeat(5000)}\n`, key: /^line 1$/, reason: /nests too deeply/ },
    { what: 'two documents', contents: 'node: {}\n---\ntasks: {}\n', key: /^line \d+$/ },
    { what: 'tab indentation', contents: 'node:\n\troles: [api]\n', key: /^line 2$/ },
    { what: 'an unknown tag', contents: 'node: !include other.yaml\n', key: /^line 1$/ },
    { what: 'a __proto__ key', contents: 'node:\n  __proto__:\n    roles: [runner]\n', key: /^node\.__proto__$/ },
    { what: 'a merge key', contents: 'defaults: &d { roles: [api] }\nnode:\n  <<: *d\n', key: /^(defaults|node\."<<")$/ },
    { what: 'a list at the top', contents: '- node\n- tasks\n', key: /^\(top level\)$/ },
    { what: 'invalid UTF-8 and NUL in a value', contents: Buffer.from('node:\n  id: "a\u0000b\xc3\x28"\n', 'latin1'), key: /^node\.id$/ },
  ];
  it.each(hazards)('$what → refused with the file and where', ({ what, contents, key, reason }) => {
    const file = write(contents);
    const started = Date.now();
    const result = attempt(file);
    expect(Date.now() - started).toBeLessThan(2000);
    if ('config' in result) throw new Error(`accepted ${what}`);
    expectReadable(result.error, file);
    expect(result.error.key).toMatch(key);
    if (reason) expect(result.error.reason).toMatch(reason);
  });

  /** `node src/main.ts --config FILE`, as node-process.ts starts nodes: exit status and what it printed. */
  function start(file: string): Promise<{ code: number | null; stderr: string; stdout: string }> {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', '--config', file], {
      cwd: projectRoot,
      env: { ...process.env, TASKPLANE_LOG_LEVEL: 'info', NODE_OPTIONS: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    trackChild(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    return new Promise((resolve) => child.once('exit', (code) => (clearTimeout(timer), resolve({ code, stderr, stdout }))));
  }

  it('a real node start with a broken file exits 2 with one readable paragraph naming the file and the key', async () => {
    const broken: ReadonlyArray<readonly [string, string]> = [
      [laughs, '(yaml)'],
      [`tasks: ${'['.repeat(20_000)}${']'.repeat(20_000)}\n`, 'line 1'],
      [text(build({ path: ['node', 'api', 'tokens', 0, 'role'], value: 'root', format: 'block' }), 'block'), 'node.api.tokens[0].role'],
      [text(build({ path: ['node', 'runner', 'poll_ms'], value: 0.5, format: 'flow' }), 'flow'), 'node.runner.poll_ms'],
    ];
    const files = broken.map(([contents]) => write(contents));
    const results = await Promise.all(files.map(start));
    results.forEach((result, i) => {
      const [, key] = broken[i]!;
      expect(result.code, result.stderr).toBe(2);
      expect(result.stderr).toMatch(/^Taskplane cannot start: bad config at /);
      expect(result.stderr).toContain(files[i]!);
      expect(result.stderr).toContain(key);
      // One paragraph: no stack trace, no second line.
      expect(result.stderr.trim()).not.toContain('\n');
      expect(result.stdout).not.toContain('node started');
    });
  }, 60_000);
});
