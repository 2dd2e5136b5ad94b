import type { TaskDefinition } from '../core/definition.js';
import { TaskplaneError, ValidationError } from '../core/errors.js';
import type { FlowStep } from '../core/flow.js';
import { LIMITS } from '../core/limits.js';
import { requireCluster } from './require-cluster.js';
import type { NewRun } from '../core/run-input.js';
import type { JsonValue, Run, Runtime } from '../core/types.js';
import type { TaskStore } from '../storage/contract.js';
import type { Catalog } from './contract.js';

/**
 * Turns "start task X" and "run handler Y" into runs. Used by the API (`task.start`,
 * `task.create`) and the scheduler (ticks and continuous restarts), so a launch means the same
 * thing whoever asks.
 */

/** Per-launch choices that override the definition's (or the defaults, for anonymous runs). */
export interface LaunchOptions {
  readonly cluster?: string;
  readonly tag?: string;
  readonly priority?: number;
  readonly maxAttempts?: number;
  readonly delay?: number;
  readonly delayFactor?: number;
  readonly timeToResolve?: number;
  readonly timeout?: number;
  /** How the handler is executed. */
  readonly runtime?: Runtime;
  /** Seconds one attempt may run before its handler is aborted. */
  readonly runTimeout?: number;
  /** Not claimed before this instant. */
  readonly runAfter?: Date;
  /** Join a job (subtasks and flow steps). */
  readonly jobId?: string;
  readonly parentId?: string;
}

/** `start` of a name with no definition. The attempt is recorded as a run with status `unknown task`. */
export class UnknownTaskError extends TaskplaneError {
  readonly runId: string;

  constructor(name: string, runId: string) {
    super('NOT_FOUND', `no task definition is named '${name}'; the attempt is recorded as run ${runId} with status 'unknown task'`);
    this.runId = runId;
  }
}

/** Replaces each `$args[key]` in `template` by that argument's string value (`normal-$args[region]` → `normal-eu`). */
export function expandTag(template: string, args: JsonValue): string {
  return template.replace(/\$args\[([A-Za-z0-9_]+)\]/g, (_match, key: string) => {
    const value = args !== null && typeof args === 'object' && !Array.isArray(args) ? args[key] : undefined;
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return String(value);
    throw new TaskplaneError('BAD_USER_INPUT', `tag '${template}' needs argument '${key}' as a string, number or boolean`);
  });
}

/** The run a definition launches: its fields, then the launch's own choices. */
export function runOfDefinition(definition: TaskDefinition, args: JsonValue | undefined, options: LaunchOptions & { id?: string } = {}): NewRun {
  const runArgs = args === undefined ? definition.args : args;
  const tagTemplate = options.tag ?? definition.tag;
  const runtime = options.runtime ?? definition.runtime;
  const run: NewRun = {
    funcName: definition.funcName,
    name: definition.name,
    kind: definition.kind,
    args: runArgs,
    cluster: options.cluster ?? definition.cluster,
    priority: options.priority ?? definition.priority,
    ...(tagTemplate !== null ? { tag: expandTag(tagTemplate, runArgs) } : {}),
    ...pick(options, definition, 'maxAttempts'),
    ...pick(options, definition, 'delay'),
    ...pick(options, definition, 'delayFactor'),
    ...pick(options, definition, 'timeToResolve'),
    ...pick(options, definition, 'timeout'),
    ...pick(options, definition, 'runTimeout'),
    ...(runtime !== null ? { runtime } : {}),
    ...(options.runAfter ? { runAfter: options.runAfter } : {}),
    ...(options.id ? { id: options.id } : {}),
    ...(options.jobId ? { jobId: options.jobId } : {}),
    ...(options.parentId ? { parentId: options.parentId } : {}),
  };
  return run;
}

function pick<K extends 'maxAttempts' | 'delay' | 'delayFactor' | 'timeToResolve' | 'timeout' | 'runTimeout'>(
  options: LaunchOptions,
  definition: TaskDefinition,
  key: K,
): Partial<Record<K, number>> {
  const value = options[key] ?? definition[key];
  return value === null || value === undefined ? {} : ({ [key]: value } as Partial<Record<K, number>>);
}

export class Launcher {
  readonly #store: TaskStore;
  readonly #catalog: Catalog;

  constructor(store: TaskStore, catalog: Catalog) {
    this.#store = store;
    this.#catalog = catalog;
  }

