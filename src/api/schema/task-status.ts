import { RUN_KINDS, RUN_STATUSES, type RunKind, type RunStatus, type Runtime } from '../../core/types.js';
import { builder } from '../builder.js';

/**
 * The enums over storage words. GraphQL enum names cannot hold spaces, so `did not start` is
 * `DID_NOT_START`; the enum's internal values are the storage words, so resolvers pass them
 * through unchanged.
 */

export function enumName(word: string): string {
  return word.toUpperCase().replace(/ /g, '_');
}

const STATUS_MEANINGS: Record<RunStatus, string> = {
  pending: 'Waiting for a runner: new, or due for a retry at `runAfter`.',
  running: 'Claimed by a runner; its lease is valid until `deadline`.',
  completed: 'The handler returned; `result` holds its value.',
  failed: 'The handler threw on the last allowed attempt; `error` holds the message.',
  lost: 'Its runner stopped renewing the lease on the last allowed attempt.',
  stopped: 'Cancelled by an operator, or stopped while running.',
  'did not start': 'Reached its expiry `timeout` while still pending.',
  'unknown task': 'Started by a name no definition has, or whose handler no longer exists.',
};

export const TaskStatusEnum = builder.enumType('TaskStatus', {
  description: 'Where a run is in its life. `PENDING` and `RUNNING` are live; the others are final and written once.',
  values: Object.fromEntries(
    RUN_STATUSES.map((status) => [enumName(status), { value: status, description: STATUS_MEANINGS[status] }]),
  ) as Record<string, { value: RunStatus; description: string }>,
});

export const TaskKindEnum = builder.enumType('TaskKind', {
  description:
    '`PERIODICAL` (cron with seconds), `CONTINUOUS` (restarted `pauseSec` after each run), `SINGLE_SHOT` (on demand), or `ANONYMOUS` (created by handler name, with no definition).',
  values: Object.fromEntries(RUN_KINDS.map((kind) => [enumName(kind), { value: kind }])) as Record<string, { value: RunKind }>,
});

export const AttemptOutcomeEnum = builder.enumType('AttemptOutcome', {
  description: 'How one attempt ended: a final status, `RETRY` (failed or lost with attempts left) or `RELEASED` (handed back on shutdown, not spent).',
  values: Object.fromEntries(
    [...RUN_STATUSES.filter((s) => s !== 'pending' && s !== 'running'), 'retry', 'released'].map((outcome) => [
      enumName(outcome),
      { value: outcome },
    ]),
  ) as Record<string, { value: string }>,
});

const RUNTIME_MEANINGS: Record<Runtime, string> = {
  inline: "In the runner's own process: no start-up cost, but a handler that ignores its AbortSignal can only be abandoned, and one that blocks the event loop stalls the runner.",
  process: 'In a warm child process of the runner, which loads only the modules listed under `modules:`; a handler that ignores its AbortSignal past the abort grace is killed.',
};

export const HandlerRuntimeEnum = builder.enumType('HandlerRuntime', {
  description: "Where a run's handler executes. A run or definition without one takes its runner's default (`task_runner.runtime`, `INLINE` unless set).",
  values: {
    INLINE: { value: 'inline', description: RUNTIME_MEANINGS.inline },
    PROCESS: { value: 'process', description: RUNTIME_MEANINGS.process },
  } as const,
});
