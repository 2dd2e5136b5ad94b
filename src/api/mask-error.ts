import type { GraphQLError } from 'graphql';
import { createGraphQLError } from 'graphql-yoga';
import { UnknownTaskError } from '../catalog/launcher.js';
import { ShardUnavailableError, TaskplaneError, ValidationError } from '../core/errors.js';
import type { ApiLogger } from './context.js';

/**
 * What clients see of an error. Every error leaves with `extensions.code`:
 * - a `TaskplaneError` keeps its message and code (`BAD_USER_INPUT`, `NOT_FOUND`, `CONFLICT`,
 *   `SHARD_UNAVAILABLE` …) plus the fields that help act on it (`field`, `runId`, `shard`);
 * - errors graphql-js or yoga raise about the request keep their message and code
 *   (`GRAPHQL_VALIDATION_FAILED`, `GRAPHQL_PARSE_FAILED`, `REQUEST_ENTITY_TOO_LARGE` …), and those
 *   without one (bad variable values) get `BAD_USER_INPUT`;
 * - anything else is a bug or an outage the client cannot act on: it is logged whole and answered
 *   with `INTERNAL` and a fixed message. Stacks and causes never leave the server.
 */

export const INTERNAL_MESSAGE = 'Internal error; the server logged the details.';

/**
 * By name, not `instanceof`: graphql ships CommonJS and ESM builds, and a process (vitest, a
 * bundler) may load both, so an error from yoga's copy is not an instance of ours.
 */
function isGraphQLError(error: unknown): error is GraphQLError {
  return error instanceof Error && error.name === 'GraphQLError';
}

function rootCause(error: unknown): unknown {
  let current = error;
  while (isGraphQLError(current) && current.originalError) current = current.originalError;
  return current;
}

function detailsOf(error: TaskplaneError): Record<string, unknown> {
  if (error instanceof ValidationError) return { field: error.field };
  if (error instanceof UnknownTaskError) return { runId: error.runId };
  if (error instanceof ShardUnavailableError) return { shard: error.shard };
  return {};
}

/**
 * Extensions that describe the server's own failure, never the request: yoga puts the JSON
 * parser's error (`originalError: {name, message}`, which also echoes the body) on "POST body
 * sent invalid JSON", and dev builds add stacks.
 */
const INTERNAL_EXTENSIONS = new Set(['originalError', 'stacktrace', 'exception']);

function rebuild(error: unknown, message: string, extensions: Record<string, unknown>): GraphQLError {
  const located = isGraphQLError(error) ? error : undefined;
  // The http status (413 for a body too large, 400 for validation) is kept; yoga uses and strips it.
  const http = located?.extensions?.['http'];
  const shown = Object.fromEntries(Object.entries(extensions).filter(([key]) => !INTERNAL_EXTENSIONS.has(key)));
  // Built with yoga's copy of graphql, so yoga takes it as is.
  return createGraphQLError(message, {
    ...(located?.nodes ? { nodes: located.nodes } : {}),
    ...(located?.source ? { source: located.source } : {}),
    ...(located?.positions ? { positions: located.positions } : {}),
    ...(located?.path ? { path: located.path } : {}),
    extensions: { ...shown, ...(http ? { http } : {}) },
  });
}

export function createMaskError(logger?: ApiLogger): (error: unknown, message: string) => Error {
  return (error) => {
    const cause = rootCause(error);
    if (cause instanceof TaskplaneError && cause.code !== 'INTERNAL') {
      return rebuild(error, cause.message, { code: cause.code, ...detailsOf(cause) });
    }
    if (isGraphQLError(cause)) {
      // The outermost error's words: graphql-js prefixes the cause with what it was checking.
      const outer = isGraphQLError(error) ? error : cause;
      const code = outer.extensions?.['code'] ?? cause.extensions?.['code'];
      if (typeof code === 'string' && code !== 'INTERNAL_SERVER_ERROR') {
        return rebuild(error, outer.message, { ...cause.extensions, ...outer.extensions, code });
      }
      // Raised by graphql-js about the request itself (a variable of the wrong type) — it has no
      // path. With a path it came from executing a field: a server-side fault.
      if (!outer.path && code === undefined) return rebuild(error, outer.message, { code: 'BAD_USER_INPUT' });
    }
    logger?.error({ err: cause, path: isGraphQLError(error) ? error.path : undefined }, 'internal error in a GraphQL request');
    return rebuild(error, INTERNAL_MESSAGE, { code: 'INTERNAL' });
  };
}
