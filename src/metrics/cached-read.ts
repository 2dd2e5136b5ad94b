/**
 * Wraps a read so that callers within `maxAgeMs` of the last successful answer share it, and
 * callers while a read is in flight share that read. Scrape-time figures use it: statistics is
 * an aggregation per shard (costly on FerretDB), and Prometheus servers in HA pairs scrape twice.
 * A failed read is not kept: the next caller tries again.
 */
export function cachedRead<T>(read: () => Promise<T>, maxAgeMs: number): () => Promise<T> {
  /** `answeredAt` is null while the read is in flight. */
  let last: { value: Promise<T>; answeredAt: number | null } | null = null;
  return () => {
    if (last && (last.answeredAt === null || Date.now() - last.answeredAt < maxAgeMs)) return last.value;
    const entry: { value: Promise<T>; answeredAt: number | null } = { value: Promise.resolve().then(read), answeredAt: null };
    last = entry;
    entry.value.then(
      () => {
        entry.answeredAt = Date.now();
      },
      () => {
        if (last === entry) last = null;
      },
    );
    return entry.value;
  };
}
