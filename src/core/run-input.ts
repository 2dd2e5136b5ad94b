import { z } from 'zod';
import { ValidationError } from './errors.js';
import { LIMITS } from './limits.js';
import { isRunId } from './run-ids.js';
import { RUN_KINDS, RUN_STATUSES, RUNTIMES, type JsonValue, type RunKind, type RunStatus } from './types.js';

/**
 * Validation of everything a caller hands to storage: new runs, filters, ids. Each check throws a
 * `ValidationError` naming the field, so nothing half-valid reaches a shard.
 */

const noControlChars = (value: string) => !/[\u0000-\u001f\u007f]/.test(value);

export const nameSchema = z
  .string()
  .min(1, 'must not be empty')
  .max(LIMITS.nameLength, `must be at most ${LIMITS.nameLength} characters`)
  .refine(noControlChars, 'must not contain control characters');

export const funcNameSchema = z
  .string()
  .max(LIMITS.funcNameLength, `must be at most ${LIMITS.funcNameLength} characters`)
  .regex(
    /^[A-Za-z_$][\w$-]*(\.[A-Za-z_$][\w$-]*)*$/,
    'must be a handler name such as `module.function` (letters, digits, `_`, `-`, `$`, dots between parts)',
  );

export const slugSchema = z
  .string()
  .max(LIMITS.slugLength, `must be at most ${LIMITS.slugLength} characters`)
  .regex(/^[a-z0-9][a-z0-9-]*$/, 'must be a slug: lowercase letters, digits and `-`');

export const tagSchema = z
  .string()
  .max(LIMITS.tagLength, `must be at most ${LIMITS.tagLength} characters`)
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]*$/, 'must be letters, digits, `_`, `.`, `:` or `-`');

export const runtimeSchema = z.enum(RUNTIMES, { error: `must be one of ${RUNTIMES.map((r) => `'${r}'`).join(', ')}` });

/** A date as `toISOString` writes it (anything `Date` can read, at most 40 characters). */
export const dateTextSchema = z
  .string()
  .max(40)
  .refine((text) => !Number.isNaN(Date.parse(text)), 'must be a date (ISO 8601, as toISOString writes it)');

export const runIdSchema = z.string().refine(isRunId, 'must be a UUID').transform((id) => id.toLowerCase());

const seconds = (what: string) =>
  z
    .number()
    .refine(Number.isFinite, `${what} must be a finite number of seconds`)
    .min(0, `${what} must not be negative`)
    .max(LIMITS.maxSeconds, `${what} must be at most ${LIMITS.maxSeconds} seconds`);

/** A run to create. Omitted fields take the store's defaults. */
export const newRunSchema = z.strictObject({
  funcName: funcNameSchema,
  /** @defaultValue `funcName` */
  name: nameSchema.optional(),
  /** @defaultValue `'anonymous'` */
  kind: z.enum(RUN_KINDS).optional(),
  /** @defaultValue `[]` */
  args: z.unknown().optional(),
  /** Given by the scheduler for periodic runs (derived from name and tick); random otherwise. */
  id: runIdSchema.optional(),
  /** Join an existing job (a subtask or flow step); a new run starts its own job otherwise. */
  jobId: runIdSchema.optional(),
  parentId: runIdSchema.optional(),
  /** @defaultValue `'default'` */
  cluster: slugSchema.optional(),
  /** @defaultValue `'default'` */
  tag: tagSchema.optional(),
  /** Higher runs first. @defaultValue `0` */
  priority: z.number().int('priority must be an integer').min(-LIMITS.priority).max(LIMITS.priority).optional(),
  maxAttempts: z.number().int('maxAttempts must be an integer').min(1).max(LIMITS.maxAttempts).optional(),
  delay: seconds('delay').optional(),
  delayFactor: z.number().min(1, 'delayFactor must be at least 1').max(100).optional(),
  timeToResolve: seconds('timeToResolve').positive('timeToResolve must be positive').optional(),
  timeout: seconds('timeout').positive('timeout must be positive').optional(),
  /** How the handler is executed. @defaultValue null (the runner's `task_runner.runtime`) */
  runtime: runtimeSchema.optional(),
  /** Seconds one attempt may run before its handler is aborted. @defaultValue null (the runner's `task_runner.run_timeout`) */
  runTimeout: seconds('runTimeout').positive('runTimeout must be positive').optional(),
  /** Not claimed before this instant. @defaultValue now */
  runAfter: z.date().optional(),
  /** `unknown task` records a start by a name the config does not define. @defaultValue `'pending'` */
  status: z.enum(['pending', 'unknown task']).optional(),
  reason: z.string().max(LIMITS.reasonLength).optional(),
  /** Its name inside a flow; keys its result in its dependents' `inputs`. */
  step: nameSchema.optional(),
  /** Runs of the same job that must complete first (a flow step's dependencies). @defaultValue `[]` */
  dependsOn: z.array(runIdSchema).max(LIMITS.flowSteps).optional(),
  /** Handler that undoes this step when its flow fails after it completed. */
  revert: funcNameSchema.optional(),
  /** For a revert run: the step run it undoes. */
  revertOf: runIdSchema.optional(),
  /** Other runs of the job react to how this one ends (it has dependents, or its flow has reverts). @defaultValue false */
  linked: z.boolean().optional(),
});

