/**
 * Samples this process's resident set size (`process.memoryUsage.rss()`) every `everyMs` and keeps
 * the peak since the last `reset()`, and the peak overall. The timer is unref'd: it never keeps
 * the process alive, but call `stop()` anyway.
 */
export class RssSampler {
  readonly #timer: NodeJS.Timeout;
  #sincePeak = 0;
  #overallPeak = 0;

  constructor(everyMs = 100) {
    this.#sample();
    this.#timer = setInterval(() => this.#sample(), everyMs);
    this.#timer.unref();
  }

  /** Starts a new window: `peakMiB()` covers samples from now on. */
  reset(): void {
    this.#sincePeak = 0;
    this.#sample();
  }

  /** Peak RSS in MiB since the last `reset()` (sampling once more first). */
  peakMiB(): number {
    this.#sample();
    return toMiB(this.#sincePeak);
  }

  overallPeakMiB(): number {
    this.#sample();
    return toMiB(this.#overallPeak);
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  #sample(): void {
    const rss = process.memoryUsage.rss();
    if (rss > this.#sincePeak) this.#sincePeak = rss;
    if (rss > this.#overallPeak) this.#overallPeak = rss;
  }
}

function toMiB(bytes: number): number {
  return Math.round((bytes / 2 ** 20) * 10) / 10;
}
