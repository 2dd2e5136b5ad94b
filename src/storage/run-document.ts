import type { RunDefaults, ParsedNewRun } from '../core/run-input.js';
import type { AttemptRecord, JsonValue, Run, RunError, RunKind, RunStatus, Runtime } from '../core/types.js';

/**
 * How a run is stored in a shard's `runs` collection. Payloads (`args`, `result`) are JSON text,
 * never sub-documents: user keys may contain `.` or start with `$`, and arrays may nest, which
 * neither MongoDB nor FerretDB store faithfully.
 */
export interface RunDocument {
  _id: string;
  jobId: string;
  parentId: string | null;
  bucket: number;
  name: string;
  funcName: string;
  kind: RunKind;
  status: RunStatus;
  attempt: number;
  maxAttempts: number;
  delay: number;
  delayFactor: number;
  timeToResolve: number;
  timeout: number;
  priority: number;
  cluster: string;
  tag: string;
  /** Null (and absent, in documents written before it existed): the runner's default. */
  runtime?: Runtime | null;
  /** Seconds; null or absent: the runner's default. */
  runTimeout?: number | null;
  args: string;
  result: string | null;
  error: RunError | null;
  createdAt: Date;
  runAfter: Date;
  expiresAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  deadline: Date | null;
  runner: string | null;
  stopRequested: boolean;
  reason: string | null;
  /** Revision: bumped by every change; a change from revision r is owned by the writer of marker `<id>:r`. */
  rev: number;
  history: AttemptRecord[];
  updatedAt: Date;
  // ── Jobs (see job-follow-up.ts) ──
  step: string | null;
  dependsOn: string[];
  /** A run in `dependsOn` has not completed: not claimable. */
  blocked: boolean;
  /** JSON text of the dependencies' results, keyed by step (or id), set on unblocking. */
  inputs: string | null;
  revert: string | null;
  revertOf: string | null;
  /** How this run ends matters to other runs of its job (dependents, or reverts in its flow). */
  linked: boolean;
  /** JSON text of the subtasks (`SpawnRequest[]`) its completed attempt queued, until they are created. */
  spawn: string | null;
  /** A final status was written whose consequences for the job (subtasks, dependents, reverts) are not applied yet. */
  followUp: boolean;
}

export interface NewDocumentContext {
  readonly id: string;
  readonly jobId: string;
  readonly bucket: number;
  readonly encodedArgs: string;
  readonly defaults: RunDefaults;
  readonly now: Date;
}

export function newRunDocument(input: ParsedNewRun, ctx: NewDocumentContext): RunDocument {
  const timeout = input.timeout ?? ctx.defaults.timeout;
  const status = input.status ?? 'pending';
  return {
    _id: ctx.id,
    jobId: ctx.jobId,
    parentId: input.parentId ?? null,
    bucket: ctx.bucket,
    name: input.name ?? input.funcName,
    funcName: input.funcName,
    kind: input.kind ?? 'anonymous',
    status,
    attempt: 0,
    maxAttempts: input.maxAttempts ?? ctx.defaults.maxAttempts,
    delay: input.delay ?? ctx.defaults.delay,
    delayFactor: input.delayFactor ?? ctx.defaults.delayFactor,
    timeToResolve: input.timeToResolve ?? ctx.defaults.timeToResolve,
    timeout,
    priority: input.priority ?? 0,
    cluster: input.cluster ?? 'default',
    tag: input.tag ?? 'default',
    runtime: input.runtime ?? null,
    runTimeout: input.runTimeout ?? null,
    args: ctx.encodedArgs,
    result: null,
    error: null,
    createdAt: ctx.now,
    runAfter: input.runAfter ?? ctx.now,
    expiresAt: new Date(ctx.now.getTime() + timeout * 1000),
    startedAt: null,
    finishedAt: status === 'pending' ? null : ctx.now,
    deadline: null,
    runner: null,
    stopRequested: false,
    reason: input.reason ?? null,
    rev: 0,
    history: [],
    updatedAt: ctx.now,
    step: input.step ?? null,
    dependsOn: input.dependsOn ?? [],
    blocked: status === 'pending' && (input.dependsOn?.length ?? 0) > 0,
    inputs: null,
    revert: input.revert ?? null,
    revertOf: input.revertOf ?? null,
    linked: input.linked ?? false,
    spawn: null,
    followUp: false,
  };
}

function decodeJson(text: string | null): JsonValue {
  return text === null ? null : (JSON.parse(text) as JsonValue);
}

export function toRun(doc: RunDocument, shard: string): Run {
  return {
    id: doc._id,
    jobId: doc.jobId,
    parentId: doc.parentId,
    name: doc.name,
    funcName: doc.funcName,
    kind: doc.kind,
    status: doc.status,
    attempt: doc.attempt,
    maxAttempts: doc.maxAttempts,
    delay: doc.delay,
    delayFactor: doc.delayFactor,
    timeToResolve: doc.timeToResolve,
    timeout: doc.timeout,
    priority: doc.priority,
    cluster: doc.cluster,
    tag: doc.tag,
    runtime: doc.runtime ?? null,
    runTimeout: doc.runTimeout ?? null,
    args: decodeJson(doc.args),
    result: decodeJson(doc.result),
    error: doc.error ?? null,
    createdAt: doc.createdAt,
    runAfter: doc.runAfter,
    expiresAt: doc.expiresAt,
    startedAt: doc.startedAt ?? null,
    finishedAt: doc.finishedAt ?? null,
    deadline: doc.deadline ?? null,
    runner: doc.runner ?? null,
    stopRequested: doc.stopRequested === true,
    reason: doc.reason ?? null,
    history: doc.history ?? [],
    step: doc.step ?? null,
    dependsOn: doc.dependsOn ?? [],
    blocked: doc.blocked === true,
    inputs: decodeJson(doc.inputs ?? null) as Run['inputs'],
    revert: doc.revert ?? null,
    revertOf: doc.revertOf ?? null,
    shard,
  };
}
