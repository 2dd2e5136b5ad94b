import { z } from 'zod';
import { cronProblem } from './cron.js';
import { LIMITS } from './limits.js';
import { funcNameSchema, nameSchema, runtimeSchema, slugSchema, tagSchema } from './run-input.js';
import { TASK_KINDS, type JsonValue, type Runtime, type TaskKind } from './types.js';

/**
 * Task definitions: the registered tasks of the cluster-wide config (`tasks:` in the YAML, or
 * defined through the API). Launching one creates a run whose fields come from here; fields left
 * out take the storage defaults (`task_storage.task_ttr` for `timeToResolve` and so on).
 *
 * The same schema checks a definition from a config file (after its snake_case keys are mapped)
 * and one from the API, so both refuse the same things with the same messages.
 */

const seconds = (what: string) =>
  z
    .number({ error: `${what} must be a number of seconds` })
    .refine(Number.isFinite, `${what} must be a finite number of seconds`)
    .min(0, `${what} must not be negative`)
    .max(LIMITS.maxSeconds, `${what} must be at most ${LIMITS.maxSeconds} seconds`);

/** A `tag` may hold `$args[name]` placeholders, replaced by that argument's value at launch. */
const tagTemplateSchema = z
  .string()
  .max(LIMITS.tagLength)
  .regex(/^([A-Za-z0-9_.:-]|\$args\[[A-Za-z0-9_]+\])+$/, 'must be letters, digits, `_`, `.`, `:`, `-` or `$args[name]` placeholders');

export const definitionSchema = z
  .strictObject({
    name: nameSchema,
    kind: z.enum(TASK_KINDS, { error: `kind must be one of ${TASK_KINDS.map((k) => `'${k}'`).join(', ')}` }),
    funcName: funcNameSchema,
    /** Passed to the handler on every launch that does not give its own. @defaultValue `[]` */
    args: z.unknown().optional(),
    /** Cron with seconds; required for `periodical`, refused for the other kinds. */
    schedule: z.string().max(200).optional(),
    /** `continuous` only: seconds between the end of one run and the start of the next. @defaultValue 0 */
    pauseSec: seconds('pauseSec').optional(),
    timeToResolve: seconds('timeToResolve').positive('timeToResolve must be positive').optional(),
    maxAttempts: z.number().int('maxAttempts must be an integer').min(1).max(LIMITS.maxAttempts).optional(),
    delay: seconds('delay').optional(),
    delayFactor: z.number().min(1, 'delayFactor must be at least 1').max(100).optional(),
    timeout: seconds('timeout').positive('timeout must be positive').optional(),
    priority: z.number().int().min(-LIMITS.priority).max(LIMITS.priority).optional(),
    /** @defaultValue `'default'` */
    cluster: slugSchema.optional(),
    tag: z.union([tagSchema, tagTemplateSchema]).optional(),
    /** How its runs' handler is executed. @defaultValue the runner's `task_runner.runtime` (`inline`) */
    runtime: runtimeSchema.optional(),
    /** Seconds one attempt may run before its handler is aborted. @defaultValue the runner's `task_runner.run_timeout` (3600) */
    runTimeout: seconds('runTimeout').positive('runTimeout must be positive').optional(),
  })
  .superRefine((def, ctx) => {
    if (def.kind === 'periodical') {
      if (def.schedule === undefined) {
        ctx.addIssue({ code: 'custom', path: ['schedule'], message: 'a periodical task needs a schedule (cron with seconds)' });
      } else {
        const problem = cronProblem(def.schedule);
        if (problem) ctx.addIssue({ code: 'custom', path: ['schedule'], message: problem });
      }
    } else if (def.schedule !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['schedule'], message: `only periodical tasks have a schedule; this one is ${def.kind}` });
    }
    if (def.pauseSec !== undefined && def.kind !== 'continuous') {
      ctx.addIssue({ code: 'custom', path: ['pauseSec'], message: `only continuous tasks have pause_sec; this one is ${def.kind}` });
    }
  });

export type DefinitionInput = Omit<z.input<typeof definitionSchema>, 'args'> & { args?: JsonValue };

/** Where a definition came from: the config file (replaced on reload) or the API (kept until removed). */
export type DefinitionSource = 'config' | 'api';

export interface TaskDefinition {
  readonly name: string;
  readonly kind: TaskKind;
  readonly funcName: string;
  readonly args: JsonValue;
  readonly schedule: string | null;
  readonly pauseSec: number;
  readonly timeToResolve: number | null;
  readonly maxAttempts: number | null;
  readonly delay: number | null;
  readonly delayFactor: number | null;
  readonly timeout: number | null;
  readonly priority: number;
  readonly cluster: string;
  readonly tag: string | null;
  /** Null: the runner's default. */
  readonly runtime: Runtime | null;
  /** Null: the runner's default. */
  readonly runTimeout: number | null;
  readonly source: DefinitionSource;
  readonly updatedAt: Date;
}

/** Fills defaults of a validated definition. */
export function compileDefinition(input: z.output<typeof definitionSchema>, source: DefinitionSource, now = new Date()): TaskDefinition {
  return Object.freeze({
    name: input.name,
    kind: input.kind,
    funcName: input.funcName,
    args: (input.args ?? []) as JsonValue,
    schedule: input.schedule ?? null,
    pauseSec: input.pauseSec ?? 0,
    timeToResolve: input.timeToResolve ?? null,
    maxAttempts: input.maxAttempts ?? null,
    delay: input.delay ?? null,
    delayFactor: input.delayFactor ?? null,
    timeout: input.timeout ?? null,
    priority: input.priority ?? 0,
    cluster: input.cluster ?? 'default',
    tag: input.tag ?? null,
    runtime: input.runtime ?? null,
    runTimeout: input.runTimeout ?? null,
    source,
    updatedAt: now,
  });
}

/** Two definitions that launch the same runs (ignores `source` and `updatedAt`). */
export function sameDefinition(a: TaskDefinition, b: TaskDefinition): boolean {
  const { source: _s1, updatedAt: _u1, ...left } = a;
  const { source: _s2, updatedAt: _u2, ...right } = b;
  return JSON.stringify(left) === JSON.stringify(right);
}
