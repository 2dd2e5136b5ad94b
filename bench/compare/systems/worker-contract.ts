import type { WorkerSpec } from '../protocol.js';
import type { WorkerRecorder } from '../worker-recorder.js';

/**
 * One system's worker inside a worker child: built (and connected, where the library allows it
 * without starting work), then started, then stopped. It feeds `recorder` from its handlers and
 * its library's events.
 */
export interface SystemWorker {
  start(): Promise<void>;
  stop(): Promise<void>;
}

export type SystemWorkerFactory<S extends WorkerSpec = WorkerSpec> = (spec: S, recorder: WorkerRecorder) => Promise<SystemWorker>;

/** Handler names shared by the benchmark process and the workers. */
export const NAMES = Object.freeze({
  taskplaneNoop: 'bench.noop',
  taskplaneTick: 'bench.tick',
  tickDefinition: 'bench_tick',
  bullmqNoop: 'noop',
  bullmqTickScheduler: 'bench-tick',
  bullmqTick: 'tick',
  agendaNoop: 'bench-noop',
  agendaTick: 'bench-tick',
  /** Every system's tick: a 6-field cron with seconds, every second. */
  everySecond: '* * * * * *',
});
