import { randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import type { DefinitionInput } from '../core/definition.js';
import { TaskplaneError } from '../core/errors.js';
import { ROLES } from '../core/members.js';
import { DEFAULT_RUN_DEFAULTS } from '../core/run-input.js';
import {
  allowInitCommandSchema,
  bucketsSchema,
  capacitySchema,
  clusterSchema,
  crossCheckModules,
  fileConfigSchema,
  groupSchema,
  keyOf,
  logLevelSchema,
  authModeSchema,
  mongoUrlListSchema,
  nodeIdSchema,
  parseListen,
  parseTaskEntry,
  portSchema,
  problemsOf,
  redisPrefixSchema,
  redisUrlSchema,
  roleListSchema,
  runnerApiUrlSchema,
  runnerTokenValueSchema,
  tagListSchema,
  type ConfigProblem,
  type FileConfig,
} from './config-schema.js';
import { embeddedDefaultConfig } from './embedded-default.js';
import type { NodeConfig } from './node-config.js';

/**
 * The one place that reads the config file and environment variables. Order of precedence:
 * environment > file > built-in defaults. With no file, the embedded default (all roles, example
 * tasks) goes through the same checks, so it cannot drift from the format.
 */

/** Bad config: names where (`file`, or null for the environment and the built-in default), which key, and why. */
export class ConfigError extends TaskplaneError {
  readonly file: string | null;
  readonly key: string;
  readonly reason: string;
  /** Every problem found, this one first; fixing one at a time is tedious. */
  readonly problems: readonly ConfigProblem[];

  constructor(file: string | null, key: string, reason: string, options?: { cause?: unknown; more?: readonly ConfigProblem[] }) {
    super('CONFIG_INVALID', `${file ?? sourceOf(key)}: ${key}: ${reason}`, options);
    this.file = file;
    this.key = key;
    this.reason = reason;
    this.problems = [{ key, reason }, ...(options?.more ?? [])];
  }
}

/** Env var names are upper case; file keys never are, so the key tells where a fileless problem lies. */
function sourceOf(key: string): string {
  if (/^[A-Z][A-Z0-9_]*$/.test(key)) return 'environment';
  if (key.startsWith('--')) return 'command line';
  return 'built-in default config';
}

function fail(file: string | null, problems: readonly ConfigProblem[], cause?: unknown): never {
  const [first, ...more] = problems;
  throw new ConfigError(file, first?.key ?? '(top level)', first?.reason ?? 'is invalid', { cause, more });
}

export interface LoadConfigOptions {
  /** Command-line arguments after the script. @defaultValue `process.argv.slice(2)` */
  readonly argv?: readonly string[];
  /** @defaultValue `process.env` */
  readonly env?: NodeJS.ProcessEnv;
  /** Relative `--config` paths and the embedded default's modules resolve here. @defaultValue `process.cwd()` */
  readonly cwd?: string;
}

export function loadConfig(options: LoadConfigOptions = {}): NodeConfig {
  const argv = options.argv ?? process.argv.slice(2);
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();

  const named = configFileName(argv, env);
  const file = named ? resolve(cwd, named.path) : null;
  const raw = file && named ? readYaml(file, named.by) : embeddedDefaultConfig();
  const baseDir = file ? dirname(file) : cwd;

  return compileConfig(raw, { file, baseDir, env });
}

export interface CompileConfigOptions {
  /** The file the config came from, for messages. @defaultValue null */
  readonly file?: string | null;
  /** Relative module paths resolve here. @defaultValue `process.cwd()` */
  readonly baseDir?: string;
  /** Environment overrides. @defaultValue `{}` (none: a programmatic config says what it means) */
  readonly env?: NodeJS.ProcessEnv;
  /** Handlers given directly (`createNode({ handlers })`): tasks may name them without a module. */
  readonly handlerNames?: readonly string[];
}

/**
 * Checks and compiles a config written in the file format (the parsed YAML, or the same object
 * built in code). Throws `ConfigError` naming the key and the problem.
 */
export function compileConfig(raw: unknown, options: CompileConfigOptions = {}): NodeConfig {
  const file = options.file ?? null;
  const baseDir = options.baseDir ?? process.cwd();
  // Task values are checked on the raw entries, beside the file schema, so one run reports both.
  const parsed = fileConfigSchema.safeParse(raw);
  const problems: ConfigProblem[] = parsed.success ? [] : problemsOf(parsed.error, fileConfigSchema);
  const tasks: DefinitionInput[] = [];
  const rawTasks = isMap(raw) && isMap(raw.tasks) ? raw.tasks : {};
  for (const [name, entry] of Object.entries(rawTasks)) {
    const result = isMap(entry) ? parseTaskEntry(name, entry) : [];
    if (Array.isArray(result)) problems.push(...result);
    else tasks.push(result);
  }
  if (!parsed.success || problems.length > 0) fail(file, problems);
  const fileConfig = parsed.data;
  const direct = new Set(options.handlerNames ?? []);
  const checked = crossCheckModules(
    tasks.filter((task) => !direct.has(task.funcName)),
    fileConfig.modules ?? {},
    baseDir,
  );
  // A child process can only import what `modules:` lists; a handler given in code exists in this process alone.
  for (const task of tasks) {
    if (task.runtime === 'process' && direct.has(task.funcName)) {
      checked.problems.push({ key: keyOf(['tasks', task.name, 'runtime']), reason: `runtime 'process' loads handlers only from modules listed under modules:, and '${task.funcName}' is a handler given in code; use runtime: inline or move it into a module` });
    }
  }
  if (checked.problems.length > 0) fail(file, checked.problems);

  const compiled = compile(fileConfig, readEnv(options.env ?? {}), { file, baseDir, tasks, modules: checked.modules });
  return deepFreeze(compiled);
}

/** `--config FILE` or `--config=FILE` (the last one wins), else `TASKPLANE_CONFIG`. */
function configFileName(argv: readonly string[], env: NodeJS.ProcessEnv): { path: string; by: string } | null {
  let path: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--') break;
    if (arg === '--config') path = argv[++i] ?? '';
    else if (arg.startsWith('--config=')) path = arg.slice('--config='.length);
    else continue;
    if (path.trim() === '' || path.startsWith('--')) fail(null, [{ key: '--config', reason: 'needs a file name (--config FILE)' }]);
  }
  if (path !== undefined) return { path, by: '--config' };
  const fromEnv = env.TASKPLANE_CONFIG?.trim();
  return fromEnv ? { path: fromEnv, by: 'TASKPLANE_CONFIG' } : null;
}

