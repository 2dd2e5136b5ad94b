import { z } from 'zod';
import { ROLES, type NodeInfo, type RunnerInfo } from '../core/members.js';
import type { Member } from '../coordination/contract.js';
import { dateTextSchema } from '../core/run-input.js';

/**
 * Reading the coordinator's registry. Members publish free-form JSON, and a member running an
 * older or newer version may publish a different shape; an entry that does not parse is left
 * out (and logged by the caller) rather than failing every query that lists runners.
 */

const runnerInfoSchema = z.object({
  id: z.string(),
  node: z.string(),
  cluster: z.string(),
  group: z.string(),
  tags: z.array(z.string()),
  handlers: z.array(z.string()),
  dedicatedHandler: z.string().nullable().optional(),
  capacity: z.number(),
  load: z.number(),
  state: z.enum(['running', 'draining']),
  // A date `Date` cannot read would fail the `DateTime` field that shows it, and with it the whole list.
  startedAt: dateTextSchema,
});

const nodeInfoSchema = z.object({
  id: z.string(),
  roles: z.array(z.enum(ROLES)),
  listen: z.string().nullable(),
  storage: z.string(),
  coordination: z.string(),
  pid: z.number(),
  version: z.string(),
  startedAt: dateTextSchema,
});

export interface RunnerView extends RunnerInfo {
  readonly lastHeartbeat: Date;
}

export interface NodeView extends NodeInfo {
  /** Null for this node when it has not sent a heartbeat yet. */
  readonly lastHeartbeat: Date | null;
}

export function toRunnerView(member: Member): RunnerView | null {
  const parsed = runnerInfoSchema.safeParse(member.info);
  return parsed.success ? { ...parsed.data, lastHeartbeat: member.lastHeartbeat } : null;
}

export function toNodeView(member: Member): NodeView | null {
  const parsed = nodeInfoSchema.safeParse(member.info);
  return parsed.success ? { ...parsed.data, lastHeartbeat: member.lastHeartbeat } : null;
}

/** Runners that could claim a run: its cluster, listening to its tag, with its handler. */
export function matchingRunners(
  runners: readonly RunnerView[],
  run: { readonly cluster: string; readonly tag: string; readonly funcName: string },
): RunnerView[] {
  return runners.filter((r) => r.cluster === run.cluster && r.tags.includes(run.tag) && r.handlers.includes(run.funcName));
}
