/**
 * The UI's only way to the server: GraphQL over HTTP at /graphql.
 *
 * A token, when one is set, is kept in localStorage and sent as `Authorization: Bearer <token>`.
 * Every failure becomes an `ApiError` with a message a person can read and a code (the server's
 * `extensions.code`, or NETWORK / HTTP_<status> when no GraphQL answer came back); an
 * UNAUTHENTICATED answer also tells the app to ask for a token.
 */

export const ENDPOINT = '/graphql';
const TOKEN_KEY = 'taskplane.token';

export class ApiError extends Error {
  /** @param {string} message @param {string} code @param {object[]} [errors] every GraphQL error of the answer */
  constructor(message, code, errors = []) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
    this.errors = errors;
  }
}

export function getToken() {
  try {
    return localStorage.getItem(TOKEN_KEY) || '';
  } catch {
    return ''; // storage disabled (private mode): no token
  }
}

export function setToken(token) {
  try {
    if (token) localStorage.setItem(TOKEN_KEY, token);
    else localStorage.removeItem(TOKEN_KEY);
  } catch {
    /* storage disabled: the token lives only for this page */
  }
  authListeners.forEach((listener) => listener({ needed: false }));
}

const authListeners = new Set();

/** Calls `listener({ needed })` when the server asks for a token or one was set. Returns the unsubscribe. */
export function onAuthChange(listener) {
  authListeners.add(listener);
  return () => authListeners.delete(listener);
}

export function authHeaders() {
  const token = getToken();
  return token ? { authorization: `Bearer ${token}` } : {};
}

/** An ApiError from a GraphQL `errors` list: the first message, with how many more there were. */
export function errorFromGraphQL(errors) {
  const first = errors[0] ?? {};
  const code = first.extensions?.code ?? 'ERROR';
  const more = errors.length > 1 ? ` (and ${errors.length - 1} more error${errors.length > 2 ? 's' : ''})` : '';
  const error = new ApiError(`${first.message ?? 'Unknown error'}${more}`, code, errors);
  if (errors.some((e) => e.extensions?.code === 'UNAUTHENTICATED')) {
    authListeners.forEach((listener) => listener({ needed: true }));
  }
  return error;
}

/**
 * Runs a query or mutation; resolves to `data`. Any error in the answer rejects: the UI shows
 * the error rather than half a page.
 */
export async function gql(query, variables = {}, { signal } = {}) {
  let response;
  try {
    response = await fetch(ENDPOINT, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json', ...authHeaders() },
      body: JSON.stringify({ query, variables }),
      signal,
    });
  } catch (error) {
    if (error?.name === 'AbortError') throw error;
    throw new ApiError(`The server could not be reached (${error?.message ?? error}).`, 'NETWORK');
  }
  let body = null;
  try {
    body = await response.json();
  } catch {
    /* not JSON: a proxy's error page, or a server that is not Taskplane */
  }
  if (body?.errors?.length) throw errorFromGraphQL(body.errors);
  if (!response.ok || !body || body.data == null) {
    if (response.status === 401) authListeners.forEach((listener) => listener({ needed: true }));
    throw new ApiError(`The server answered ${response.status} ${response.statusText || ''}`.trim(), `HTTP_${response.status}`);
  }
  return body.data;
}