  /**
   * Launches definition `name` (Tarantool's `start`). A name with no definition is recorded as an
   * `unknown task` run and reported with `UnknownTaskError`.
   */
  async start(name: string, args?: JsonValue, options: LaunchOptions = {}): Promise<Run> {
    const definition = await this.#catalog.getDefinition(name);
    if (!definition) {
      const recorded = await this.#store.create({
        funcName: 'unknown',
        name,
        kind: 'single_shot',
        args: args ?? [],
        status: 'unknown task',
        reason: `no task definition named '${name}'`,
      });
      throw new UnknownTaskError(name, recorded.id);
    }
    return this.#store.create(runOfDefinition(definition, args, options));
  }

  /**
   * Launches an anonymous run of handler `funcName`. A subtask (`parentId`) joins its parent's
   * job and goes to its parent's cluster unless `cluster` says otherwise.
   */
  async create(funcName: string, args?: JsonValue, options: LaunchOptions = {}): Promise<Run> {
    let inherited: LaunchOptions = {};
    if (options.parentId !== undefined) {
      const parent = await this.#store.get(options.parentId);
      if (!parent) throw new TaskplaneError('NOT_FOUND', `parent run ${options.parentId} does not exist`);
      if (options.jobId !== undefined && options.jobId !== parent.jobId) {
        throw new ValidationError('options.jobId', `parent run ${parent.id} belongs to job ${parent.jobId}, not ${options.jobId}`);
      }
      inherited = { jobId: parent.jobId, cluster: parent.cluster };
    }
    return this.#store.create({ funcName, name: funcName, kind: 'anonymous', args: args ?? [], ...inherited, ...options });
  }

  /**
   * Submits a flow (see `core/flow.ts`). A step names a handler (`funcName`) or a task
   * definition (`task`, whose fields are the step's defaults, tag templates expanded with the
   * step's args). Every cluster named must exist. Nothing is written unless every step is valid.
   */
  async submitFlow(steps: readonly FlowStepLaunch[]): Promise<Run[]> {
    if (steps.length === 0) throw new ValidationError('steps', 'a flow needs at least one step');
    if (steps.length > LIMITS.flowSteps) throw new ValidationError('steps', `at most ${LIMITS.flowSteps} steps, got ${steps.length}`);
    const definitions = new Map((await this.#catalog.listDefinitions()).map((definition) => [definition.name, definition]));
    const clusters = new Map<string, Promise<string>>();
    const resolved = steps.map((launch, index): FlowStep => {
      const { task, funcName, args, step, dependsOn, revert, ...options } = launch;
      const field = `steps[${index}]`;
      if ((task === undefined) === (funcName === undefined)) {
        throw new ValidationError(field, `step '${step}' needs exactly one of funcName (a handler) or task (a definition name)`);
      }
      let fields: NewRun;
      if (task !== undefined) {
        const definition = definitions.get(task);
        if (!definition) throw new ValidationError(`${field}.task`, `no task definition is named '${task}'`);
        fields = runOfDefinition(definition, args, options);
      } else {
        fields = { funcName: funcName!, args: args ?? [], ...options };
      }
      const { kind: _kind, cluster: _cluster, ...stepFields } = fields;
      return {
        ...stepFields,
        cluster: fields.cluster ?? 'default',
        step,
        ...(dependsOn !== undefined ? { dependsOn } : {}),
        ...(revert !== undefined ? { revert } : {}),
      } as FlowStep;
    });
    // Each cluster named is looked up once, whatever the number of steps naming it.
    for (const [index, step] of resolved.entries()) {
      const slug = step.cluster ?? 'default';
      if (!clusters.has(slug)) clusters.set(slug, requireCluster(this.#catalog, slug, `steps[${index}].cluster`));
      (step as { cluster: string }).cluster = await clusters.get(slug)!;
    }
    return this.#store.submitFlow({ steps: resolved });
  }
}

/** One step of a flow as a client submits it. */
export interface FlowStepLaunch extends Omit<LaunchOptions, 'jobId' | 'parentId' | 'runAfter'> {
  readonly step: string;
  /** A handler to run; or `task`. */
  readonly funcName?: string;
  /** A task definition whose fields are the step's defaults; or `funcName`. */
  readonly task?: string;
  readonly args?: JsonValue;
  readonly dependsOn?: readonly string[];
  readonly revert?: string;
}
