import { RUN_STATUSES, type RunStatus } from '../core/types.js';
import type { RunDocument } from './run-document.js';
import type { ShardCollection } from './shard-collection.js';

/**
 * Run counts: how many runs of each (cluster, name) a shard holds in each status, kept in a
 * small `run_counts` collection beside the runs, so `statistics` reads a handful of documents
 * instead of counting every run (on FerretDB a count reads the whole collection: about 90 ms per
 * 1,000 runs).
 *
 * Every change of a run's status goes through `commitChanges` (transitions.ts) or an insert of
 * new runs (`insertRuns` below); both add their deltas here right after the runs are written —
 * one bulk `$inc` per batch, one statement per (cluster, name) touched.
 *
 * FerretDB 1.24 applies an `$inc` as read, change, write in separate steps, so two writers
 * incrementing one document can lose an increment. The MongoDB engine therefore gives each store
 * instance its own records (one per (cluster, name) it touched) and writes them one batch at a
 * time; `statistics` sums the records.
 *
 * The counts are exact unless a writer dies (or its shard drops) between writing runs and adding
 * their deltas. So `recountWhenQuiet` — called by the storage node that keeps the shard —
 * compares the counts with a real count and adds the difference to correction records that only
 * it writes, but only when no counted change landed on the shard while it counted (the records
 * read before and after the count are equal): a change in flight would otherwise be counted twice.
 *
 * Each process start is a new writer with new records, so the same quiet recount also folds the
 * records of writers idle for `FOLD_IDLE_MS` into the correction records (`foldCounts`): the
 * records stay about as many as the (cluster, name) pairs times the live writers.
 */

/** Record field for each status (`did not start` → `didNotStart`). */
export const COUNT_FIELDS: Readonly<Record<RunStatus, string>> = Object.fromEntries(
  RUN_STATUSES.map((status) => [status, status.replace(/ (\w)/g, (_, c: string) => c.toUpperCase())]),
) as Record<RunStatus, string>;

export interface CountRecord {
  /** `JSON.stringify([cluster, name])`. */
  readonly _id: string;
  readonly cluster: string;
  readonly name: string;
  /** One field per status (`COUNT_FIELDS`); a missing field is 0. */
  readonly [field: string]: string | number;
}

export interface CountDelta {
  readonly cluster: string;
  readonly name: string;
  /** Field (`COUNT_FIELDS`) → change. */
  readonly by: Readonly<Record<string, number>>;
}

export const countKey = (cluster: string, name: string): string => JSON.stringify([cluster, name]);

/** Sums status changes into one delta per (cluster, name), leaving out those that net to zero. */
export function deltasOf(changes: ReadonlyArray<{ doc: Pick<RunDocument, 'cluster' | 'name'>; from: RunStatus | null; to: RunStatus | null }>): CountDelta[] {
  const byKey = new Map<string, { cluster: string; name: string; by: Record<string, number> }>();
  for (const { doc, from, to } of changes) {
    if (from === to) continue;
    const key = countKey(doc.cluster, doc.name);
    let delta = byKey.get(key);
    if (!delta) byKey.set(key, (delta = { cluster: doc.cluster, name: doc.name, by: {} }));
    if (from) delta.by[COUNT_FIELDS[from]] = (delta.by[COUNT_FIELDS[from]] ?? 0) - 1;
    if (to) delta.by[COUNT_FIELDS[to]] = (delta.by[COUNT_FIELDS[to]] ?? 0) + 1;
  }
  const deltas: CountDelta[] = [];
  for (const delta of byKey.values()) {
    for (const [field, n] of Object.entries(delta.by)) if (n === 0) delete delta.by[field];
    if (Object.keys(delta.by).length > 0) deltas.push(delta);
  }
  return deltas;
}

/**
 * Adds deltas after their runs were written. A failure here must not undo or fail the change
 * that was already committed, so it is swallowed: the counts are off until the next recount.
 */
export async function addCounts(collection: ShardCollection, deltas: readonly CountDelta[]): Promise<void> {
  if (deltas.length === 0) return;
  try {
    await collection.addCounts(deltas);
  } catch {
    // Repaired by recountWhenQuiet (see the top of this file).
  }
}