function readYaml(file: string, by: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : (error as Error).message;
    fail(file, [{ key: by, reason: `cannot read the config file named by ${by}: ${why}` }], error);
  }
  const doc = parseDocument(text, { prettyErrors: true });
  // Warnings (unresolved tags and the like) mean the file does not say what it seems to: refuse them too.
  const problem = doc.errors[0] ?? doc.warnings[0];
  if (problem) {
    const line = problem.linePos?.[0];
    let message = problem.message.split(/ at line \d+, column \d+/)[0] ?? problem.message;
    // The parser recurses per level of nesting and reports running out of stack as a syntax error.
    if (/Maximum call stack/.test(message)) message = 'the document nests too deeply to read';
    fail(file, [{ key: line ? `line ${line.line}` : '(yaml)', reason: `YAML syntax: ${message}${line ? ` (column ${line.col})` : ''}` }], problem);
  }
  try {
    // An empty file is an empty config: every default applies.
    return doc.toJS() ?? {};
  } catch (error) {
    // Aliases that expand past the library's guard ("billion laughs") throw here, not as a parse error.
    const reason = /alias/i.test((error as Error).message)
      ? 'YAML aliases (*name) expand to too many values; write the values out, or use fewer aliases'
      : `YAML cannot be read as data: ${(error as Error).message}`;
    return fail(file, [{ key: '(yaml)', reason }], error);
  }
}

