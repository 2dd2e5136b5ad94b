import { update as applyUpdate } from 'mingo';
import type { AnyObject } from 'mingo/types';
import { addCounts, deltasOf } from './run-counts.js';
import type { RunDocument } from './run-document.js';
import type { RevisionMarker, RunUpdateDoc, ShardCollection } from './shard-collection.js';

/**
 * How a run changes: revision markers.
 *
 * Every change of a run is decided on a snapshot of it (revision `rev`) and then committed in
 * two steps:
 *
 * 1. insert the marker `{_id: "<run id>:<rev>"}` into the shard's `run_revisions` collection;
 * 2. if that insert won, write the change to the run by `_id`, setting `rev + 1`.
 *
 * The unique `_id` makes step 1 a compare-and-swap that every engine performs atomically:
 * exactly one writer owns the change from a given revision; everyone else gets a duplicate-key
 * refusal and learns its snapshot is stale (a runner whose lease moved, a second claimer, a
 * stop racing a completion). A conditional `updateOne({_id, status, attempt, runner})` would be
 * simpler, and real MongoDB applies it atomically, but FerretDB 1.24 on SQLite evaluates an
 * update's filter and writes the document in separate steps, so two writers can both match;
 * inserts, in contrast, hit SQLite's unique index. Step 2 filters on `_id` alone, which FerretDB
 * pushes down to SQLite, so it does not scan the collection.
 *
 * A batch of changes costs three round trips per shard: one `insert` of all markers, one bulk
 * update of the winners (plus one `delete` when runs are removed), and one bulk `$inc` of the
 * shard's run counts when statuses changed (`run-counts.ts`).
 *
 * A writer that dies between steps 1 and 2 leaves its marker with the run still at `rev`, and
 * nobody could change the run again. So a marker older than `STUCK_AFTER_MS` whose run is still
 * at that revision is taken as abandoned: the next writer that collides with it bumps the run
 * to `rev + 1` unchanged (the dead writer's change is dropped — it was never acknowledged), and
 * the run moves on. Since step 2 filters on `_id` alone, a writer that was merely paused (a
 * SIGSTOP, a VM freeze, a long GC) must not send it once its marker may count as abandoned: it
 * would overwrite whatever happened meanwhile — the fault suite saw a completed run turned back
 * into a running one and completed twice. So step 2 is sent only within `WRITE_WINDOW_MS` of the
 * snapshot (the marker's `at`); a writer past it drops its change and reports it conflicted, and
 * its markers are released like a dead writer's. The same holds for each chunk of a chunked bulk
 * update (FerretDB takes 16 updates per command, and a chunk can take seconds on a large
 * collection): no chunk is sent after the window, and the changes left unsent are conflicted.
 * Markers are kept for `MARKER_RETENTION_MS`, far longer than any snapshot lives, then deleted by
 * the sweep.
 */

export const STUCK_AFTER_MS = 60_000;
/** Step 2 is sent only this soon after the marker's time; the rest of `STUCK_AFTER_MS` is margin for it to land. */
export const WRITE_WINDOW_MS = STUCK_AFTER_MS / 2;
export const MARKER_RETENTION_MS = 15 * 60_000;
/** Rounds of re-read and decide again before a change that keeps colliding with other writers is given up (`CONFLICT`). */
export const MAX_ROUNDS = 8;

export interface Change {
  /** The snapshot the change was decided on. */
  readonly doc: RunDocument;
  readonly write: RunUpdateDoc | 'delete';
}

export interface CommitResult {
  /** Committed changes: the run after the write (for deletes, the snapshot). */
  readonly committed: RunDocument[];
  /** Snapshots whose revision another writer changed first. */
  readonly conflicted: RunDocument[];
}

const markerId = (doc: RunDocument) => `${doc._id}:${doc.rev}`;

export function withRevision(write: RunUpdateDoc, doc: RunDocument, now: Date): RunUpdateDoc {
  return { ...write, $set: { ...write.$set, rev: doc.rev + 1, updatedAt: now } };
}

