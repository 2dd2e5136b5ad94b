import type { Filter, Sort, UpdateFilter } from 'mongodb';
import type { CountDelta, CountRecord } from './run-counts.js';
import type { RunDocument } from './run-document.js';

/**
 * The few collection operations the storage logic needs from one shard. The MongoDB engine
 * passes them to the driver; the embedded engine evaluates the very same filter and update
 * documents with mingo. So claiming, retries, sweeping and trimming are written once, in
 * `sharded-store.ts` and its helpers, as MongoDB queries.
 *
 * Only what both MongoDB 6+ and FerretDB 1.24 support is used: no transactions, change streams,
 * TTL or partial indexes, `$lookup`/`$facet` or `arrayFilters`.
 *
 * Every method throws `ShardUnavailableError` (naming the shard) when the shard cannot be
 * reached.
 */
export interface ShardCollection {
  readonly shard: string;

  connect(): Promise<void>;
  ensureIndexes(): Promise<void>;
  ping(): Promise<void>;
  close(): Promise<void>;

  /** Unordered insert. Returns the ids refused because they already exist. */
  insertMany(docs: readonly RunDocument[]): Promise<{ duplicates: Set<string> }>;
  /** Unordered insert into the revision markers (see `transitions.ts`); returns the ids that already existed. */
  insertMarkers(markers: readonly RevisionMarker[]): Promise<{ duplicates: Set<string> }>;
  findMarkers(ids: readonly string[]): Promise<RevisionMarker[]>;
  /** Deletes markers written before `before`; returns how many. */
  deleteMarkers(before: Date): Promise<number>;
  find(filter: RunFilterDoc, options?: FindOptions): Promise<RunDocument[]>;
  /** Returns the number of documents matched. */
  updateOne(filter: RunFilterDoc, update: RunUpdateDoc): Promise<number>;
  updateMany(filter: RunFilterDoc, update: RunUpdateDoc): Promise<number>;
  /**
   * Several single-document updates in one round trip (FerretDB: in sequential chunks). With
   * `sendBefore` (epoch ms), no chunk is sent after that time: `sent` says how many of `ops`, from
   * the start, were sent; `matched` is the total they matched.
   */
  bulkUpdate(ops: ReadonlyArray<{ filter: RunFilterDoc; update: RunUpdateDoc }>, sendBefore?: number): Promise<{ matched: number; sent: number }>;
  deleteMany(filter: RunFilterDoc): Promise<number>;
  aggregate<T>(pipeline: readonly object[]): Promise<T[]>;

  /**
   * Adds deltas to the run counts (`run-counts.ts`). The MongoDB engine adds them to this store
   * instance's own records, one batch at a time, since FerretDB can lose concurrent increments.
   */
  addCounts(deltas: readonly CountDelta[]): Promise<void>;
  /** Every count record of the shard; several may share a (cluster, name), to be summed. */
  readCounts(): Promise<CountRecord[]>;
  /** Adds a recount's corrections to the shard's correction records (written only by the node keeping the shard). */
  correctCounts(deltas: readonly CountDelta[]): Promise<void>;
  /**
   * Folds the count records of writers that wrote nothing since `idleSince` (stopped processes,
   * mostly) into the correction records and deletes them, leaving every sum as it was; returns
   * how many records were folded. Without it, every process start would add records for good.
   */
  foldCounts(idleSince: Date): Promise<number>;
}

/** `{_id: "<run id>:<rev>"}`: proof that one writer owns the change of that run from revision `rev`. */
export interface RevisionMarker {
  _id: string;
  runId: string;
  rev: number;
  at: Date;
}

export type RunFilterDoc = Filter<RunDocument>;
export type RunUpdateDoc = UpdateFilter<RunDocument>;

export interface FindOptions {
  readonly sort?: Sort & Record<string, 1 | -1>;
  readonly limit?: number;
  readonly skip?: number;
  /** Inclusion projection (`{ _id: 1, status: 1 }`). */
  readonly projection?: Partial<Record<keyof RunDocument, 1>>;
}

/** The indexes every shard has; created on start (the Tarantool `set_ddl` step). */
export const RUN_INDEXES: ReadonlyArray<{ name: string; key: Record<string, 1 | -1> }> = [
  // take: pending runs of a cluster, by priority then due time
  { name: 'claim', key: { status: 1, cluster: 1, priority: -1, runAfter: 1 } },
  // sweep: expired leases and expired pending runs
  { name: 'lease_deadline', key: { status: 1, deadline: 1 } },
  { name: 'pending_expiry', key: { status: 1, expiresAt: 1 } },
  // select: newest first, optionally by name or job
  { name: 'newest', key: { createdAt: -1, _id: -1 } },
  { name: 'by_name', key: { name: 1, createdAt: -1 } },
  { name: 'by_job', key: { jobId: 1, createdAt: -1 } },
  // trim: finished runs of a name, newest first
  { name: 'finished_by_name', key: { name: 1, status: 1, finishedAt: -1 } },
  // sweep: final statuses whose job consequences were not applied (a writer died in between)
  { name: 'follow_up', key: { followUp: 1 } },
];

export const MARKER_INDEXES: ReadonlyArray<{ name: string; key: Record<string, 1 | -1> }> = [{ name: 'written_at', key: { at: 1 } }];
