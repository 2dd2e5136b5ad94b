import { createGraphQLError, type Plugin } from 'graphql-yoga';

/**
 * Requests yoga cannot read as GraphQL get an error a client can act on — never INTERNAL, never
 * an empty body:
 * - yoga's GET and form-body parsers `JSON.parse` the `variables` and `extensions` parameters
 *   unguarded, so `?variables={` threw a bare SyntaxError that the error mask took for a server
 *   fault (INTERNAL, logged as an error). It is the client's: 400 `BAD_REQUEST`.
 * - a POST whose content type no parser reads got an empty 415; it now says what to send.
 * Found by the GraphQL fuzz test (test/api/fuzz.test.ts).
 */
export function useRequestParseErrors(): Plugin {
  return {
    onRequestParse({ request, requestParser, setRequestParser, endResponse, fetchAPI }) {
      if (!requestParser) {
        // Other methods are answered by yoga's method check (405), which runs after this hook.
        if (request.method !== 'POST') return;
        const type = request.headers.get('content-type');
        const message = `${type ? `content type '${type.slice(0, 100)}' is` : 'a body without a content type is'} not supported: send application/json (or application/graphql, or a form), or use GET with ?query=`;
        endResponse(
          new fetchAPI.Response(JSON.stringify({ errors: [{ message, extensions: { code: 'BAD_REQUEST' } }] }), {
            status: 415,
            headers: { 'content-type': 'application/json; charset=utf-8' },
          }),
        );
        return;
      }
      setRequestParser(async (incoming) => {
        try {
          return await requestParser(incoming);
        } catch (error) {
          // yoga's own refusals (body too large, invalid JSON body, wrong parameter types) are already GraphQL errors.
          if (error instanceof Error && error.name === 'GraphQLError') throw error;
          throw createGraphQLError('the request cannot be read: `variables` and `extensions` must be JSON objects (in a query string or form body too)', {
            extensions: { code: 'BAD_REQUEST', http: { status: 400 } },
          });
        }
      });
    },
  };
}
