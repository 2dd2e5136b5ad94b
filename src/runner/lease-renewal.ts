import type { Logger } from 'pino';
import { coerceError } from '../core/errors.js';
import type { TaskStore } from '../storage/contract.js';
import type { RunExecution } from './run-execution.js';

/**
 * One pass of the runner's lease upkeep over its running attempts. Due: a third of the lease
 * has passed — or `stopCheckMs` since storage last answered, so a stop request whose Redis
 * message was lost still reaches the handler within that time. A lease reported lost (or past
 * its deadline unconfirmed) aborts its handler; a stop request aborts it as `stopped`.
 *
 * An aborted attempt's lease is still renewed through its abort grace, so the outcome it ends
 * with (stopped, a timeout's failure) is accepted — unless the lease is what was lost.
 */
export async function renewLeases(
  active: ReadonlyMap<string, RunExecution>,
  store: Pick<TaskStore, 'renew'>,
  stopCheckMs: number,
  log: Logger,
): Promise<void> {
  const now = Date.now();
  const due = [...active.values()].filter(
    (e) => e.cause?.kind !== 'lease-lost' && (e.deadline.getTime() - now < (e.run.timeToResolve * 1000 * 2) / 3 || now - e.confirmedAt >= stopCheckMs),
  );
  for (const execution of due) execution.confirmedAt = now;
  for (const execution of active.values()) {
    if (!execution.aborted && execution.deadline.getTime() <= now) execution.abort({ kind: 'lease-lost' });
  }
  if (due.length === 0) return;
  try {
    const results = await store.renew(due.map((e) => e.lease));
    for (const result of results) {
      const execution = active.get(result.id);
      if (!execution) continue;
      if (result.state === 'lost') execution.abort({ kind: 'lease-lost' });
      else if (result.state === 'renewed') {
        execution.deadline = result.deadline;
        if (result.stopRequested) execution.abort({ kind: 'stop' });
      }
    }
  } catch (error) {
    log.error({ err: coerceError(error), count: due.length }, 'lease renewal failed; will retry');
  }
}
