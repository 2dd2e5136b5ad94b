/**
 * Counts MongoDB commands per shard and command name, fed by the store's `onCommand` hook
 * (the driver's command monitoring, `commandStarted` events).
 */

/** shard → command name → count */
export type CommandCounts = Record<string, Record<string, number>>;

export class CommandCounter {
  #counts = new Map<string, Map<string, number>>();

  /** Pass as `mongo.onCommand`. */
  readonly record = (shard: string, commandName: string): void => {
    let byName = this.#counts.get(shard);
    if (!byName) {
      byName = new Map();
      this.#counts.set(shard, byName);
    }
    byName.set(commandName, (byName.get(commandName) ?? 0) + 1);
  };

  /** Runs `body` and returns the commands sent while it ran (nothing else runs meanwhile). */
  async measure<T>(body: () => Promise<T>): Promise<{ value: T; counts: CommandCounts }> {
    this.#counts = new Map();
    const value = await body();
    const counts: CommandCounts = {};
    for (const [shard, byName] of [...this.#counts].sort(([a], [b]) => a.localeCompare(b))) {
      counts[shard] = Object.fromEntries([...byName].sort(([a], [b]) => a.localeCompare(b)));
    }
    this.#counts = new Map();
    return { value, counts };
  }
}

export function totalCommands(counts: CommandCounts): number {
  return Object.values(counts).reduce((sum, byName) => sum + Object.values(byName).reduce((a, b) => a + b, 0), 0);
}

/** Command name → count, summed over shards. */
export function byCommandName(counts: CommandCounts): Record<string, number> {
  const merged: Record<string, number> = {};
  for (const byName of Object.values(counts)) {
    for (const [name, count] of Object.entries(byName)) merged[name] = (merged[name] ?? 0) + count;
  }
  return Object.fromEntries(Object.entries(merged).sort(([a], [b]) => a.localeCompare(b)));
}

/** Commands per shard, in the order of `shards` (0 for a shard that was not contacted). */
export function perShard(counts: CommandCounts, shards: readonly string[]): number[] {
  return shards.map((shard) => Object.values(counts[shard] ?? {}).reduce((a, b) => a + b, 0));
}