/** Overrides read from the environment; an empty variable counts as unset. */
interface EnvOverrides {
  roles?: NodeConfig['roles'];
  listen?: { host: string; port: number };
  port?: number;
  mongoUrls?: readonly string[];
  buckets?: number;
  redisUrl?: string;
  redisPrefix?: string;
  nodeId?: string;
  cluster?: string;
  group?: string;
  tags?: readonly string[];
  capacity?: number;
  allowInitCommand?: boolean;
  runnerApiUrl?: string;
  runnerToken?: string;
  auth?: 'auto' | 'on' | 'off';
  logLevel?: NodeConfig['logLevel'];
}

function readEnv(env: NodeJS.ProcessEnv): EnvOverrides {
  const text = (name: string) => {
    const value = env[name]?.trim();
    return value === undefined || value === '' ? undefined : value;
  };
  const list = (value: string) => value.split(',').map((item) => item.trim()).filter((item) => item !== '');
  const integer = (value: string) => (/^-?\d+$/.test(value) ? Number(value) : value);
  const booleans: Readonly<Record<string, boolean>> = { true: true, false: false, 1: true, 0: false, yes: true, no: false };
  const boolean = (value: string) => booleans[value.toLowerCase()] ?? value;
  const check = <S extends z.ZodType>(name: string, schema: S, convert: (value: string) => unknown = (v) => v): z.output<S> | undefined => {
    const value = text(name);
    if (value === undefined) return undefined;
    const parsed = schema.safeParse(convert(value));
    if (parsed.success) return parsed.data;
    const reason = parsed.error.issues[0]?.message.replace(/^Invalid input: /, '') ?? 'is invalid';
    return fail(null, [{ key: name, reason: `'${value}' ${reason.replace(/, received string$/, '')}` }], parsed.error);
  };

  // A secret's value never appears in a message.
  const secret = <S extends z.ZodType>(name: string, schema: S): z.output<S> | undefined => {
    const value = text(name);
    if (value === undefined) return undefined;
    const parsed = schema.safeParse(value);
    if (parsed.success) return parsed.data;
    return fail(null, [{ key: name, reason: parsed.error.issues[0]?.message ?? 'is invalid' }], parsed.error);
  };

  const listenText = text('TASKPLANE_LISTEN');
  const listen = listenText === undefined ? undefined : parseListen(listenText);
  if (typeof listen === 'string') fail(null, [{ key: 'TASKPLANE_LISTEN', reason: listen }]);

  return {
    roles: check('TASKPLANE_ROLES', roleListSchema, list),
    listen,
    port: check('PORT', portSchema, integer),
    mongoUrls: check('TASKPLANE_MONGO_URLS', mongoUrlListSchema, list),
    buckets: check('TASKPLANE_BUCKETS', bucketsSchema, integer),
    redisUrl: check('TASKPLANE_REDIS_URL', redisUrlSchema),
    redisPrefix: check('TASKPLANE_REDIS_PREFIX', redisPrefixSchema),
    nodeId: check('TASKPLANE_NODE_ID', nodeIdSchema),
    cluster: check('RUNNER_CLUSTER', clusterSchema),
    group: check('WORKER_GROUP', groupSchema),
    tags: check('WORKER_TAGS', tagListSchema, list),
    capacity: check('RUNNER_CAPACITY', capacitySchema, integer),
    allowInitCommand: check('RUNNER_ALLOW_INIT_COMMAND', allowInitCommandSchema, boolean),
    runnerApiUrl: check('TASKPLANE_RUNNER_API_URL', runnerApiUrlSchema),
    runnerToken: secret('TASKPLANE_RUNNER_TOKEN', runnerTokenValueSchema),
    auth: check('TASKPLANE_AUTH', authModeSchema),
    logLevel: check('TASKPLANE_LOG_LEVEL', logLevelSchema),
  };
}

