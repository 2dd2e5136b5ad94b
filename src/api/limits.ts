import type { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';

import type { GraphQLError, ValidationContext } from 'graphql';

type GraphQLArmorConfig = NonNullable<Parameters<typeof EnvelopArmorPlugin>[0]>;

/**
 * Bounds on one GraphQL request, so no single client can make a node parse, validate or resolve
 * without end. Enforced before execution by GraphQL Armor (tokens while parsing; depth, aliases,
 * directives and cost as validation rules) and by yoga (body size, before parsing). Page sizes
 * are bounded per field (`first` ≤ `LIMITS.pageSize`).
 */
export interface ApiLimits {
  /** Bytes of a request body; a larger one is answered 413 unread. @defaultValue 2 MiB */
  readonly maxBodyBytes: number;
  /** Lexical tokens of a document. @defaultValue 5000 */
  readonly maxTokens: number;
  /** Nesting of selections. @defaultValue 12 */
  readonly maxDepth: number;
  /**
   * Brackets (`{ [ (`) open at once anywhere in a document, values included; checked before
   * parsing, which recurses per level. Room for 12 levels of selections with arguments around a
   * JSON literal of the 100 levels the JSON scalar takes. @defaultValue 150
   */
  readonly maxNesting: number;
  /** Aliased fields in one operation. @defaultValue 30 */
  readonly maxAliases: number;
  /** Directives in one operation. @defaultValue 50 */
  readonly maxDirectives: number;
  /**
   * GraphQL Armor's static cost: objects 2, scalars 1, × 1.5 per level of depth, × `first` of
   * lists. A page of 1000 runs with every field, job, parent, runner and history costs about
   * 225 000 and fits; a page of pages (1000 runs × 1000 children) costs millions and does not.
   * @defaultValue 500000
   */
  readonly maxCost: number;
}

export const DEFAULT_API_LIMITS: ApiLimits = Object.freeze({
  maxBodyBytes: 2 * 1024 * 1024,
  // Large enough for any hand-written or UI query (the biggest the UI sends is a few hundred).
  maxTokens: 5000,
  maxDepth: 12,
  maxNesting: 150,
  maxAliases: 30,
  maxDirectives: 50,
  maxCost: 500_000,
});

/**
 * Validation rules report their refusal as validation errors (yoga answers them 400 with
 * `GRAPHQL_VALIDATION_FAILED`, next to any other problem of the document) instead of throwing,
 * which would end validation at the first one. The token limit acts in the parser, where a
 * refusal is a syntax error (`GRAPHQL_PARSE_FAILED`).
 */
const report = {
  propagateOnRejection: false,
  onReject: [(context: ValidationContext | null, error: GraphQLError) => context?.reportError(error)],
};

export function armorConfig(limits: ApiLimits): GraphQLArmorConfig {
  return {
    maxTokens: { n: limits.maxTokens },
    maxDepth: { n: limits.maxDepth, ignoreIntrospection: true, flattenFragments: true, ...report },
    // Aliases of `__typename` count too (armor lets them through by default): each is still work.
    maxAliases: { n: limits.maxAliases, allowList: [], ...report },
    maxDirectives: { n: limits.maxDirectives, ...report },
    costLimit: { maxCost: limits.maxCost, ignoreIntrospection: true, ...report },
    // Suggestions ("did you mean …") stay on: the schema is not secret, and they help people.
    blockFieldSuggestion: { enabled: false },
  };
}
