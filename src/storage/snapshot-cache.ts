import { isFinalStatus } from '../core/types.js';
import type { RunDocument } from './run-document.js';
import { MARKER_RETENTION_MS } from './transitions.js';

/**
 * The runs this store last wrote, as its writes left them: a settle or a lease renewal of a run
 * the same process claimed decides on that snapshot instead of reading the run back. On FerretDB
 * 1.24 a read by a list of ids decodes the whole collection, so this takes one such read off
 * every settle and renewal batch.
 *
 * A stale snapshot is safe because every change is committed through its revision marker
 * (`transitions.ts`): if another writer changed the run since, it inserted the marker of the
 * snapshot's revision first, ours is refused, and the run is read again. That holds only while
 * that marker exists, so a snapshot is used for at most `MAX_AGE_MS`, well inside
 * `MARKER_RETENTION_MS`. A decision that changes nothing (a lease reported lost) is not trusted
 * to a snapshot: the caller reads the run and decides again.
 */

export const SNAPSHOT_MAX_AGE_MS = 5 * 60_000;
const MAX_ENTRIES = 50_000;

if (SNAPSHOT_MAX_AGE_MS * 2 > MARKER_RETENTION_MS) throw new Error('snapshots must expire well before their markers');

export class SnapshotCache {
  /** Oldest write first (a re-put moves an entry to the end). */
  readonly #entries = new Map<string, { readonly doc: RunDocument; readonly at: number }>();
  readonly #maxEntries: number;

  constructor(maxEntries = MAX_ENTRIES) {
    this.#maxEntries = maxEntries;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Keeps the documents as written; a finished run is dropped (nothing more is written to it by its runner). */
  remember(docs: Iterable<RunDocument>, now = Date.now()): void {
    for (const doc of docs) {
      this.#entries.delete(doc._id);
      if (!isFinalStatus(doc.status)) this.#entries.set(doc._id, { doc, at: now });
    }
    for (const id of this.#entries.keys()) {
      if (this.#entries.size <= this.#maxEntries) break;
      this.#entries.delete(id);
    }
  }

  /** The fresh snapshots of `ids` that are known; expired ones are dropped. */
  lookup(ids: Iterable<string>, now = Date.now()): Map<string, RunDocument> {
    const found = new Map<string, RunDocument>();
    for (const id of ids) {
      const entry = this.#entries.get(id);
      if (!entry) continue;
      if (now - entry.at > SNAPSHOT_MAX_AGE_MS) this.#entries.delete(id);
      else found.set(id, entry.doc);
    }
    return found;
  }

  forget(ids: Iterable<string>): void {
    for (const id of ids) this.#entries.delete(id);
  }
}
