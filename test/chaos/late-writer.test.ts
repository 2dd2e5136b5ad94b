import { afterEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_RUN_DEFAULTS } from '../../src/core/run-input.js';
import { leaseOf, type RunnerIdentity } from '../../src/core/types.js';
import type { RevisionMarker } from '../../src/storage/shard-collection.js';
import { BucketRouter } from '../../src/storage/bucket-router.js';
import { MemoryCollection } from '../../src/storage/memory-collection.js';
import { ShardSet } from '../../src/storage/shard-set.js';
import { ShardedTaskStore } from '../../src/storage/sharded-store.js';
import { STUCK_AFTER_MS } from '../../src/storage/transitions.js';

/**
 * The fault suite's long form found it with processes (a runner SIGSTOPped for longer than
 * `STUCK_AFTER_MS`): a writer paused between the two steps of a change — its revision marker
 * inserted, the run not yet written — comes back after another writer took the marker for
 * abandoned, bumped the run and changed it. Its step 2 filters on `_id` alone, so it must not be
 * sent then: it would overwrite the newer state (a completed run turned back into a running one,
 * then completed a second time). This replays it in one process, with the pause and the clock
 * under the test's control.
 */

/** A shard whose next marker insert pauses, after writing, until the test resumes it. */
class PausableCollection extends MemoryCollection {
  #pause: { entered: () => void; gate: Promise<void> } | null = null;

  pauseAfterNextMarkers(): { entered: Promise<void>; resume: () => void } {
    let entered!: () => void;
    let resume!: () => void;
    const enteredPromise = new Promise<void>((resolve) => (entered = resolve));
    const gate = new Promise<void>((resolve) => (resume = resolve));
    this.#pause = { entered, gate };
    return { entered: enteredPromise, resume };
  }

  override async insertMarkers(markers: readonly RevisionMarker[]): Promise<{ duplicates: Set<string> }> {
    const result = await super.insertMarkers(markers);
    const pause = this.#pause;
    if (pause) {
      this.#pause = null;
      pause.entered();
      await pause.gate;
    }
    return result;
  }
}

const runner = (id: string): RunnerIdentity => ({ id, cluster: 'default', tags: ['default'], handlers: ['mod.work'] });

describe('a writer paused between its two steps for longer than STUCK_AFTER_MS', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('drops its change instead of overwriting what happened meanwhile', async () => {
    const shard = new PausableCollection('shard-0');
    const store = new ShardedTaskStore('embedded', new ShardSet([shard], new BucketRouter(1024, 1)), DEFAULT_RUN_DEFAULTS);
    await store.start();
    const run = await store.create({ funcName: 'mod.work' });

    // Runner A inserts its claim marker, then stalls (a SIGSTOP, a VM freeze, a long GC).
    const pause = shard.pauseAfterNextMarkers();
    const late = store.take(runner('runner-a'), 1);
    await pause.entered;

    // More than STUCK_AFTER_MS later, runner B finds the marker abandoned, claims and completes.
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + STUCK_AFTER_MS + 5000);
    expect((await store.take(runner('runner-b'), 1)).runs).toHaveLength(0);
    const [claimed] = (await store.take(runner('runner-b'), 1)).runs;
    expect(claimed?.id).toBe(run.id);
    expect(await store.complete(leaseOf(claimed!), 'done by B')).toBe(true);

    // Runner A wakes up.
    pause.resume();
    expect((await late).runs).toEqual([]);
    const after = await store.get(run.id);
    expect(after).toMatchObject({ status: 'completed', runner: 'runner-b', attempt: 1, result: 'done by B' });
    expect(after?.history.map((h) => `${h.attempt} ${h.runner} ${h.outcome}`)).toEqual(['1 runner-b completed']);
    await store.close();
  });
});
