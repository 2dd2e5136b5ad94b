import { Repeater, SlidingBuffer } from 'graphql-yoga';
import type { RunEvent } from '../../coordination/contract.js';
import { RUN_STATUSES, type Run, type RunStatus } from '../../core/types.js';
import type { Statistics, StatisticsQuery, TaskStore } from '../../storage/contract.js';
import type { ApiLogger } from '../context.js';
import type { RunEventHub } from './run-event-hub.js';

/**
 * The async iterators behind GraphQL subscriptions. Each is a Repeater whose cleanup runs when
 * the client goes away (yoga calls `return()` on disconnect) or when the api closes, and
 * detaches from the hub then.
 *
 * Buffers slide: a client that reads slower than runs change skips older updates rather than
 * growing the server's memory.
 */

/** Updates kept for a slow subscriber before the oldest are dropped. */
const TASK_BUFFER = 1000;
/** `statistics` emits at most once per this many ms. */
export const STATISTICS_MIN_INTERVAL_MS = 1000;
/** `statistics` also re-reads this often, for changes no event announced. */
const STATISTICS_REFRESH_MS = 15_000;

export interface TaskUpdateFilter {
  readonly id?: string;
  readonly name?: string;
  readonly jobId?: string;
  readonly status?: readonly RunStatus[];
}

/**
 * Whether `event` goes to a subscriber with `filter`. Events that name no run status (a
 * forgotten run is announced as `forgotten`) are not run updates and go to nobody.
 */
export function matchesFilter(event: RunEvent, filter: TaskUpdateFilter): boolean {
  return (
    (RUN_STATUSES as readonly string[]).includes(event.status) &&
    (filter.id === undefined || event.id === filter.id) &&
    (filter.name === undefined || event.name === filter.name) &&
    (filter.jobId === undefined || event.jobId === filter.jobId) &&
    (filter.status === undefined || (filter.status as readonly string[]).includes(event.status))
  );
}

/**
 * The run as loaded after `event`, with the status and attempt that change wrote. The read may
 * come after later changes (a run claimed and completed within a millisecond is read completed
 * three times); keeping the event's status gives every subscriber the sequence of changes, and a
 * payload that agrees with the status filter it asked for. The other fields are the latest.
 */
function asOfEvent(run: Run, event: RunEvent): Run {
  return run.status === event.status && run.attempt === event.attempt ? run : { ...run, status: event.status as RunStatus, attempt: event.attempt };
}

/**
 * A run that is gone by the time its event arrives (forgotten right after): what the event says,
 * with neutral values for what it does not.
 */
export function runFromEvent(event: RunEvent): Run {
  const at = new Date(event.at);
  return {
    id: event.id, jobId: event.jobId, parentId: null, name: event.name, funcName: event.name, kind: 'anonymous',
    status: event.status as RunStatus,
    attempt: event.attempt, maxAttempts: Math.max(1, event.attempt), delay: 0, delayFactor: 1, timeToResolve: 0, timeout: 0,
    priority: 0, cluster: event.cluster, tag: 'default', runtime: null, runTimeout: null, args: null, result: null, error: null, createdAt: at, runAfter: at,
    expiresAt: at, startedAt: null, finishedAt: null, deadline: null, runner: null, stopRequested: false,
    reason: 'the run no longer exists; only id, name, jobId, cluster, status and attempt come from its last event',
    history: [], step: null, dependsOn: [], blocked: false, inputs: null, revert: null, revertOf: null, shard: '',
  };
}

export interface LiveStreams {
  taskUpdates(filter: TaskUpdateFilter): AsyncIterableIterator<Run>;
  statistics(query: StatisticsQuery): AsyncIterableIterator<{ query: StatisticsQuery; result: Statistics }>;
  /** Ends every open stream (their clients see the end of the SSE stream). */
  close(): void;
}

export function createLiveStreams(hub: RunEventHub, store: TaskStore, logger?: ApiLogger): LiveStreams {
  const open = new Set<() => void>();
  let closed = false;

  /** Runs `body` as a Repeater that `close()` can end too; after `close()`, streams end at once. */
  function stream<T>(body: (push: (value: T | Promise<T>) => void, stopped: Promise<unknown>) => Promise<void>, size: number) {
    return new Repeater<T>(async (push, stop) => {
      if (closed) return stop();
      const end = () => stop();
      open.add(end);
      try {
        await body((value) => void push(value), stop);
      } finally {
        open.delete(end);
      }
    }, new SlidingBuffer(size));
  }

  return {
    taskUpdates: (filter) =>
      stream<Run>(async (push, stopped) => {
        const detach = hub.listen((events, load) => {
          for (const event of events) {
            if (matchesFilter(event, filter)) push(load(event.id).then((run) => (run ? asOfEvent(run, event) : runFromEvent(event))));
          }
        });
        await stopped;
        detach();
      }, TASK_BUFFER),

    statistics: (query) =>
      stream<{ query: StatisticsQuery; result: Statistics }>(async (push, stopped) => {
        let last = '';
        let lastEmit = 0;
        let timer: NodeJS.Timeout | null = null;
        let reading = false;
        const read = async () => {
          timer = null;
          if (reading) return schedule();
          reading = true;
          lastEmit = Date.now();
          try {
            const result = await store.statistics(query);
            const key = JSON.stringify(result);
            if (key !== last) {
              last = key;
              push({ query, result });
            }
          } catch (error) {
            logger?.warn({ err: error }, 'statistics subscription could not read counts; will retry on the next change');
          } finally {
            reading = false;
          }
        };
        // Throttled: changes within a second of the last read are folded into one read.
        const schedule = () => {
          timer ??= setTimeout(() => void read(), Math.max(0, lastEmit + STATISTICS_MIN_INTERVAL_MS - Date.now()));
        };
        const detach = hub.listen(() => schedule());
        const refresh = setInterval(schedule, STATISTICS_REFRESH_MS);
        await read();
        await stopped;
        detach();
        clearInterval(refresh);
        if (timer) clearTimeout(timer);
      }, 1),

    close() {
      closed = true;
      for (const end of [...open]) end();
    },
  };
}
