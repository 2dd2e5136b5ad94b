/**
 * Seconds to wait before retrying after failed attempt number `attempt` (1-based):
 * `delay * delayFactor^(attempt-1)`. delay 8, factor 1.5 → 8, 12, 18, 27 … s.
 */
export function retryDelaySeconds(delay: number, delayFactor: number, attempt: number): number {
  return delay * delayFactor ** Math.max(0, attempt - 1);
}

/** Whether a run that just spent attempt number `attempt` may try again. */
export function hasAttemptsLeft(attempt: number, maxAttempts: number): boolean {
  return attempt < maxAttempts;
}
