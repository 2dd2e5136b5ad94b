/**
 * Bounds on everything a client can send. They keep one request from filling a shard or a
 * runner's memory; every one is enforced before anything is written.
 */
export const LIMITS = {
  /** Encoded (JSON, UTF-8) size of a run's `args`, and of a handler's `result`. */
  payloadBytes: 1024 * 1024,
  nameLength: 200,
  funcNameLength: 200,
  slugLength: 100,
  tagLength: 100,
  reasonLength: 1000,
  errorMessageLength: 8 * 1024,
  errorStackLength: 32 * 1024,
  /** Runs accepted by one `createMany`. */
  createBatch: 10_000,
  /** Steps of one flow, subtasks spawned by one run, and dependencies of one run. */
  flowSteps: 1000,
  /** Runs of one job that job-wide operations (status, cancel, retry) look at. */
  jobRuns: 10_000,
  /** Runs returned by one `select` page. */
  pageSize: 1000,
  /** Runs claimed by one `take`. */
  takeBatch: 1000,
  priority: 1_000_000,
  maxAttempts: 1000,
  /** Seconds; one year. */
  maxSeconds: 365 * 24 * 3600,
  /** Cursor strings longer than this are refused unread. */
  cursorLength: 16 * 1024,
  /** Milliseconds ahead of a due time that work may be prepared: a runner's lookahead, a scheduler's lead. */
  aheadMs: 10_000,
} as const;
