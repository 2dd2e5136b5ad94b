import { redactUrl } from './errors.js';

// Mongo connection strings may list several hosts ("h1:1,h2:2"), which the
// WHATWG URL parser rejects, so the path is replaced textually.
const MONGO_URL = /^(mongodb(?:\+srv)?:\/\/)([^/?#]*)(\/[^?#]*)?(\?[^#]*)?$/;

/** Returns `baseUrl` pointing at database `dbName`, keeping hosts, credentials and options. */
export function withDatabase(baseUrl: string, dbName: string): string {
  const match = MONGO_URL.exec(baseUrl);
  if (!match) throw new Error(`not a mongodb:// URL: ${redactUrl(baseUrl)}`);
  const [, scheme = '', authority = '', path = '', query = ''] = match;
  // The query is kept verbatim: re-serialising it would re-encode values.
  const hasAuthSource = /[?&]authSource=/i.test(query);
  // With credentials and no authSource, the driver authenticates against the
  // path database; keep authenticating where the base URL did.
  const authSource = authority.includes('@') && !hasAuthSource ? path.slice(1) || 'admin' : undefined;
  const extra = authSource === undefined ? '' : `authSource=${authSource}`;
  const search = [query.slice(1), extra].filter((part) => part !== '').join('&');
  return `${scheme}${authority}/${dbName}${search ? `?${search}` : ''}`;
}