/** The document as a write leaves it, computed locally with the same update semantics. */
export function applied(doc: RunDocument, write: RunUpdateDoc): RunDocument {
  const after = structuredClone(doc);
  applyUpdate(after as unknown as AnyObject, structuredClone(write) as AnyObject, undefined, undefined, { cloneMode: 'none' });
  return after;
}

export async function commitChanges(collection: ShardCollection, changes: readonly Change[], now: Date): Promise<CommitResult> {
  if (changes.length === 0) return { committed: [], conflicted: [] };
  const markers: RevisionMarker[] = changes.map((change) => ({
    _id: markerId(change.doc),
    runId: change.doc._id,
    rev: change.doc.rev,
    at: now,
  }));
  const { duplicates } = await collection.insertMarkers(markers);
  // Paused past the window: another writer may have taken these markers for abandoned by now.
  if (Date.now() - now.getTime() > WRITE_WINDOW_MS) return { committed: [], conflicted: changes.map((change) => change.doc) };
  const won = changes.filter((change) => !duplicates.has(markerId(change.doc)));
  const conflicted = changes.filter((change) => duplicates.has(markerId(change.doc))).map((change) => change.doc);

  const updates = won.flatMap((change) =>
    change.write === 'delete' ? [] : [{ doc: change.doc, update: withRevision(change.write, change.doc, now) }],
  );
  const deletes = won.filter((change) => change.write === 'delete').map((change) => change.doc._id);
  const [{ sent }] = await Promise.all([
    updates.length > 0
      ? collection.bulkUpdate(
          updates.map(({ doc, update }) => ({ filter: { _id: doc._id }, update })),
          // A chunked bulk update (FerretDB) can outlast the window: what it did not send by then is dropped like a late writer's.
          now.getTime() + WRITE_WINDOW_MS,
        )
      : { sent: 0 },
    deletes.length > 0 ? collection.deleteMany({ _id: deletes.length === 1 ? deletes[0]! : { $in: deletes } }) : 0,
  ]);
  // Only refused markers can be someone else's abandoned ones; ours, left unsent, are released to
  // the next writer after STUCK_AFTER_MS, as a dead writer's are.
  await releaseAbandoned(collection, conflicted, now);
  for (const { doc } of updates.slice(sent)) conflicted.push(doc);
  const updated = updates.slice(0, sent).map(({ doc, update }) => ({ doc, after: applied(doc, update) }));
  const deleted = won.filter((change) => change.write === 'delete').map((change) => change.doc);
  await addCounts(
    collection,
    deltasOf([
      ...updated.map(({ doc, after }) => ({ doc, from: doc.status, to: after.status })),
      ...deleted.map((doc) => ({ doc, from: doc.status, to: null })),
    ]),
  );
  return { committed: [...updated.map(({ after }) => after), ...deleted], conflicted };
}

/** Bumps runs whose conflicting marker was abandoned by a writer that died between its two steps. */
async function releaseAbandoned(collection: ShardCollection, conflicted: readonly RunDocument[], now: Date): Promise<void> {
  const cutoff = now.getTime() - STUCK_AFTER_MS;
  // A marker is newer than the snapshot it was decided on, so only old snapshots can collide
  // with an abandoned marker; recent collisions are ordinary races and cost no extra read.
  const suspects = conflicted.filter((doc) => doc.updatedAt.getTime() < cutoff);
  if (suspects.length === 0) return;
  const markers = await collection.findMarkers(suspects.map(markerId));
  for (const marker of markers) {
    if (marker.at.getTime() >= cutoff) continue;
    await collection.updateOne({ _id: marker.runId, rev: marker.rev }, { $set: { rev: marker.rev + 1, updatedAt: now } });
  }
}

/** Reads the current documents of `ids` (by `_id` alone when there is one, so FerretDB need not scan). */
export function readRuns(collection: ShardCollection, ids: readonly string[]): Promise<RunDocument[]> {
  if (ids.length === 0) return Promise.resolve([]);
  return collection.find({ _id: ids.length === 1 ? ids[0]! : { $in: [...ids] } });
}
