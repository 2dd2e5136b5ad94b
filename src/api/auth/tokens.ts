import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * API tokens. A token is `tp_` + 32 random bytes (base64url); the config stores only its SHA-256,
 * so a leaked config file grants nothing. SHA-256 without salt is enough here: tokens are random
 * and long, nothing to guess from a dictionary.
 */

export const API_ROLES = ['viewer', 'operator', 'admin'] as const;
export type ApiRole = (typeof API_ROLES)[number];

/** Who sent a request: a token's name and role, or `anonymous` (admin) when auth is off. */
export interface Principal {
  readonly name: string;
  readonly role: ApiRole;
}

export const ANONYMOUS: Principal = Object.freeze({ name: 'anonymous', role: 'admin' });

export function generateToken(): string {
  return `tp_${randomBytes(32).toString('base64url')}`;
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Whether `role` may do what `needed` allows (viewer < operator < admin). */
export function roleAllows(role: ApiRole, needed: ApiRole): boolean {
  return API_ROLES.indexOf(role) >= API_ROLES.indexOf(needed);
}

export interface TokenEntry {
  readonly name: string;
  readonly role: ApiRole;
  readonly sha256: string;
}

/** Bearer tokens of at most this many characters are looked at; longer headers are refused unread. */
const MAX_TOKEN_LENGTH = 200;

/** Checks `Authorization: Bearer <token>` headers against the configured hashes. */
export class Authenticator {
  readonly #entries: ReadonlyArray<{ readonly principal: Principal; readonly digest: Buffer }>;

  constructor(tokens: readonly TokenEntry[]) {
    this.#entries = tokens.map((token) => ({ principal: { name: token.name, role: token.role }, digest: Buffer.from(token.sha256, 'hex') }));
  }

  /** The principal of a valid token; null when the header is missing, malformed or unknown. */
  authenticate(authorization: string | null): Principal | null {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    const token = match?.[1];
    if (!token || token.length > MAX_TOKEN_LENGTH) return null;
    const digest = createHash('sha256').update(token, 'utf8').digest();
    // Compare against every entry in constant time each, so timing says nothing about which matched.
    let found: Principal | null = null;
    for (const entry of this.#entries) if (timingSafeEqual(entry.digest, digest)) found = entry.principal;
    return found;
  }
}