/**
 * A subtask queued by a handler through `ctx.spawn`, as stored with its parent until the parent
 * completes. `dependsOn` holds indexes of earlier subtasks of the same parent.
 */
export const spawnRequestSchema = z.strictObject({
  funcName: funcNameSchema,
  args: z.unknown(),
  cluster: slugSchema.optional(),
  tag: tagSchema.optional(),
  step: nameSchema.optional(),
  dependsOn: z.array(z.number().int().min(0)).max(LIMITS.flowSteps),
  priority: z.number().int().min(-LIMITS.priority).max(LIMITS.priority).optional(),
  maxAttempts: z.number().int().min(1).max(LIMITS.maxAttempts).optional(),
  timeToResolve: seconds('timeToResolve').positive().optional(),
  timeout: seconds('timeout').positive().optional(),
  runtime: runtimeSchema.optional(),
  runTimeout: seconds('runTimeout').positive().optional(),
});
export type SpawnRequest = Omit<z.output<typeof spawnRequestSchema>, 'args'> & { args: JsonValue };

export type NewRun = Omit<z.input<typeof newRunSchema>, 'args'> & { args?: JsonValue };
export type ParsedNewRun = Omit<z.output<typeof newRunSchema>, 'args'> & { args?: JsonValue };

/** Which runs a `select` or `statistics` call looks at. */
export const runFilterSchema = z.strictObject({
  name: nameSchema.optional(),
  status: z.union([z.enum(RUN_STATUSES), z.array(z.enum(RUN_STATUSES)).max(RUN_STATUSES.length)]).optional(),
  cluster: slugSchema.optional(),
  tag: tagSchema.optional(),
  jobId: runIdSchema.optional(),
  parentId: runIdSchema.optional(),
  runner: z.string().max(LIMITS.nameLength).optional(),
  funcName: funcNameSchema.optional(),
  createdAfter: z.date().optional(),
  createdBefore: z.date().optional(),
});
export type RunFilter = z.input<typeof runFilterSchema>;
export type ParsedRunFilter = z.output<typeof runFilterSchema>;

export interface RunDefaults {
  /** @defaultValue 60 (the Tarantool `task_ttr`) */
  readonly timeToResolve: number;
  /** @defaultValue 21600 (6 h) */
  readonly timeout: number;
  /** @defaultValue 1 */
  readonly maxAttempts: number;
  /** @defaultValue 60 */
  readonly delay: number;
  /** @defaultValue 1 */
  readonly delayFactor: number;
}

export const DEFAULT_RUN_DEFAULTS: RunDefaults = Object.freeze({
  timeToResolve: 60,
  timeout: 6 * 3600,
  maxAttempts: 1,
  delay: 60,
  delayFactor: 1,
});

/** Parses `value` or throws a `ValidationError` naming the first bad field under `field`. */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, field: string): z.output<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const path = issue && issue.path.length > 0 ? `${field}.${issue.path.join('.')}` : field;
  let message = issue?.message ?? 'is invalid';
  if (issue?.code === 'unrecognized_keys') message = `unknown key(s) ${issue.keys.map((k) => `'${k}'`).join(', ')}`;
  if ((issue?.code === 'invalid_value' || issue?.code === 'invalid_union') && /status(\.\d+)?$/.test(path)) {
    message = `unknown status; expected one of ${RUN_STATUSES.map((s) => `'${s}'`).join(', ')}`;
  }
  throw new ValidationError(path, message, { cause: parsed.error });
}

/** Encodes a JSON payload, refusing what JSON cannot hold and what exceeds the size limit. */
export function encodePayload(value: unknown, field: string): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (error) {
    throw new ValidationError(field, `is not JSON-serialisable (${(error as Error).message})`, { cause: error });
  }
  if (text === undefined) throw new ValidationError(field, 'is not a JSON value');
  // Cheap bound first: every UTF-16 unit costs at least one UTF-8 byte.
  if (text.length > LIMITS.payloadBytes || Buffer.byteLength(text, 'utf8') > LIMITS.payloadBytes) {
    throw new ValidationError(
      field,
      `encodes to ${Buffer.byteLength(text, 'utf8')} bytes, over the limit of ${LIMITS.payloadBytes} bytes`,
    );
  }
  return text;
}

export function parseRunId(value: unknown, field = 'id'): string {
  return parseInput(runIdSchema, value, field);
}

export function parseStatus(value: unknown, field = 'status'): RunStatus {
  return parseInput(z.enum(RUN_STATUSES), value, field);
}

export type { RunKind };
