/**
 * Wakes `wait()` callers in this process as soon as this process settles the run they wait
 * for; runs settled elsewhere are seen by the caller's next poll.
 */
export class RunWaiters {
  readonly #sleepers = new Map<string, Set<() => void>>();

  sleep(id: string, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const sleepers = this.#sleepers.get(id) ?? new Set<() => void>();
      this.#sleepers.set(id, sleepers);
      const done = () => {
        clearTimeout(timer);
        sleepers.delete(done);
        if (sleepers.size === 0 && this.#sleepers.get(id) === sleepers) this.#sleepers.delete(id);
        resolve();
      };
      const timer = setTimeout(done, ms);
      sleepers.add(done);
    });
  }

  wake(id: string): void {
    for (const done of [...(this.#sleepers.get(id) ?? [])]) done();
  }

  wakeAll(): void {
    for (const id of [...this.#sleepers.keys()]) this.wake(id);
  }
}
