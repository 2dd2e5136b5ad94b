import { createTask } from 'node-cron';

/**
 * The next instant a cron schedule fires after now, as node-cron (the scheduler's cron engine)
 * computes it, or null when the expression does not parse. A stopped task is created only to
 * ask, then destroyed so node-cron's registry does not keep it.
 */
export function nextFireAt(schedule: string): Date | null {
  let task: ReturnType<typeof createTask> | undefined;
  try {
    task = createTask(schedule, () => {});
    return task.getNextRuns(1)[0] ?? null;
  } catch {
    return null;
  } finally {
    void task?.destroy();
  }
}
