import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Runner tokens: what a remote runner shows the api node instead of database credentials. Each
 * is scoped to one cluster (`node.api.runner_tokens: [{ name, cluster, sha256 }]`); like API
 * tokens, the config keeps only the SHA-256. A runner token is `tpr_` + 32 random bytes
 * (base64url), so it is told apart from an API token (`tp_`) at a glance; the two lists are
 * separate, and neither kind is accepted where the other is expected.
 */

export interface RunnerTokenEntry {
  readonly name: string;
  /** The cluster slug whose runs its runners may claim. */
  readonly cluster: string;
  readonly sha256: string;
  /** Clusters besides its own where its runs may spawn subtasks. @defaultValue [] */
  readonly spawnClusters?: readonly string[];
}

/** Who a runner request comes from. */
export interface RunnerPrincipal {
  readonly name: string;
  readonly cluster: string;
  readonly spawnClusters: readonly string[];
}

export function generateRunnerToken(): string {
  return `tpr_${randomBytes(32).toString('base64url')}`;
}

const MAX_TOKEN_LENGTH = 200;

export class RunnerAuthenticator {
  readonly #entries: ReadonlyArray<{ readonly principal: RunnerPrincipal; readonly digest: Buffer }>;

  constructor(tokens: readonly RunnerTokenEntry[]) {
    this.#entries = tokens.map((token) => ({ principal: { name: token.name, cluster: token.cluster, spawnClusters: token.spawnClusters ?? [] }, digest: Buffer.from(token.sha256, 'hex') }));
  }

  get size(): number {
    return this.#entries.length;
  }

  /** The principal of a valid `Authorization: Bearer <token>`; null when missing, malformed or unknown. */
  authenticate(authorization: string | undefined): RunnerPrincipal | null {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    const token = match?.[1];
    if (!token || token.length > MAX_TOKEN_LENGTH) return null;
    const digest = createHash('sha256').update(token, 'utf8').digest();
    // Every entry is compared, in constant time each, so timing says nothing about which matched.
    let found: RunnerPrincipal | null = null;
    for (const entry of this.#entries) if (timingSafeEqual(entry.digest, digest)) found = entry.principal;
    return found;
  }
}
