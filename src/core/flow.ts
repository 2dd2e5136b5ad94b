import { z } from 'zod';
import { ValidationError } from './errors.js';
import { LIMITS } from './limits.js';
import { funcNameSchema, nameSchema, newRunSchema, parseInput, type NewRun } from './run-input.js';
import type { JsonValue } from './types.js';

/**
 * A flow: a job submitted whole, as steps with `dependsOn` (a DAG). Each step is a run of the
 * job; a step is claimed once every step it depends on completed, and sees their results in
 * `ctx.inputs` keyed by step name. A step that ends otherwise stops its dependents. A step may
 * name a `revert` handler: when the flow fails, the revert handlers of its completed steps run
 * in reverse completion order, each given `{ args, result }` of the step it undoes.
 */

const stepFields = newRunSchema.pick({
  funcName: true,
  name: true,
  cluster: true,
  tag: true,
  priority: true,
  maxAttempts: true,
  delay: true,
  delayFactor: true,
  timeToResolve: true,
  timeout: true,
  runtime: true,
  runTimeout: true,
});

export const flowStepSchema = stepFields.extend({
  /** The step's name, unique in its flow: `dependsOn` and dependents' `inputs` use it. */
  step: nameSchema,
  args: z.unknown().optional(),
  dependsOn: z.array(nameSchema).max(LIMITS.flowSteps).optional(),
  revert: funcNameSchema.optional(),
});

export const flowSchema = z.strictObject({
  steps: z.array(flowStepSchema).min(1, 'a flow needs at least one step').max(LIMITS.flowSteps, `at most ${LIMITS.flowSteps} steps`),
});

export type FlowStep = Omit<z.input<typeof flowStepSchema>, 'args'> & { args?: JsonValue };
export type Flow = { readonly steps: readonly FlowStep[] };

/**
 * Validates a flow and returns its steps in an order where every step comes after the steps it
 * depends on (Kahn's algorithm, ties in the given order). Refuses duplicate step names,
 * dependencies on unknown steps and cycles, naming the step.
 */
export function orderFlow(flow: Flow): FlowStep[] {
  const parsed = parseInput(flowSchema, flow, 'flow');
  const steps = parsed.steps as FlowStep[];
  const index = new Map<string, number>();
  steps.forEach((step, i) => {
    if (index.has(step.step)) throw new ValidationError(`flow.steps[${i}].step`, `step '${step.step}' appears twice; step names must be unique`);
    index.set(step.step, i);
  });
  const waiting = steps.map((step, i) => {
    const deps = new Set(step.dependsOn ?? []);
    for (const dep of deps) {
      if (!index.has(dep)) throw new ValidationError(`flow.steps[${i}].dependsOn`, `step '${step.step}' depends on unknown step '${dep}'`);
      if (dep === step.step) throw new ValidationError(`flow.steps[${i}].dependsOn`, `step '${step.step}' depends on itself`);
    }
    return deps.size;
  });
  const dependents = steps.map(() => [] as number[]);
  steps.forEach((step, i) => new Set(step.dependsOn ?? []).forEach((dep) => dependents[index.get(dep)!]!.push(i)));
  const ready = steps.flatMap((_, i) => (waiting[i] === 0 ? [i] : []));
  const ordered: FlowStep[] = [];
  while (ready.length > 0) {
    const i = ready.shift()!;
    ordered.push(steps[i]!);
    for (const next of dependents[i]!) if (--waiting[next]! === 0) ready.push(next);
  }
  if (ordered.length < steps.length) {
    throw new ValidationError('flow.steps', `dependsOn forms a cycle through step(s) ${describeCycle(steps, waiting)}`);
  }
  return ordered;
}

function describeCycle(steps: readonly FlowStep[], waiting: readonly number[]): string {
  return steps
    .filter((_, i) => waiting[i]! > 0)
    .map((step) => `'${step.step}'`)
    .join(', ');
}

/**
 * The runs of a flow, in dependency order, given the ids drawn for it (`ids[i]` for
 * `ordered[i]`; the first is the job id). Every step is `linked` when the flow has reverts,
 * otherwise only the steps others depend on.
 */
export function flowRuns(ordered: readonly FlowStep[], ids: readonly string[]): NewRun[] {
  const idOf = new Map(ordered.map((step, i) => [step.step, ids[i]!]));
  const hasReverts = ordered.some((step) => step.revert !== undefined);
  const depended = new Set(ordered.flatMap((step) => step.dependsOn ?? []));
  const jobId = ids[0]!;
  return ordered.map((step, i) => {
    const { step: stepName, dependsOn, revert, ...fields } = step;
    return {
      ...fields,
      id: ids[i]!,
      jobId,
      step: stepName,
      dependsOn: [...new Set(dependsOn ?? [])].map((dep) => idOf.get(dep)!),
      linked: hasReverts || depended.has(stepName),
      ...(revert !== undefined ? { revert } : {}),
    };
  });
}
