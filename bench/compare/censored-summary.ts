import { summarize, type LatencySummary } from '../lib/percentiles.js';

/**
 * Latency percentiles over every run offered, when some runs never started (or finished) inside
 * the observation window. Those runs count as later than anything observed, so a percentile that
 * lands on them is not a number but "more than the window": `null`, with `windowMs` saying how
 * long was watched. Percentiles over the observed runs alone would flatter a system that fell
 * behind: the runs it never got to are the slow ones.
 */
export interface CensoredSummary {
  /** Runs offered. */
  readonly offered: number;
  /** Runs with a sample (started / finished inside the window). */
  readonly observed: number;
  /** From the first run offered to the end of the observation. */
  readonly windowMs: number;
  readonly p50: number | null;
  readonly p95: number | null;
  readonly p99: number | null;
  /** Largest observed sample. */
  readonly maxObserved: number | null;
}

export function summarizeCensored(samples: readonly number[], offered: number, windowMs: number): CensoredSummary {
  const observed = Math.min(samples.length, offered);
  const sorted = [...samples].sort((a, b) => a - b).slice(0, observed);
  // Nearest rank over all offered runs, as in bench/lib/percentiles.ts.
  const at = (p: number): number | null => {
    if (offered === 0) return null;
    const rank = Math.min(offered, Math.max(1, Math.ceil(p * offered)));
    return rank <= observed ? round(sorted[rank - 1]!) : null;
  };
  return { offered, observed, windowMs: Math.round(windowMs), p50: at(0.5), p95: at(0.95), p99: at(0.99), maxObserved: observed > 0 ? round(sorted[observed - 1]!) : null };
}

/** Plain percentiles (everything observed), rounded to 0.1 ms. */
export function summarizeAll(samples: readonly number[]): LatencySummary | null {
  const summary = summarize(samples);
  return summary && { count: summary.count, p50: round(summary.p50), p95: round(summary.p95), p99: round(summary.p99), max: round(summary.max) };
}

export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

const round = (value: number) => Math.round(value * 10) / 10;
