/**
 * What the benchmark process and a worker child say to each other over the IPC channel.
 *
 * Each system's worker runs in its own child process, so its peak RSS is its own and its CPU is
 * not shared with the process that creates the runs. Times cross the process boundary as epoch
 * milliseconds with a fraction (`performance.timeOrigin + performance.now()`): both processes
 * read the same system clock.
 *
 * Life of a worker: spawned → `ready` (built and, where the library allows it, connected) → `start`
 * → `started` (processing)
 * → `progress`… → `report` (any number of times) → `stop` → `stopped` (final report) → exits.
 */

export type WorkerSpec =
  | {
      readonly system: 'taskplane';
      readonly shards: readonly string[];
      readonly redisUrl: string;
      readonly redisPrefix: string;
      readonly capacity: number;
      /** With a tick definition the node also has the scheduler role. */
      readonly tick: { readonly name: string; readonly funcName: string; readonly schedule: string } | null;
    }
  | {
      readonly system: 'bullmq';
      readonly redisUrl: string;
      readonly queue: string;
      readonly concurrency: number;
    }
  | {
      readonly system: 'agenda';
      readonly mongoUrl: string;
      readonly collection: string;
      readonly concurrency: number;
      readonly processEveryMs: number;
      readonly poolSize: number;
    };

export type ToWorker = { readonly cmd: 'start' } | { readonly cmd: 'report' } | { readonly cmd: 'stop' };

/** One tick as the worker saw it: the instant it was scheduled for, and when its handler started. */
export interface TickSample {
  readonly id: string;
  /** Epoch ms of the scheduled instant; null when the worker cannot know it (see the system's worker). */
  readonly scheduledAt: number | null;
  readonly startedAt: number;
}

export interface WorkerReport {
  /** Handler calls. */
  readonly started: number;
  /** Runs the worker saw completed and stored (BullMQ, Agenda); Taskplane's are counted from its `runs` messages by the benchmark. */
  readonly completed: number;
  readonly firstStartAt: number | null;
  readonly lastCompletionAt: number | null;
  /** Handler start − `args.t` (the client's clock just before its create call), ms. */
  readonly createToStartMs: readonly number[];
  /** Stored finish time − `args.t`, ms (BullMQ `finishedOn`, Agenda `lastFinishedAt`); Taskplane's are read from the store. */
  readonly createToFinishMs: readonly number[];
  readonly ticks: readonly TickSample[];
  /** MongoDB commands by name, all of the worker's clients (command monitoring): total, and before the first handler call. */
  readonly commands: Readonly<Record<string, number>>;
  readonly commandsBeforeFirstStart: Readonly<Record<string, number>>;
  /** MongoDB commands that failed (command monitoring), and the first one. */
  readonly failedCommands: number;
  readonly firstFailedCommand: string | null;
  /** Errors the system's library reported (error events, failed jobs, unhandled rejections), and the first one's message. */
  readonly errors: number;
  readonly firstError: string | null;
  readonly rssPeakMiB: number;
  readonly rssBaselineMiB: number;
}

export type FromWorker =
  /** `rssBaselineMiB`: the child before any system library was loaded (Node, the TypeScript loader, the recorder). */
  | { readonly type: 'ready'; readonly rssBaselineMiB: number }
  | { readonly type: 'started'; readonly at: number }
  | { readonly type: 'progress'; readonly started: number; readonly completed: number; readonly firstStartAt: number | null; readonly lastCompletionAt: number | null }
  | { readonly type: 'report'; readonly report: WorkerReport }
  | { readonly type: 'stopped'; readonly report: WorkerReport }
  | { readonly type: 'failed'; readonly message: string };

/** Epoch milliseconds with sub-millisecond precision, comparable across processes. */
export function epochNow(): number {
  return performance.timeOrigin + performance.now();
}
