import { RunNotFoundError, TaskplaneError } from '../core/errors.js';
import type { RunDocument } from './run-document.js';
import type { RunUpdateDoc, ShardCollection } from './shard-collection.js';
import type { ShardSet } from './shard-set.js';
import type { SnapshotCache } from './snapshot-cache.js';
import { commitChanges, MAX_ROUNDS, readRuns, type Change } from './transitions.js';

/**
 * Changes to runs by id (renew, settle, stop, retry, forget): decide on a snapshot, commit,
 * re-read on conflict.
 *
 * The caller decides each run's change on its current document; the changes are committed
 * through revision markers (`transitions.ts`), so a run another writer changed first is refused,
 * read again and decided again, for at most `MAX_ROUNDS` rounds. The first round may decide on
 * the store's own last write instead of a read, but only where that leads to a change
 * (`snapshot-cache.ts` says why that is safe); the cache then learns what was committed, and
 * forgets what was deleted or refused.
 */

/**
 * What to do with one run, decided on its current document: commit `change` (then map the run
 * as written with `onCommit`), or answer `done` without writing.
 */
export type Decision<T> = { readonly change: RunUpdateDoc | 'delete'; readonly onCommit: (after: RunDocument) => T } | { readonly done: T };

/**
 * Decides a change for each run on its current document and commits the changes together;
 * runs another writer changed first are re-read and decided again.
 */
export async function decideEach<T>(
  snapshots: SnapshotCache,
  collection: ShardCollection,
  ids: readonly string[],
  decide: (id: string, doc: RunDocument | undefined, now: Date) => Decision<T>,
): Promise<Map<string, T>> {
  const results = new Map<string, T>();
  let open = [...new Set(ids)];
  for (let round = 0; open.length > 0; round++) {
    if (round === MAX_ROUNDS) {
      throw new TaskplaneError('CONFLICT', `run ${open[0]} kept changing while being written; try again`);
    }
    const now = new Date();
    const decisions = new Map<string, { doc: RunDocument | undefined; decision: Decision<T> }>();
    // First round: what this store last wrote, where that leads to a change (see snapshot-cache.ts).
    if (round === 0) {
      for (const [id, doc] of snapshots.lookup(open, now.getTime())) {
        const decision = decide(id, doc, now);
        if ('change' in decision) decisions.set(id, { doc, decision });
      }
    }
    const unread = open.filter((id) => !decisions.has(id));
    const current = new Map((await readRuns(collection, unread)).map((doc) => [doc._id, doc]));
    for (const id of unread) decisions.set(id, { doc: current.get(id), decision: decide(id, current.get(id), now) });
    const changes: Change[] = [];
    const onCommit = new Map<string, (after: RunDocument) => T>();
    for (const [id, { doc, decision }] of decisions) {
      if ('done' in decision) {
        results.set(id, decision.done);
      } else {
        changes.push({ doc: doc!, write: decision.change });
        onCommit.set(id, decision.onCommit);
      }
    }
    const { committed, conflicted } = await commitChanges(collection, changes, now);
    const deleted = new Set(changes.filter((change) => change.write === 'delete').map((change) => change.doc._id));
    snapshots.remember(committed.filter((after) => !deleted.has(after._id)));
    snapshots.forget([...deleted, ...conflicted.map((doc) => doc._id)]);
    for (const after of committed) results.set(after._id, onCommit.get(after._id)!(after));
    open = conflicted.map((doc) => doc._id);
  }
  return results;
}

/** `decideEach` for one run by id: a missing run is `NOT_FOUND`; a decided `Error` is thrown. */
export async function decideOne<T>(
  shards: ShardSet,
  snapshots: SnapshotCache,
  runId: string,
  operation: string,
  decide: (doc: RunDocument, now: Date) => Decision<T | Error>,
): Promise<T> {
  const results = await decideEach<T | Error>(snapshots, shards.forRun(runId), [runId], (id, doc, now) =>
    doc ? decide(doc, now) : { done: new RunNotFoundError(id) },
  );
  const result = results.get(runId);
  if (result === undefined) throw new TaskplaneError('INTERNAL', `${operation} of run ${runId} decided nothing`);
  if (result instanceof Error) throw result;
  return result;
}
