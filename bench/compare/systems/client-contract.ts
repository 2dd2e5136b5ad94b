import type { JsonValue } from '../../../src/core/types.js';
import type { SystemId } from '../settings.js';
import type { WorkerSpec } from '../protocol.js';

/**
 * The benchmark process's side of one system: it creates runs, reads statistics and knows what a
 * worker child needs. Each phase works in a fresh namespace (databases, queue), removed after.
 */
export interface SystemClient {
  readonly id: SystemId;
  /** As the table shows it. */
  readonly label: string;
  /** What the system runs on here (`3 FerretDB shards + Redis`). */
  readonly stack: string;
  open(phase: string): Promise<Namespace>;
}

/** Runs a worker child on `spec` until it reports `count` completions (seeding finished runs). */
export type DrainWith = (spec: WorkerSpec, count: number) => Promise<void>;

export interface Namespace {
  workerSpec(options: { readonly tick: boolean }): WorkerSpec;

  /** The library's bulk create, or null when it has none. Called with one batch at a time. */
  readonly enqueueBulk: ((args: readonly JsonValue[]) => Promise<void>) | null;
  /** Runs per bulk call. */
  readonly bulkBatch: number;
  /** The calls used, for the table's notes (`createMany` of 1,000; `Queue.add`). */
  readonly bulkCall: string;
  readonly oneCall: string;
  /** Creates one run and resolves with its id once the system has stored it. */
  enqueueOne(args: JsonValue): Promise<string>;

  /**
   * Completions the benchmark observes itself (Taskplane: its runner's `runs` messages, at no
   * cost to the worker), as count and epoch ms of the last one; null when the worker reports them.
   */
  completions(): { readonly completed: number; readonly lastAt: number | null } | null;
  /** Create→finish (ms) read from the store, for systems whose worker does not report it; null otherwise. */
  finishLatencies(ids: readonly string[]): Promise<number[] | null>;

  /** Makes the system fire its `* * * * * *` tick (Taskplane's node has it in its config: nothing to do). */
  startTicks(): Promise<void>;
  stopTicks(): Promise<void>;
  /** When each tick run was created (epoch ms by id), where the system stores it apart from the start. */
  tickCreatedAt(ids: readonly string[]): Promise<Map<string, number> | null>;

  /** Puts `count` finished runs in place; resolves with how it did it, for the notes. */
  seedFinished(count: number, drainWith: DrainWith): Promise<string>;
  /** One statistics query (counts by state); resolves with the finished runs it counted. */
  statistics(): Promise<number>;
  /** The query used, for the notes. */
  readonly statisticsCall: string;

  close(): Promise<void>;
}

export const BULK_BATCH = 1000;
