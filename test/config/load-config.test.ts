import { existsSync, mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, formatConfigError, loadConfig } from '../../src/config/index.js';
import type { Handler, HandlerContext } from '../../src/core/handler.js';

// Pure: temp files only, no services.
const root = mkdtempSync(join(tmpdir(), 'taskplane-config-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let dirs = 0;
/** Writes `yaml` as config.yaml in a fresh directory with ./tasks/my_module.js beside it. */
function configFile(yaml: string): string {
  const dir = join(root, `case-${++dirs}`);
  mkdirSync(join(dir, 'tasks'), { recursive: true });
  writeFileSync(join(dir, 'tasks', 'my_module.js'), 'export function cache_reload() { return null; }\n');
  const file = join(dir, 'config.yaml');
  writeFileSync(file, yaml);
  return file;
}

const load = (file: string, env: NodeJS.ProcessEnv = {}) => loadConfig({ argv: ['--config', file], env, cwd: root });

const TARANTOOL = `
tasks:
  my_reload:
    kind: periodical
    func_name: my_module.cache_reload
    schedule: "*/5 * * * * *"
    time_to_resolve: 180
  my_flush:
    kind: single_shot
    func_name: my_module.cache_flush
    args: [some_string1, some_string2]
  push_metrics:
    kind: continuous
    func_name: my_module.push_metrics
    pause_sec: 30
task_storage:
  task_ttr: 60            # default time_to_resolve
  task_log_max_size: 100  # finished runs kept per task name per shard
task_runner:
  capacity: 128
`;
const MODULES = `
modules:
  my_module: ./tasks/my_module.js            # relative to this file
`;
const NODE = `
node:
  roles: [api, scheduler, storage, runner]   # TASKPLANE_ROLES=api,runner
  listen: 127.0.0.1:4000                     # PORT=4000 overrides the port
  mongo:                                     # omitted → embedded storage
    shards: [mongodb://a:27017/taskplane, mongodb://b:27017/taskplane]   # TASKPLANE_MONGO_URLS
    buckets: 1024
  redis: redis://127.0.0.1:6379              # omitted → in-process bus; TASKPLANE_REDIS_URL
  runner:
    cluster: default                         # RUNNER_CLUSTER
    group: default                           # WORKER_GROUP
    tags: [gpu]                              # WORKER_TAGS=gpu,highmem
`;

/** Runs `fn`, expects a ConfigError, and returns it. */
function refusal(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    const e = error as ConfigError;
    expect(e.code).toBe('CONFIG_INVALID');
    const where = e.file ?? (e.key.startsWith('--') ? 'command line' : 'environment');
    expect(e.message).toBe(`${where}: ${e.key}: ${e.reason}`);
    return e;
  }
  throw new Error('expected a ConfigError, but the config loaded');
}

describe('loadConfig: files', () => {
  it('accepts the Tarantool YAML as it is (plus modules:)', () => {
    const file = configFile(TARANTOOL + MODULES);
    const config = load(file);
    expect(config.file).toBe(file);
    expect(config.tasks).toEqual([
      { name: 'my_reload', kind: 'periodical', funcName: 'my_module.cache_reload', schedule: '*/5 * * * * *', timeToResolve: 180 },
      { name: 'my_flush', kind: 'single_shot', funcName: 'my_module.cache_flush', args: ['some_string1', 'some_string2'] },
      { name: 'push_metrics', kind: 'continuous', funcName: 'my_module.push_metrics', pauseSec: 30 },
    ]);
    expect(config.runDefaults).toEqual({ timeToResolve: 60, timeout: 21600, maxAttempts: 1, delay: 60, delayFactor: 1 });
    expect(config.storage.taskLogMaxSize).toBe(100);
    expect(config.runner.capacity).toBe(128);
    expect(config.modules).toEqual({ my_module: join(file, '..', 'tasks', 'my_module.js') });
    // Node defaults: a whole single-node Taskplane on embedded storage.
    expect(config.roles).toEqual(['api', 'scheduler', 'storage', 'runner']);
    expect(config.listen).toEqual({ host: '127.0.0.1', port: 4000, explicit: false });
    expect(config.mongo).toBeNull();
    expect(config.redis).toBeNull();
    expect(config.runner).toMatchObject({ cluster: 'default', group: 'default', tags: ['default'], pollMs: 1000, drainGraceMs: 10000, heartbeatMs: 2000 });
    expect(config.scheduler.leaseMs).toBe(5000);
    expect(config.storage).toMatchObject({ leaseMs: 10000, sweepEveryMs: 1000, trimEveryMs: 10000 });
    expect(config.logLevel).toBe('info');
    expect(config.nodeId).toMatch(new RegExp(`-${process.pid}-[0-9a-z]{4}$`));
    expect(Object.isFrozen(config) && Object.isFrozen(config.runner.tags) && Object.isFrozen(config.tasks[1]?.args)).toBe(true);
  });

  it('compiles the full example with node:', () => {
    writeFileSync(join(root, 'x.js'), 'export {};\n');
    const config = load(configFile(`${TARANTOOL}${NODE}${MODULES}  other: ${join(root, 'x.js')}   # absolute\n`));
    expect(config.mongo).toEqual({ shards: ['mongodb://a:27017/taskplane', 'mongodb://b:27017/taskplane'], buckets: 1024 });
    expect(config.redis).toEqual({ url: 'redis://127.0.0.1:6379', prefix: 'taskplane:' });
    expect(config.runner.tags).toEqual(['gpu', 'default']);
    expect(config.modules.other).toBe(join(root, 'x.js'));
  });

  it('compiles every node: key, with units and the short forms', () => {
    const config = load(
      configFile(`
task_storage: { task_ttr: 90 }
task_runner: { capacity: 4 }
node:
  roles: [runner]
  listen: 8080
  id: box-1
  mongo: { shards: ["mongodb+srv://c.example.net/tp"] }
  redis: { url: "rediss://r:6380", prefix: "tp:" }
  runner: { cluster: gpu-x1, group: night, tags: [default, big], capacity: 8, poll_ms: 250, drain_grace_ms: 3000, heartbeat_ms: 500 }
  scheduler: { lease_ms: 7000 }
  storage: { lease_ms: 20000, sweep_every_ms: 500, trim_every_ms: 60000 }
  log_level: debug
`),
    );
    expect(config).toMatchObject({
      roles: ['runner'],
      listen: { host: '127.0.0.1', port: 8080 },
      nodeId: 'box-1',
      mongo: { shards: ['mongodb+srv://c.example.net/tp'], buckets: 1024 },
      redis: { url: 'rediss://r:6380', prefix: 'tp:' },
      runner: { cluster: 'gpu-x1', group: 'night', tags: ['default', 'big'], capacity: 8, pollMs: 250, drainGraceMs: 3000, heartbeatMs: 500 },
      scheduler: { leaseMs: 7000 },
      storage: { leaseMs: 20000, sweepEveryMs: 500, trimEveryMs: 60000 },
      runDefaults: { timeToResolve: 90 },
      logLevel: 'debug',
      tasks: [],
    });
  });

  it('finds the file by --config=FILE, by TASKPLANE_CONFIG, and relative to cwd', () => {
    const file = configFile(TARANTOOL + MODULES);
    expect(loadConfig({ argv: [`--config=${file}`], env: {} }).file).toBe(file);
    expect(loadConfig({ argv: [], env: { TASKPLANE_CONFIG: file } }).file).toBe(file);
    expect(loadConfig({ argv: ['--config', 'config.yaml'], env: {}, cwd: join(file, '..') }).file).toBe(file);
  });

  it('lets the environment win over the file', () => {
    const config = load(configFile(TARANTOOL + NODE + MODULES), {
      TASKPLANE_ROLES: 'api,runner',
      TASKPLANE_LISTEN: '0.0.0.0:4100',
      PORT: '5000',
      TASKPLANE_MONGO_URLS: 'mongodb://x:1/t, mongodb://y:2/t,mongodb://z:3/t',
      TASKPLANE_BUCKETS: '64',
      TASKPLANE_REDIS_URL: 'redis://other:6379/2',
      TASKPLANE_REDIS_PREFIX: 'blue:',
      TASKPLANE_NODE_ID: 'node-7',
      RUNNER_CLUSTER: 'fast-abc123',
      WORKER_GROUP: 'batch',
      WORKER_TAGS: 'gpu,highmem',
      RUNNER_CAPACITY: '16',
      TASKPLANE_LOG_LEVEL: 'warn',
      // Listening beyond loopback turns auth on unless said otherwise; there are no tokens here.
      TASKPLANE_AUTH: 'off',
      PATH: '/usr/bin',
    });
    expect(config).toMatchObject({
      roles: ['api', 'runner'],
      listen: { host: '0.0.0.0', port: 5000 },
      mongo: { shards: ['mongodb://x:1/t', 'mongodb://y:2/t', 'mongodb://z:3/t'], buckets: 64 },
      redis: { url: 'redis://other:6379/2', prefix: 'blue:' },
      nodeId: 'node-7',
      runner: { cluster: 'fast-abc123', group: 'batch', tags: ['gpu', 'highmem', 'default'], capacity: 16 },
      api: { auth: false },
      logLevel: 'warn',
    });
  });

  it('starts the embedded default with no file, and its examples module exists', async () => {
    const config = loadConfig({ argv: [], env: {}, cwd: root });
    expect(config).toMatchObject({ file: null, baseDir: root, mongo: null, redis: null, listen: { host: '127.0.0.1', port: 4000 } });
    expect(config.roles).toEqual(['api', 'scheduler', 'storage', 'runner']);
    expect(config.tasks.map((t) => [t.name, t.kind, t.funcName])).toEqual([
      ['heartbeat', 'periodical', 'examples.heartbeat'],
      ['poll_queue', 'continuous', 'examples.poll_queue'],
      ['say_hello', 'single_shot', 'examples.say_hello'],
    ]);
    expect(config.tasks[0]?.schedule).toBe('*/5 * * * * *');
    expect(config.tasks[1]?.pauseSec).toBe(3);
    const path = config.modules.examples ?? '';
    expect(existsSync(path)).toBe(true);

    // Every example task's handler is exported, and they behave as documented.
    const handlers = (await import(pathToFileURL(path).href)) as Record<string, Handler>;
    for (const task of config.tasks) expect(typeof handlers[task.funcName.split('.')[1] ?? '']).toBe('function');
    const abort = new AbortController();
    const ctx: HandlerContext = { signal: abort.signal, runId: 'r', attempt: 1, name: 'n', jobId: 'r', log: { info() {}, warn() {}, error() {} }, inputs: {}, spawn: () => 'spawn:0' };
    expect(await handlers.say_hello?.(['Ada'], ctx)).toEqual({ greeting: 'Hello, Ada!' });
    const sleeping = handlers.sleep?.({ ms: 60_000 }, ctx) as Promise<unknown>;
    abort.abort();
    await expect(sleeping).rejects.toMatchObject({ name: 'AbortError' });
  });
});

describe('loadConfig: refusals name the file, the key and the problem', () => {
  const withTask = (task: string, rest = MODULES) => configFile(`tasks:\n  my_reload:\n${task}${rest}`);

  it.each([
    ['bad cron', withTask('    kind: periodical\n    func_name: my_module.r\n    schedule: "61 * * * * *"\n'), 'tasks.my_reload.schedule', /^'61 \* \* \* \* \*' is not a valid cron expression/],
    ['unknown kind', withTask('    kind: hourly\n    func_name: my_module.r\n'), 'tasks.my_reload.kind', "kind must be one of 'periodical', 'continuous', 'single_shot'"],
    ['missing func_name', withTask('    kind: single_shot\n'), 'tasks.my_reload.func_name', 'is required'],
    ['pause_sec on a periodical task', withTask('    kind: periodical\n    func_name: my_module.r\n    schedule: "* * * * * *"\n    pause_sec: 3\n'), 'tasks.my_reload.pause_sec', 'only continuous tasks have pause_sec; this one is periodical'],
    ['negative capacity', configFile('task_runner:\n  capacity: -1\n'), 'task_runner.capacity', 'must be a positive number of runs'],
    ['zero capacity', configFile('node:\n  runner: { capacity: 0 }\n'), 'node.runner.capacity', 'must be a positive number of runs'],
    ['module not listed', withTask('    kind: single_shot\n    func_name: other_module.flush\n'), 'tasks.my_reload.func_name', "func_name 'other_module.flush' names module 'other_module', which is not listed under modules:"],
    ['func_name without a module', withTask('    kind: single_shot\n    func_name: flush\n'), 'tasks.my_reload.func_name', /^func_name 'flush' has no module part/],
    ['unknown top-level key', configFile('taks:\n  a: 1\n'), 'taks', /^unknown key; expected one of tasks, task_storage, task_runner, node, modules$/],
    ['unknown nested key', configFile('node:\n  mongo:\n    shards: [mongodb://a/t]\n    bucket: 4\n'), 'node.mongo.bucket', 'unknown key; expected one of shards, buckets'],
    ['camelCase task key', withTask('    kind: single_shot\n    funcName: my_module.r\n'), 'tasks.my_reload.funcName', "unknown key; did you mean 'func_name'?"],
    ['module file missing', configFile('modules:\n  gone: ./nowhere/gone.js\n'), 'modules.gone', /^file '\.\/nowhere\/gone\.js' does not exist \(looked for \/.*\/nowhere\/gone\.js\)$/],
    ['bad YAML', configFile('tasks:\n  a: [1, 2\nnode: {}\n'), 'line 3', /^YAML syntax: .+\(column \d+\)$/],
    ['duplicate YAML key', configFile('node: {}\nnode: {}\n'), 'line 2', /^YAML syntax: Map keys must be unique/],
    ['bad role', configFile('node:\n  roles: [api, worker]\n'), 'node.roles[1]', 'must be one of api, scheduler, storage, runner'],
    ['bad listen', configFile('node:\n  listen: "localhost:99999"\n'), 'node.listen', /^'localhost:99999' must be "host:port"/],
    ['bad mongo URL', configFile('node:\n  mongo: { shards: ["http://a/t"] }\n'), 'node.mongo.shards[0]', 'must be a mongodb:// or mongodb+srv:// URL'],
    ['bad redis URL', configFile('node:\n  redis: http://r:6379\n'), 'node.redis.url', 'must be a redis:// or rediss:// URL'],
    ['more shards than buckets', configFile('node:\n  mongo: { shards: [mongodb://a/t, mongodb://b/t], buckets: 1 }\n'), 'node.mongo.buckets', /^1 bucket\(s\) cannot spread over 2 shards/],
    ['args JSON cannot hold', withTask('    kind: single_shot\n    func_name: my_module.r\n    args: [.inf]\n'), 'tasks.my_reload.args', 'holds a value JSON cannot represent (such as .inf or .nan)'],
  ])('%s', (_what, file, key, reason) => {
    const error = refusal(() => load(file));
    expect(error.file).toBe(file);
    expect(error.key).toBe(key);
    if (typeof reason === 'string') expect(error.reason).toBe(reason);
    else expect(error.reason).toMatch(reason);
  });

  it('refuses a bad environment value under the variable name', () => {
    const file = configFile(TARANTOOL + MODULES);
    const error = refusal(() => load(file, { RUNNER_CAPACITY: 'abc' }));
    expect(error).toMatchObject({ file: null, key: 'RUNNER_CAPACITY', reason: "'abc' must be a number of runs" });
    expect(refusal(() => load(file, { TASKPLANE_ROLES: 'api,cook' }))).toMatchObject({ key: 'TASKPLANE_ROLES' });
    expect(refusal(() => load(file, { PORT: '70000' }))).toMatchObject({ key: 'PORT', reason: "'70000' must be a port from 0 to 65535" });
    expect(refusal(() => load(file, { TASKPLANE_REDIS_URL: 'localhost' }))).toMatchObject({ key: 'TASKPLANE_REDIS_URL' });
    expect(refusal(() => load(file, { TASKPLANE_BUCKETS: '64' }))).toMatchObject({ key: 'TASKPLANE_BUCKETS', reason: /no MongoDB shards/ });
  });

  it('refuses a config file that cannot be read, and --config without a name', () => {
    const missing = join(root, 'missing.yaml');
    expect(refusal(() => load(missing))).toMatchObject({ file: missing, key: '--config', reason: 'cannot read the config file named by --config: no such file' });
    const bare = refusal(() => loadConfig({ argv: ['--config'], env: {} }));
    expect(bare).toMatchObject({ file: null, key: '--config' });
    expect(bare.message).toBe('command line: --config: needs a file name (--config FILE)');
  });

  it('formats a refusal as one paragraph naming file, key, problem and the rest', () => {
    const file = configFile('task_runner:\n  capacity: -1\nnode:\n  roles: []\n');
    const error = refusal(() => load(file));
    const text = formatConfigError(error);
    expect(text).not.toContain('\n');
    expect(text).toBe(
      `Taskplane cannot start: bad config at task_runner.capacity in ${file}: must be a positive number of runs.` +
        ' Also found: node.roles: must name at least one role (api, scheduler, storage, runner). Fix the file and start the node again.',
    );
    const good = configFile(TARANTOOL + MODULES);
    expect(formatConfigError(refusal(() => load(good, { RUNNER_CAPACITY: 'abc' })))).toMatch(/^Taskplane cannot start: bad config at environment variable RUNNER_CAPACITY: 'abc'/);
  });
});
