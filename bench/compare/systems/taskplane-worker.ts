import { pino } from 'pino';
import { scheduledRunId } from '../../../src/core/run-ids.js';
import { createNode } from '../../../src/node/create-node.js';
import type { WorkerSpec } from '../protocol.js';
import { NAMES, type SystemWorkerFactory } from './worker-contract.js';

type TaskplaneSpec = Extract<WorkerSpec, { system: 'taskplane' }>;

/** How far back a tick's scheduled instant is looked for (seconds) when matching its run id. */
const TICK_LOOKBACK_S = 10;

/**
 * A Taskplane runner node as an operator starts one (`createNode`, roles `runner`, or
 * `scheduler` + `runner` for the tick phase), capacity `spec.capacity`, with no-op handlers.
 * Completions are not counted here: the benchmark hears them from the node's own `runs`
 * messages, which cost the worker nothing extra.
 */
export const createTaskplaneWorker: SystemWorkerFactory<TaskplaneSpec> = async (spec, recorder) => {
  const tick = spec.tick;
  const node = createNode({
    node: {
      roles: tick ? ['scheduler', 'runner'] : ['runner'],
      mongo: { shards: [...spec.shards] },
      redis: { url: spec.redisUrl, prefix: spec.redisPrefix },
      runner: { capacity: spec.capacity },
      log_level: 'warn',
    },
    ...(tick ? { tasks: { [tick.name]: { kind: 'periodical', func_name: tick.funcName, schedule: tick.schedule } } } : {}),
    handlers: {
      [NAMES.taskplaneNoop]: (args) => {
        recorder.handlerStarted(args);
        return null;
      },
      ...(tick
        ? {
            [tick.funcName]: (args, ctx) => {
              const startedAt = recorder.handlerStarted(args);
              recorder.tick({ id: ctx.runId, scheduledAt: tickOf(tick.name, ctx.runId, startedAt), startedAt });
              return null;
            },
          }
        : {}),
    },
    // Warnings and errors only, to stderr: the benchmark's stdout carries its table.
    logger: pino({ level: 'warn', base: { bench: 'compare-worker' } }, pino.destination({ dest: 2, sync: false })),
  });
  return {
    start: () => node.start(),
    stop: () => node.close(),
  };
};

/**
 * The instant a periodic run was scheduled for. Its id is derived from (name, instant), so the
 * whole seconds before its start are tried until one gives the id: exact, whatever the delay.
 */
function tickOf(name: string, runId: string, startedAt: number): number | null {
  const second = Math.floor(startedAt / 1000) * 1000;
  for (let back = 0; back <= TICK_LOOKBACK_S; back++) {
    const candidate = second - back * 1000;
    if (scheduledRunId(name, new Date(candidate)) === runId) return candidate;
  }
  return null;
}
