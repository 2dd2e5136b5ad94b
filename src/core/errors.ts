/**
 * Taskplane's named errors. Each carries a `code` that the GraphQL layer copies into
 * `extensions.code`, and a message a person can act on. Causes are kept in `cause` for logs and
 * never shown to API clients.
 */

export type ErrorCode =
  | 'BAD_USER_INPUT'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'SHARD_UNAVAILABLE'
  | 'CONFIG_INVALID'
  | 'COORDINATION_UNAVAILABLE'
  | 'INTERNAL';

export class TaskplaneError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** Input that fails validation. `field` names the offending input (`args`, `filter.status` …). */
export class ValidationError extends TaskplaneError {
  readonly field: string;

  constructor(field: string, message: string, options?: { cause?: unknown }) {
    super('BAD_USER_INPUT', `${field}: ${message}`, options);
    this.field = field;
  }
}

export class RunNotFoundError extends TaskplaneError {
  readonly runId: string;

  constructor(runId: string) {
    super('NOT_FOUND', `run ${runId} does not exist (it may have been forgotten or trimmed)`);
    this.runId = runId;
  }
}

/** The run exists but is in a status that does not allow the operation. */
export class RunStateError extends TaskplaneError {
  readonly runId: string;
  readonly status: string;

  constructor(runId: string, status: string, operation: string) {
    super('CONFLICT', `cannot ${operation} run ${runId}: it is ${status}`);
    this.runId = runId;
    this.status = status;
  }
}

/** A shard could not be reached. The other shards keep serving. */
export class ShardUnavailableError extends TaskplaneError {
  readonly shard: string;

  constructor(shard: string, options?: { cause?: unknown }) {
    const reason = options?.cause instanceof Error ? `: ${options.cause.message}` : '';
    super('SHARD_UNAVAILABLE', `shard ${shard} is unavailable${reason}`, options);
    this.shard = shard;
  }
}

/** Turns anything thrown into an Error, so loops can log it and go on. */
export function coerceError(thrown: unknown): Error {
  if (thrown instanceof Error) return thrown;
  if (typeof thrown === 'string') return new Error(thrown);
  let text: string;
  try {
    text = JSON.stringify(thrown) ?? String(thrown);
  } catch {
    text = String(thrown);
  }
  const error = new Error(`non-Error thrown: ${text.slice(0, 1000)}`);
  error.name = 'NonError';
  return error;
}

/** The coordinator (Redis) did not answer. Work goes on without it where it can. */
export class CoordinationUnavailableError extends TaskplaneError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('COORDINATION_UNAVAILABLE', `coordination is unavailable: ${message}`, options);
  }
}