function compile(
  config: FileConfig,
  env: EnvOverrides,
  known: { file: string | null; baseDir: string; tasks: DefinitionInput[]; modules: Record<string, string> },
): NodeConfig {
  const node = config.node ?? {};
  // Env var names are upper case; a problem under one is not the file's.
  const failAt = (key: string, reason: string) => fail(/^[A-Z]/.test(key) ? null : known.file, [{ key, reason }]);

  const shards = env.mongoUrls ?? node.mongo?.shards;
  const buckets = env.buckets ?? node.mongo?.buckets ?? 1024;
  if (shards === undefined && env.buckets !== undefined) failAt('TASKPLANE_BUCKETS', 'is set but no MongoDB shards are configured (node.mongo or TASKPLANE_MONGO_URLS)');
  if (shards !== undefined && shards.length > buckets) {
    failAt(env.buckets !== undefined ? 'TASKPLANE_BUCKETS' : 'node.mongo.buckets', `${buckets} bucket(s) cannot spread over ${shards.length} shards; use at least one bucket per shard`);
  }
  const redisUrl = env.redisUrl ?? node.redis?.url;
  if (redisUrl === undefined && env.redisPrefix !== undefined) failAt('TASKPLANE_REDIS_PREFIX', 'is set but no Redis is configured (node.redis or TASKPLANE_REDIS_URL)');

  const listen = env.listen ?? node.listen ?? { host: '127.0.0.1', port: 4000 };
  const ownTags = env.tags ?? node.runner?.tags ?? null;
  // Untagged runs carry the tag `default`; a runner that did not listen to it would never take them.
  const tags = [...new Set([...(ownTags ?? []), 'default'])];

  const authMode = env.auth ?? node.api?.auth ?? 'auto';
  const auth = authMode === 'on' || (authMode === 'auto' && !isLoopback(listen.host));
  const tokens = node.api?.tokens ?? [];
  const roles = env.roles ?? node.roles ?? [...ROLES];
  if (auth && tokens.length === 0 && roles.includes('api')) {
    failAt(
      env.auth !== undefined ? 'TASKPLANE_AUTH' : 'node.api.tokens',
      `API auth is on (${authMode === 'on' ? 'auth: on' : `the node listens on ${listen.host}, beyond loopback`}) but no token is configured; add tokens (\`taskplane token create --name NAME --role admin\` prints one) or set node.api.auth: off`,
    );
  }
  const names = new Set<string>();
  for (const token of tokens) {
    if (names.has(token.name)) failAt('node.api.tokens', `token name '${token.name}' appears twice`);
    names.add(token.name);
  }
  const runnerTokens = node.api?.runner_tokens ?? [];
  const runnerNames = new Set<string>();
  const apiHashes = new Set(tokens.map((token) => token.sha256));
  for (const token of runnerTokens) {
    if (runnerNames.has(token.name)) failAt('node.api.runner_tokens', `runner token name '${token.name}' appears twice`);
    runnerNames.add(token.name);
    if (apiHashes.has(token.sha256)) failAt('node.api.runner_tokens', `runner token '${token.name}' has the hash of an API token in node.api.tokens; a token is one or the other`);
  }
  const runnerApi = remoteRunner(node.runner?.api ?? null, env, { roles, mongo: shards !== undefined, redis: redisUrl !== undefined }, failAt);

  return {
    file: known.file,
    baseDir: known.baseDir,
    roles,
    nodeId: env.nodeId ?? node.id ?? defaultNodeId(),
    listen: { host: listen.host, port: env.port ?? listen.port, explicit: env.listen !== undefined || env.port !== undefined || node.listen !== undefined },
    mongo: shards === undefined ? null : { shards, buckets },
    redis: redisUrl === undefined ? null : { url: redisUrl, prefix: env.redisPrefix ?? node.redis?.prefix ?? 'taskplane:' },
    runner: {
      cluster: env.cluster ?? node.runner?.cluster ?? 'default',
      group: env.group ?? node.runner?.group ?? 'default',
      tags,
      // The node section is the more specific of the two; the Tarantool key still works alone.
      capacity: env.capacity ?? node.runner?.capacity ?? config.task_runner?.capacity ?? 128,
      pollMs: node.runner?.poll_ms ?? 1000,
      drainGraceMs: node.runner?.drain_grace_ms ?? 10_000,
      heartbeatMs: node.runner?.heartbeat_ms ?? 2000,
      ownTags: ownTags === null ? null : [...new Set(ownTags)],
      allowInitCommand: env.allowInitCommand ?? node.runner?.allow_init_command ?? false,
      initCommandTimeoutMs: node.runner?.init_command_timeout_ms ?? 300_000,
      api: runnerApi,
      runtime: config.task_runner?.runtime ?? 'inline',
      runTimeout: config.task_runner?.run_timeout ?? 3600,
      abortGraceMs: node.runner?.abort_grace_ms ?? 5000,
      processPoolSize: node.runner?.process_pool_size ?? 2,
      lookaheadMs: node.runner?.lookahead_ms ?? 1000,
    },
    scheduler: { leaseMs: node.scheduler?.lease_ms ?? 5000, leadMs: node.scheduler?.lead_ms ?? 500 },
    storage: {
      leaseMs: node.storage?.lease_ms ?? 10_000,
      sweepEveryMs: node.storage?.sweep_every_ms ?? 1000,
      trimEveryMs: node.storage?.trim_every_ms ?? 10_000,
      taskLogMaxSize: config.task_storage?.task_log_max_size ?? 100,
    },
    runDefaults: { ...DEFAULT_RUN_DEFAULTS, timeToResolve: config.task_storage?.task_ttr ?? DEFAULT_RUN_DEFAULTS.timeToResolve },
    tasks: known.tasks,
    modules: known.modules,
    api: {
      auth,
      tokens,
      corsOrigins: node.api?.cors_origins ?? [],
      mutationsPerMinute: node.api?.mutations_per_minute ?? 600,
      runnerTokens: runnerTokens.map(({ spawn_clusters, ...token }) => ({ ...token, spawnClusters: spawn_clusters ?? [] })),
      runnerRequestsPerMinute: node.api?.runner_requests_per_minute ?? 12_000,
    },
    logLevel: env.logLevel ?? node.log_level ?? 'info',
  };
}