/** Inserts new runs and counts those written; returns the ids refused as duplicates. */
export async function insertRuns(collection: ShardCollection, docs: readonly RunDocument[]): Promise<{ duplicates: Set<string> }> {
  const result = await collection.insertMany(docs);
  const written = docs.filter((doc) => !result.duplicates.has(doc._id));
  await addCounts(collection, deltasOf(written.map((doc) => ({ doc, from: null, to: doc.status }))));
  return result;
}

/** The value of a status in a record (missing → 0). */
export function countIn(record: CountRecord, status: RunStatus): number {
  const value = record[COUNT_FIELDS[status]];
  return typeof value === 'number' ? value : 0;
}

interface CountRow {
  _id: { status: RunStatus; cluster: string; name: string };
  n: number;
}

/** Counts every run of the shard (one aggregation) into records. */
export async function countExactly(collection: ShardCollection): Promise<CountRecord[]> {
  const rows = await collection.aggregate<CountRow>([
    { $group: { _id: { status: '$status', cluster: '$cluster', name: '$name' }, n: { $sum: 1 } } },
  ]);
  const records = new Map<string, Record<string, string | number>>();
  for (const row of rows) {
    if (!(RUN_STATUSES as readonly string[]).includes(row._id.status)) continue;
    const key = countKey(row._id.cluster, row._id.name);
    const record = records.get(key) ?? { _id: key, cluster: row._id.cluster, name: row._id.name };
    record[COUNT_FIELDS[row._id.status]] = row.n;
    records.set(key, record);
  }
  return [...records.values()] as CountRecord[];
}

/** Sums records per (cluster, name): an engine may keep several records for one (see `addCounts`). */
export function sumByKey(records: readonly CountRecord[]): Map<string, CountDelta> {
  const sums = new Map<string, { cluster: string; name: string; by: Record<string, number> }>();
  for (const record of records) {
    const key = countKey(record.cluster, record.name);
    const sum = sums.get(key) ?? { cluster: record.cluster, name: record.name, by: {} };
    for (const status of RUN_STATUSES) {
      const n = countIn(record, status);
      if (n !== 0) sum.by[COUNT_FIELDS[status]] = (sum.by[COUNT_FIELDS[status]] ?? 0) + n;
    }
    sums.set(key, sum);
  }
  return sums;
}

function differences(from: Map<string, CountDelta>, to: Map<string, CountDelta>): CountDelta[] {
  const deltas: CountDelta[] = [];
  for (const key of new Set([...from.keys(), ...to.keys()])) {
    const a = from.get(key);
    const b = to.get(key);
    const by: Record<string, number> = {};
    for (const field of Object.values(COUNT_FIELDS)) {
      const n = (b?.by[field] ?? 0) - (a?.by[field] ?? 0);
      if (n !== 0) by[field] = n;
    }
    if (Object.keys(by).length > 0) deltas.push({ cluster: (a ?? b)!.cluster, name: (a ?? b)!.name, by });
  }
  return deltas;
}

/** A writer's count records untouched for this long are folded into the correction records. */
export const FOLD_IDLE_MS = 60 * 60_000;

export interface RecountResult {
  /** (cluster, name) pairs whose counts were corrected. */
  readonly corrected: number;
  /** Idle writers' records folded into the correction records (see `ShardCollection.foldCounts`). */
  readonly folded: number;
  /** False when counted changes landed meanwhile, so nothing was corrected. */
  readonly quiet: boolean;
}

/**
 * Corrects the run counts that differ from a real count, if no counted change landed on the
 * shard from before the count until `settleMs` after it (a change whose runs were counted but
 * whose deltas had not landed yet would otherwise be counted twice).
 */
export async function recountWhenQuiet(collection: ShardCollection, settleMs = 1000, foldIdleMs = FOLD_IDLE_MS): Promise<RecountResult> {
  const before = sumByKey(await collection.readCounts());
  const actual = sumByKey(await countExactly(collection));
  const after = sumByKey(await collection.readCounts());
  if (differences(before, after).length > 0) return { corrected: 0, folded: 0, quiet: false };
  await new Promise((resolve) => setTimeout(resolve, settleMs));
  if (differences(after, sumByKey(await collection.readCounts())).length > 0) return { corrected: 0, folded: 0, quiet: false };
  const corrections = differences(after, actual);
  if (corrections.length > 0) await collection.correctCounts(corrections);
  // Quiet now, so folding is least likely to meet a write (and a write it meets is repaired by the next recount).
  const folded = await collection.foldCounts(new Date(Date.now() - foldIdleMs));
  return { corrected: corrections.length, folded, quiet: true };
}
