/**
 * Token buckets per caller: `perMinute` tokens, refilled continuously. Buckets of callers idle
 * for a minute are full again and are dropped, so memory follows the active callers only.
 */
export class RateLimiter {
  readonly #perMinute: number;
  readonly #buckets = new Map<string, { tokens: number; at: number }>();
  #sweptAt = Date.now();

  constructor(perMinute: number) {
    this.#perMinute = perMinute;
  }

  /** Takes `cost` tokens for `key`; returns 0, or how many ms until they would be there (nothing taken). */
  take(key: string, cost = 1, now = Date.now()): number {
    this.#sweep(now);
    const bucket = this.#buckets.get(key) ?? { tokens: this.#perMinute, at: now };
    bucket.tokens = Math.min(this.#perMinute, bucket.tokens + ((now - bucket.at) * this.#perMinute) / 60_000);
    bucket.at = now;
    this.#buckets.set(key, bucket);
    if (bucket.tokens >= cost) {
      bucket.tokens -= cost;
      return 0;
    }
    return Math.ceil(((cost - bucket.tokens) * 60_000) / this.#perMinute);
  }

  #sweep(now: number): void {
    if (now - this.#sweptAt < 60_000) return;
    this.#sweptAt = now;
    for (const [key, bucket] of this.#buckets) if (now - bucket.at >= 60_000) this.#buckets.delete(key);
  }
}
