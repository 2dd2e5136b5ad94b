import type { Plugin } from 'graphql-yoga';
import { getOperationAST, GraphQLError, type DocumentNode, type ExecutionResult } from 'graphql';
import type { Catalog } from '../../catalog/contract.js';
import type { ApiContext, ApiLogger } from '../context.js';
import { accessOf } from './permissions.js';
import { RateLimiter } from './rate-limiter.js';
import { roleAllows } from './tokens.js';

/**
 * Access control for every operation, in one place: authentication (the context's principal,
 * from the bearer token), authorization (the role the operation's fields need, see
 * `permissions.ts`), a rate limit on mutations per caller, and the audit log — one entry per
 * mutation request, refused ones included, written to the catalog after the mutation ran.
 *
 * Refusals answer with a GraphQL error whose `extensions.code` is `UNAUTHENTICATED`,
 * `FORBIDDEN` or `RATE_LIMITED`, and the matching HTTP status (401, 403, 429).
 */
export interface AccessControlOptions {
  /** False: every caller is `anonymous` with the admin role (loopback-only nodes by default). */
  readonly auth: boolean;
  readonly mutationsPerMinute: number;
  readonly catalog: Catalog;
  readonly logger?: ApiLogger;
}

const VARIABLES_IN_AUDIT = 2000;

export function useAccessControl(options: AccessControlOptions): Plugin<ApiContext> {
  const limiter = new RateLimiter(options.mutationsPerMinute);

  function refusal(context: ApiContext, document: DocumentNode, operationName: string | null | undefined): GraphQLError | null {
    const operation = getOperationAST(document, operationName);
    if (!operation) return null; // validation already answered
    const access = accessOf(document, operation);
    const { principal } = context.caller;
    let error: GraphQLError | null = null;
    if (options.auth && principal === null) {
      error = problem('UNAUTHENTICATED', 401, 'this node requires an API token: send `Authorization: Bearer <token>`');
    } else if (principal && !roleAllows(principal.role, access.role)) {
      error = problem('FORBIDDEN', 403, `token '${principal.name}' has role ${principal.role}; this operation needs ${access.role}`);
    } else if (access.mutations.length > 0) {
      const key = principal && options.auth ? `token:${principal.name}` : `address:${context.caller.address ?? 'unknown'}`;
      const wait = limiter.take(key, access.mutations.length);
      if (wait > 0) {
        error = problem('RATE_LIMITED', 429, `too many mutations from this caller: at most ${options.mutationsPerMinute} per minute; retry in ${Math.ceil(wait / 1000)} s`);
      }
    }
    return error;
  }

  function audit(context: ApiContext, document: DocumentNode, operationName: string | null | undefined, variables: unknown, result: ExecutionResult): void {
    const operation = getOperationAST(document, operationName);
    if (!operation || operation.operation !== 'mutation') return;
    const { mutations } = accessOf(document, operation);
    const encoded = variables && Object.keys(variables).length > 0 ? encodeVariables(variables) : null;
    const errors = (result.errors ?? []).map((error) => String(error.extensions?.['code'] ?? 'INTERNAL'));
    options.catalog
      .recordAudit({
        at: new Date(),
        actor: context.caller.principal?.name ?? 'unauthenticated',
        role: context.caller.principal?.role ?? 'none',
        address: context.caller.address,
        operations: mutations,
        variables: encoded === null ? null : encoded.slice(0, VARIABLES_IN_AUDIT),
        outcome: errors.length === 0 ? 'ok' : 'error',
        errors: [...new Set(errors)],
      })
      .catch((error: unknown) => options.logger?.error({ err: error, operations: mutations }, 'audit log write failed'));
  }

  return {
    onExecute({ args, setResultAndStopExecution }) {
      const context = args.contextValue;
      const error = refusal(context, args.document, args.operationName);
      if (error) {
        const result = { errors: [error] };
        audit(context, args.document, args.operationName, args.variableValues, result);
        setResultAndStopExecution(result);
        return;
      }
      return {
        onExecuteDone({ result }) {
          if ('errors' in result || 'data' in result) audit(context, args.document, args.operationName, args.variableValues, result as ExecutionResult);
        },
      };
    },
    onSubscribe({ args, setResultAndStopExecution }) {
      const error = refusal(args.contextValue, args.document, args.operationName);
      if (error) setResultAndStopExecution({ errors: [error] });
    },
  };
}

/**
 * The variables as JSON for the audit entry. JSON.stringify recurses, and a request's variables
 * may nest deeper than the stack allows (the body limit is bytes, not depth); this runs after the
 * mutation executed, so a throw here would turn its answer into INTERNAL and lose the entry.
 */
function encodeVariables(variables: object): string {
  try {
    return JSON.stringify(variables);
  } catch (error) {
    return `(variables not recorded: ${error instanceof RangeError ? 'nested too deep' : 'not serialisable'})`;
  }
}

function problem(code: string, status: number, message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code, http: { status } } });
}
