import { Kind, visit, type ArgumentNode } from 'graphql';
import { createGraphQLError, type Plugin } from 'graphql-yoga';
import { LIMITS } from '../core/limits.js';

/**
 * Refuses a page size over `LIMITS.pageSize` written in the document (`tasks(first: 100000)`)
 * with `BAD_USER_INPUT` naming the limit, before validation. Without it GraphQL Armor's cost rule,
 * which multiplies by `first`, would refuse the same document as over the cost limit, a message
 * that does not say what to change. Page sizes passed as variables are checked by the fields.
 */
export function usePageSizeLimit(): Plugin {
  return {
    onValidate({ params, setResult }) {
      const tooLarge: ArgumentNode[] = [];
      visit(params.documentAST, {
        Argument(node) {
          if (node.name.value === 'first' && node.value.kind === Kind.INT && Number(node.value.value) > LIMITS.pageSize) {
            tooLarge.push(node);
          }
        },
      });
      if (tooLarge.length === 0) return;
      setResult(
        tooLarge.map((node) =>
          createGraphQLError(
            `first: must be from 1 to ${LIMITS.pageSize} (the page size limit), got ${(node.value as { value: string }).value}; page with \`after\` for more`,
            { nodes: [node], extensions: { code: 'BAD_USER_INPUT', field: 'first' } },
          ),
        ),
      );
    },
  };
}
