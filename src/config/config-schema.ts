import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { z } from 'zod';
import { definitionSchema, type DefinitionInput } from '../core/definition.js';
import { LIMITS } from '../core/limits.js';
import { ROLES } from '../core/members.js';
import { encodePayload, runtimeSchema, slugSchema, tagSchema } from '../core/run-input.js';

/**
 * The config file's format: the Tarantool task manager's YAML (`tasks:`, `task_storage:`,
 * `task_runner:`) plus Taskplane's `node:` and `modules:` sections, snake_case as written.
 * Every object is strict, so a misspelt key is refused instead of silently ignored.
 *
 * Task entries are checked here only for their keys; their values are mapped to camelCase and
 * checked by the API's `definitionSchema`, so a file and the API refuse the same things with the
 * same messages. Problems are reported as `{ key, reason }` with the key as written in the file.
 */

export interface ConfigProblem {
  /** Dotted path as written in the file (`tasks.my_reload.schedule`), or an env var name. */
  readonly key: string;
  readonly reason: string;
}

const ms = (what: string) =>
  z
    .number({ error: `${what} must be a number of milliseconds` })
    .int(`${what} must be a whole number of milliseconds`)
    .min(1, `${what} must be positive`)
    .max(24 * 3600 * 1000, `${what} must be at most one day`);

/** How far ahead of a due time work is prepared: 0 (off) to `LIMITS.aheadMs`. */
const aheadMs = (what: string) =>
  z
    .number({ error: `${what} must be a number of milliseconds` })
    .int(`${what} must be a whole number of milliseconds`)
    .min(0, `${what} must not be negative`)
    .max(LIMITS.aheadMs, `${what} must be at most ${LIMITS.aheadMs} (${LIMITS.aheadMs / 1000} s)`);

const unique = (items: readonly unknown[]) => new Set(items).size === items.length;
/** An empty YAML section (`node:` with nothing under it) is null: treat it as absent. */
const section = <S extends z.ZodType>(schema: S) => schema.nullish();
/** Replaces only the "wrong type" message, so key and value issues keep their own. */
const typeError = (message: string) => ({ error: (issue: { code?: string }) => (issue.code === 'invalid_type' ? message : undefined) });

export const roleListSchema = z
  .array(z.enum(ROLES, { error: `must be one of ${ROLES.join(', ')}` }), { error: 'must be a list of roles' })
  .min(1, `must name at least one role (${ROLES.join(', ')})`)
  .refine(unique, 'must not name a role twice');

/** Port 0 is allowed: the OS picks a free port (tests start nodes that way). */
export const portSchema = z
  .number({ error: 'must be a port number' })
  .int('must be a whole port number')
  .min(0, 'must be a port from 0 to 65535')
  .max(65535, 'must be a port from 0 to 65535');

/** `host:port`, `[v6]:port` or a bare port (host 127.0.0.1). Returns a problem or the address. */
export function parseListen(value: string | number): { host: string; port: number } | string {
  if (typeof value === 'number' || /^\d+$/.test(value.trim())) {
    const port = portSchema.safeParse(Number(value));
    return port.success ? { host: '127.0.0.1', port: port.data } : `'${value}' ${port.error.issues[0]?.message}`;
  }
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(value.trim());
  const port = match ? portSchema.safeParse(Number(match[3])) : undefined;
  if (!match || !port?.success) return `'${value}' must be "host:port" (e.g. 127.0.0.1:4000, [::1]:4000) or a port number`;
  return { host: match[1] ?? match[2] ?? '', port: port.data };
}

const listenSchema = z
  .union([z.string(), z.number()], { error: 'must be "host:port" or a port number' })
  .transform((value, ctx) => {
    const parsed = parseListen(value);
    if (typeof parsed !== 'string') return parsed;
    ctx.addIssue({ code: 'custom', message: parsed });
    return z.NEVER;
  });

export const mongoUrlSchema = z
  .string({ error: 'must be a MongoDB URL' })
  .regex(/^mongodb(\+srv)?:\/\/\S+$/, 'must be a mongodb:// or mongodb+srv:// URL');