/**
 * `node.runner.api` with its environment overrides: both the URL and the token, on a node whose
 * only role is runner and that names no database — a remote runner holds no database credentials.
 */
function remoteRunner(
  file: { url?: string | undefined; token?: string | undefined } | null,
  env: EnvOverrides,
  node: { roles: readonly string[]; mongo: boolean; redis: boolean },
  failAt: (key: string, reason: string) => never,
): NodeConfig['runner']['api'] {
  const url = env.runnerApiUrl ?? file?.url;
  const token = env.runnerToken ?? file?.token;
  if (url === undefined && token === undefined) return null;
  const urlKey = env.runnerApiUrl !== undefined ? 'TASKPLANE_RUNNER_API_URL' : 'node.runner.api.url';
  if (url === undefined) {
    return failAt(env.runnerToken !== undefined ? 'TASKPLANE_RUNNER_TOKEN' : 'node.runner.api.token', 'is set but no runner gateway URL is (node.runner.api.url or TASKPLANE_RUNNER_API_URL)');
  }
  if (token === undefined) {
    return failAt(urlKey, 'names a runner gateway but no runner token is set (node.runner.api.token or TASKPLANE_RUNNER_TOKEN; `taskplane token create --runner --cluster SLUG --name NAME` makes one)');
  }
  if (node.roles.length !== 1 || node.roles[0] !== 'runner') {
    return failAt(urlKey, `a remote runner node has the runner role only (its roles: ${node.roles.join(', ')}); the other roles need the databases`);
  }
  for (const [present, key] of [[node.mongo, env.mongoUrls ? 'TASKPLANE_MONGO_URLS' : 'node.mongo'], [node.redis, env.redisUrl ? 'TASKPLANE_REDIS_URL' : 'node.redis']] as const) {
    if (present) return failAt(key, `must not be set on a remote runner (${urlKey} is set): it claims through the api node and holds no database credentials`);
  }
  return { url, token };
}

/** Loopback addresses only ever reach this machine: no auth needed by default there. */
function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

function isMap(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

const BASE36 = '0123456789abcdefghijklmnopqrstuvwxyz';

/** Unique per process and readable in logs: `<hostname>-<pid>-<4 random base36 chars>`. */
function defaultNodeId(): string {
  let suffix = '';
  for (let i = 0; i < 4; i++) suffix += BASE36[randomInt(36)];
  return `${hostname()}-${process.pid}-${suffix}`;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    Object.freeze(value);
    for (const item of Object.values(value)) deepFreeze(item);
  }
  return value;
}
