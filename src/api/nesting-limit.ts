import { createGraphQLError, type Plugin } from 'graphql-yoga';

/**
 * Refuses a document whose brackets (`{`, `[`, `(`) nest deeper than `maxNesting`, before it is
 * parsed. graphql-js parses (and later coerces values) recursively, a few stack frames per level:
 * a list literal nested 2,000 deep — 4,000 tokens, under the token limit — overflowed the stack
 * and came back as INTERNAL. Selections are bounded by the depth limit after parsing; this bounds
 * everything, values included, before any recursion. Found by test/api/fuzz.test.ts.
 *
 * Must come after GraphQL Armor among the plugins: armor sets its token-counting parser outright,
 * and this wraps whichever parser is set when its turn comes.
 */
export function useNestingLimit(maxNesting: number): Plugin {
  return {
    onParse({ parseFn, setParseFn }) {
      setParseFn((source, options) => {
        const depth = nestingDepth(typeof source === 'string' ? source : source.body, maxNesting);
        if (depth > maxNesting) {
          throw createGraphQLError(`Syntax Error: brackets nest more than ${maxNesting} deep; send flatter values (or large JSON as a variable)`, {
            extensions: { code: 'GRAPHQL_PARSE_FAILED', http: { status: 400 } },
          });
        }
        return parseFn(source, options);
      });
    },
  };
}

/** How deep `{`, `[` and `(` nest outside strings and comments; stops counting past `stopAfter`. */
export function nestingDepth(source: string, stopAfter = Infinity): number {
  let depth = 0;
  let deepest = 0;
  for (let i = 0; i < source.length; i++) {
    const ch = source[i];
    if (ch === '#') {
      while (i < source.length && source[i] !== '\n' && source[i] !== '\r') i++;
    } else if (ch === '"') {
      if (source.startsWith('"""', i)) {
        let j = i + 3;
        while (j < source.length && !source.startsWith('"""', j)) j += source.startsWith('\\"""', j) ? 4 : 1;
        i = j + 2;
      } else {
        let j = i + 1;
        while (j < source.length && source[j] !== '"' && source[j] !== '\n') j += source[j] === '\\' ? 2 : 1;
        i = j;
      }
    } else if (ch === '{' || ch === '[' || ch === '(') {
      deepest = Math.max(deepest, ++depth);
      if (deepest > stopAfter) return deepest;
    } else if (ch === '}' || ch === ']' || ch === ')') {
      depth = Math.max(0, depth - 1);
    }
  }
  return deepest;
}