export const mongoUrlListSchema = z
  .array(mongoUrlSchema, { error: 'must be a list of mongodb:// URLs' })
  .min(1, 'must list at least one shard')
  .refine(unique, 'must not list a shard twice (two shards on one database would hold the same runs)');
/** Matches the bucket router's bounds; fixed for the life of a deployment. */
export const bucketsSchema = z
  .number({ error: 'must be a number of buckets' })
  .int('must be a whole number')
  .min(1, 'must be from 1 to 65536')
  .max(65536, 'must be from 1 to 65536');

export const redisUrlSchema = z
  .string({ error: 'must be a Redis URL' })
  .regex(/^rediss?:\/\/\S+$/, 'must be a redis:// or rediss:// URL');
export const redisPrefixSchema = z
  .string({ error: 'must be a string' })
  .min(1, 'must not be empty')
  .max(100, 'must be at most 100 characters')
  .regex(/^\S+$/, 'must not contain spaces');

export const nodeIdSchema = z
  .string({ error: 'must be a string' })
  .max(200, 'must be at most 200 characters')
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]*$/, 'must be letters, digits, `_`, `.`, `:` or `-`');
export const clusterSchema = slugSchema;
export const groupSchema = tagSchema;
export const tagListSchema = z.array(tagSchema, { error: 'must be a list of tags' });
export const capacitySchema = z
  .number({ error: 'must be a number of runs' })
  .int('must be a whole number of runs')
  .min(1, 'must be a positive number of runs')
  .max(100_000, 'must be at most 100000 runs');

/** `task_runner.run_timeout`: seconds, as a task's own `run_timeout`. */
export const runTimeoutSchema = z
  .number({ error: 'must be a number of seconds' })
  .positive('must be a positive number of seconds')
  .max(365 * 24 * 3600, 'must be at most one year');
export { runtimeSchema };

export const allowInitCommandSchema = z.boolean({ error: 'must be true or false' });

export const AUTH_MODES = ['auto', 'on', 'off'] as const;
export const authModeSchema = z.enum(AUTH_MODES, { error: `must be one of ${AUTH_MODES.join(', ')} (auto: on when the node listens beyond loopback)` });
export const API_ROLES = ['viewer', 'operator', 'admin'] as const;
const apiTokenSchema = z.strictObject(
  {
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.@-]{0,99}$/, 'must be a name of letters, digits, `_`, `.`, `@` or `-`'),
    role: z.enum(API_ROLES, { error: `must be one of ${API_ROLES.join(', ')}` }),
    sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be the SHA-256 of the token as 64 lowercase hex digits (`taskplane token create` prints it)'),
  },
  typeError('must be { name, role, sha256 }'),
);
/** `node.api.runner_tokens`: a runner token scoped to one cluster (see src/api/runner-gateway/). */
const runnerTokenEntrySchema = z.strictObject(
  {
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.@-]{0,99}$/, 'must be a name of letters, digits, `_`, `.`, `@` or `-`'),
    cluster: slugSchema,
    sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be the SHA-256 of the token as 64 lowercase hex digits (`taskplane token create --runner` prints it)'),
    // Clusters besides its own where subtasks spawned by its runs may go.
    spawn_clusters: z.array(slugSchema, { error: 'must be a list of cluster slugs' }).max(100).optional(),
  },
  typeError('must be { name, cluster, sha256, spawn_clusters? }'),
);
/** `node.runner.api.url`: the api node(s) a remote runner claims through. */
export const runnerApiUrlSchema = z
  .string({ error: 'must be a URL' })
  .regex(/^https?:\/\/[^\s/?#]+(\/[^\s?#]*)?$/, 'must be the http:// or https:// base URL of an api node, e.g. https://taskplane.example.com');
/** `node.runner.api.token`: never echoed in messages. */
export const runnerTokenValueSchema = z
  .string({ error: 'must be a runner token' })
  .min(1, 'must not be empty')
  .max(200, 'must be at most 200 characters')
  .regex(/^\S+$/, 'must not contain spaces');
const corsOriginSchema = z.string().regex(/^https?:\/\/[^/\s]+$/, 'must be an origin such as https://ops.example.com (scheme and host, no path)');

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export const logLevelSchema = z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(', ')}` });

/** File key → `DefinitionInput` key. The entry's name is its key under `tasks:`. */
const TASK_FIELDS = {
  kind: 'kind',
  func_name: 'funcName',
  args: 'args',
  schedule: 'schedule',
  pause_sec: 'pauseSec',
  time_to_resolve: 'timeToResolve',
  max_attempts: 'maxAttempts',
  delay: 'delay',
  delay_factor: 'delayFactor',
  timeout: 'timeout',
  priority: 'priority',
  cluster: 'cluster',
  tag: 'tag',
  runtime: 'runtime',
  run_timeout: 'runTimeout',
} as const;
type TaskFileKey = keyof typeof TASK_FIELDS;
const SNAKE_OF = Object.fromEntries(Object.entries(TASK_FIELDS).map(([snake, camel]) => [camel, snake]));

const taskEntrySchema = z.strictObject(
  Object.fromEntries(Object.keys(TASK_FIELDS).map((key) => [key, z.unknown().optional()])) as Record<
    TaskFileKey,
    z.ZodOptional<z.ZodUnknown>
  >,
  typeError('must be a map of task settings (kind, func_name, …)'),
);

const nodeSchema = z.strictObject({
  roles: roleListSchema.optional(),
  listen: listenSchema.optional(),
  id: nodeIdSchema.optional(),
  mongo: section(z.strictObject({ shards: mongoUrlListSchema, buckets: bucketsSchema.optional() })),
  // A bare URL is the short form of `{ url }`.
  redis: section(
    z.preprocess(
      (value) => (typeof value === 'string' ? { url: value } : value),
      z.strictObject({ url: redisUrlSchema, prefix: redisPrefixSchema.optional() }, typeError('must be a redis:// URL or { url, prefix }')),
    ),
  ),
  runner: section(
    z.strictObject({
      cluster: clusterSchema.optional(),
      group: groupSchema.optional(),
      tags: tagListSchema.optional(),
      capacity: capacitySchema.optional(),
      poll_ms: ms('poll_ms').optional(),
      drain_grace_ms: ms('drain_grace_ms').optional(),
      heartbeat_ms: ms('heartbeat_ms').optional(),
      allow_init_command: allowInitCommandSchema.optional(),
      init_command_timeout_ms: ms('init_command_timeout_ms').optional(),
      // A remote runner: claims through an api node's runner gateway instead of the databases.
      api: section(z.strictObject({ url: runnerApiUrlSchema.optional(), token: runnerTokenValueSchema.optional() }, typeError('must be { url, token }'))),
      abort_grace_ms: ms('abort_grace_ms').optional(),
      lookahead_ms: aheadMs('lookahead_ms').optional(),
      process_pool_size: z
        .number({ error: 'must be a number of child processes' })
        .int('must be a whole number of child processes')
        .min(0, 'must not be negative')
        .max(1000, 'must be at most 1000')
        .optional(),
    }),
  ),
  scheduler: section(
    z.strictObject({ lease_ms: ms('lease_ms').optional(), lead_ms: aheadMs('lead_ms').optional() }),
  ),
  storage: section(
    z.strictObject({
      lease_ms: ms('lease_ms').optional(),
      sweep_every_ms: ms('sweep_every_ms').optional(),
      trim_every_ms: ms('trim_every_ms').optional(),
    }),
  ),
  log_level: logLevelSchema.optional(),
  api: section(
    z.strictObject({
      auth: authModeSchema.optional(),
      tokens: z.array(apiTokenSchema, { error: 'must be a list of { name, role, sha256 }' }).max(1000).optional(),
      cors_origins: z.array(corsOriginSchema, { error: 'must be a list of origins' }).max(100).optional(),
      runner_tokens: z.array(runnerTokenEntrySchema, { error: 'must be a list of { name, cluster, sha256 }' }).max(1000).optional(),
      runner_requests_per_minute: z
        .number({ error: 'must be a number of requests' })
        .int('must be a whole number')
        .min(1, 'must be at least 1')
        .max(10_000_000, 'must be at most 10000000')
        .optional(),
      mutations_per_minute: z
        .number({ error: 'must be a number of mutations' })
        .int('must be a whole number')
        .min(1, 'must be at least 1')
        .max(1_000_000, 'must be at most 1000000')
        .optional(),
    }),
  ),
});

/** Module names are func_name prefixes, so they follow func_name's spelling (dots allowed). */
const moduleNameSchema = z
  .string()
  .regex(/^[A-Za-z_$][\w$-]*(\.[A-Za-z_$][\w$-]*)*$/, 'must be a module name (letters, digits, `_`, `-`, `$`, dots between parts)');

export const fileConfigSchema = z.strictObject(
  {
    tasks: section(z.record(z.string(), taskEntrySchema, typeError('must be a map of task name → settings'))),
    task_storage: section(
      z.strictObject({
        task_ttr: z
          .number({ error: 'must be a number of seconds' })
          .positive('must be a positive number of seconds')
          .max(365 * 24 * 3600, 'must be at most one year')
          .optional(),
        task_log_max_size: z
          .number({ error: 'must be a number of runs' })
          .int('must be a whole number of runs')
          .min(0, 'must not be negative')
          .max(1_000_000, 'must be at most 1000000')
          .optional(),
      }),
    ),
    task_runner: section(
      z.strictObject({ capacity: capacitySchema.optional(), runtime: runtimeSchema.optional(), run_timeout: runTimeoutSchema.optional() }),
    ),
    node: section(nodeSchema),
    modules: section(
      z.record(
        moduleNameSchema,
        z.string({ error: 'must be a file path' }).min(1, 'must be a file path'),
        typeError('must be a map of module name → file path'),
      ),
    ),
  },
  typeError('must be a map with tasks:, task_storage:, task_runner:, node: and modules:'),
);

export type FileConfig = z.output<typeof fileConfigSchema>;

/**
 * Splits `func_name` into module and export at the last dot, as Lua's `require` path does
 * (`app.tasks.reload` → module `app.tasks`, export `reload`). Null when there is no dot.
 * The runner resolves handlers with this same rule.
 */
export function splitFuncName(funcName: string): { module: string; exportName: string } | null {
  const dot = funcName.lastIndexOf('.');
  if (dot <= 0 || dot === funcName.length - 1) return null;
  return { module: funcName.slice(0, dot), exportName: funcName.slice(dot + 1) };
}

/** Turns zod issues into problems keyed as in the file; `root` is the schema that was parsed. */
export function problemsOf(error: z.ZodError, root: z.ZodType): ConfigProblem[] {
  return error.issues.map((issue) => {
    const path = issue.path;
    if (issue.code === 'unrecognized_keys') {
      const unknown = issue.keys[0] ?? '';
      const allowed = allowedKeys(root, issue.path);
      const near = allowed.find((key) => normalise(key) === normalise(unknown));
      const hint = near ? `; did you mean '${near}'?` : allowed.length > 0 ? `; expected one of ${allowed.join(', ')}` : '';
      return { key: keyOf([...path, unknown]), reason: `unknown key${hint}` };
    }
    let reason = issue.message.replace(/^Invalid input: /, '');
    if (issue.code === 'invalid_type' && /received undefined$/.test(issue.message)) reason = 'is required';
    if (issue.code === 'invalid_key') reason = `the name ${issue.issues[0]?.message ?? 'is invalid'}`;
    return { key: keyOf(path), reason };
  });
}

const normalise = (key: string) => key.toLowerCase().replace(/[_-]/g, '');

export function keyOf(path: readonly PropertyKey[]): string {
  let key = '';
  for (const part of path) {
    // Quote names that would make the dotted key ambiguous (`tasks."a.b"`, `tasks.""`).
    const name = typeof part === 'string' && !/^[\w$-]+$/.test(part) ? JSON.stringify(part) : String(part);
    key += typeof part === 'number' ? `[${part}]` : `${key === '' ? '' : '.'}${name}`;
  }
  return key === '' ? '(top level)' : key;
}

/** The keys a strict object at `path` inside `schema` accepts, for "did you mean" hints. */
function allowedKeys(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let current: unknown = schema;
  for (let i = 0; ; ) {
    if (current instanceof z.ZodOptional || current instanceof z.ZodNullable) current = current.unwrap();
    else if (current instanceof z.ZodPipe) current = current.out instanceof z.ZodObject ? current.out : current.in;
    else if (i === path.length) break;
    else if (current instanceof z.ZodObject) current = current.shape[String(path[i++])];
    else if (current instanceof z.ZodRecord) (current = current.valueType), i++;
    else return [];
  }
  return current instanceof z.ZodObject ? Object.keys(current.shape) : [];
}

/**
 * Maps one `tasks:` entry to a `DefinitionInput` and checks it as the API would. Unknown keys
 * are skipped here (the file schema reports them), so this can run beside the file schema and
 * one pass reports both kinds of problem.
 */
export function parseTaskEntry(name: string, entry: Readonly<Record<string, unknown>>): DefinitionInput | ConfigProblem[] {
  const input: Record<string, unknown> = { name };
  for (const [snake, value] of Object.entries(entry)) {
    if (value !== undefined && Object.hasOwn(TASK_FIELDS, snake)) input[TASK_FIELDS[snake as TaskFileKey]] = value;
  }
  const parsed = definitionSchema.safeParse(input);
  if (!parsed.success) {
    return parsed.error.issues.map((issue) => {
      const [field, ...rest] = issue.path;
      const snake = field === 'name' ? [] : field === undefined ? [] : [SNAKE_OF[String(field)] ?? String(field), ...rest];
      const reason = /received undefined$/.test(issue.message) ? 'is required' : issue.message.replace(/^Invalid input: /, '');
      return { key: keyOf(['tasks', name, ...snake]), reason };
    });
  }
  if (entry.args !== undefined) {
    const problem = argsProblem(entry.args);
    if (problem) return [{ key: keyOf(['tasks', name, 'args']), reason: problem }];
  }
  return parsed.data as DefinitionInput;
}

/** YAML can hold values JSON cannot (`.inf`, `.nan`); args must survive a JSON round trip. */
function argsProblem(args: unknown): string | null {
  try {
    const text = encodePayload(args, 'args');
    return isDeepStrictEqual(JSON.parse(text), args) ? null : 'holds a value JSON cannot represent (such as .inf or .nan)';
  } catch (error) {
    return (error as Error).message.replace(/^args: /, '');
  }
}

/**
 * Checks that tie sections together: every config task's `func_name` names a module listed
 * under `modules:` (nothing else is ever imported), and every listed module exists on disk.
 * Returns the modules as absolute paths.
 */
export function crossCheckModules(
  tasks: readonly DefinitionInput[],
  modules: Readonly<Record<string, string>>,
  baseDir: string,
): { modules: Record<string, string>; problems: ConfigProblem[] } {
  const problems: ConfigProblem[] = [];
  const resolved: Record<string, string> = {};
  for (const [name, path] of Object.entries(modules)) {
    const absolute = resolve(baseDir, path);
    resolved[name] = absolute;
    const stat = statSync(absolute, { throwIfNoEntry: false });
    if (!stat) problems.push({ key: keyOf(['modules', name]), reason: `file '${path}' does not exist (looked for ${absolute})` });
    else if (!stat.isFile()) problems.push({ key: keyOf(['modules', name]), reason: `'${path}' is not a file (${absolute})` });
  }
  for (const task of tasks) {
    const key = keyOf(['tasks', task.name, 'func_name']);
    const split = splitFuncName(task.funcName);
    if (!split) {
      problems.push({ key, reason: `func_name '${task.funcName}' has no module part; a config task names its handler as module.function, with the module listed under modules:` });
    } else if (!Object.hasOwn(modules, split.module)) {
      problems.push({ key, reason: `func_name '${task.funcName}' names module '${split.module}', which is not listed under modules:` });
    }
  }
  return { modules: resolved, problems };
}
