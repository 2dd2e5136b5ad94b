import type { JsonValue } from '../core/types.js';

/**
 * The coordination contract: everything nodes tell each other that is not task state. Redis
 * carries it in a cluster (`redis-coordinator.ts`); an in-process twin carries it in embedded mode
 * (`memory-coordinator.ts`). Roles talk to this interface only, never to ioredis.
 *
 * None of it is the truth about runs — MongoDB is. Losing the coordinator delays work (runners
 * poll, a scheduler without its lease pauses) but never loses a run. So:
 * - `publish` and `heartbeat` never throw: they report failure through `health()` and the
 *   `onError` callback, and callers go on.
 * - Lease calls may throw `CoordinationUnavailableError`; a holder that cannot renew must act
 *   as if it lost the lease.
 *
 * Every key and channel is prefixed with the configured prefix (default `taskplane:`), so
 * several Taskplanes (or test files) can share one Redis.
 */
export interface Coordinator {
  /** `redis` or `in-process`. */
  readonly kind: string;

  start(): Promise<void>;
  /** Unsubscribes and disconnects. Leases held are left to lapse (call `releaseLease` first). */
  close(): Promise<void>;

  // ── Leases: one holder at a time, with a fencing token ──────────────────────────────────
  /**
   * Takes lease `name` for `holder` if it is free or already theirs. Returns the grant, or null
   * when someone else holds it. A new holder always gets a larger `token` than any before it
   * (a counter that survives lease expiry), so a writer can refuse orders from a stale leader.
   */
  acquireLease(name: string, holder: string, ttlMs: number): Promise<LeaseGrant | null>;
  /** Extends a lease still held by `holder` with `token`. False when it lapsed or moved. */
  renewLease(name: string, holder: string, token: number, ttlMs: number): Promise<boolean>;
  /** Gives a lease up if still held by `holder` with `token`. */
  releaseLease(name: string, holder: string, token: number): Promise<void>;
  /** Current leases whose name starts with `prefix` (`scheduler`, `storage:`). */
  listLeases(prefix?: string): Promise<LeaseInfo[]>;

  // ── Registry: live members with a heartbeat TTL ─────────────────────────────────────────
  /** Records (or refreshes) member `id` of `kind` with `info`; it disappears `ttlMs` after its last heartbeat. */
  heartbeat(kind: MemberKind, id: string, info: JsonValue, ttlMs: number): Promise<void>;
  /** Removes a member at once (clean shutdown). */
  leave(kind: MemberKind, id: string): Promise<void>;
  /** Live members of `kind`, with their latest info. */
  members(kind: MemberKind): Promise<Member[]>;

  // ── Messages: fire-and-forget pub/sub ───────────────────────────────────────────────────
  /** Sends `message` to every subscriber of `channel` on any node. Never throws. */
  publish(channel: Channel, message: JsonValue): Promise<void>;
  /** Calls `listener` for each message on `channel` (including this node's own). Returns an unsubscribe function. */
  subscribe(channel: Channel, listener: (message: JsonValue) => void): () => void;

  /** Whether the coordinator answered its last call (for `/readyz` and runner polling). */
  health(): Promise<CoordinatorHealth>;
}

export interface LeaseGrant {
  readonly token: number;
  readonly expiresAt: Date;
}

export interface LeaseInfo {
  readonly name: string;
  readonly holder: string;
  readonly token: number;
  readonly expiresAt: Date;
}

export type MemberKind = 'node' | 'runner';

export interface Member {
  readonly id: string;
  readonly info: JsonValue;
  readonly lastHeartbeat: Date;
}

/**
 * Channels:
 * - `work:<cluster>` — runs became available in a cluster; runners there claim at once.
 * - `stop` — `{ id }`: an operator asked to stop a running run; its runner aborts the handler.
 * - `runs` — `RunEvent[]`: runs changed (created, claimed, finished …); feeds subscriptions.
 * - `definitions` — task definitions changed; schedulers reload.
 * - `config:<name>` — other cluster-wide config changed (clusters, worker groups).
 */
export type Channel = `work:${string}` | 'stop' | 'runs' | 'definitions' | `config:${string}`;

/** What `runs` messages carry: enough to filter subscriptions without a read. */
export interface RunEvent {
  readonly id: string;
  readonly name: string;
  readonly jobId: string;
  readonly cluster: string;
  readonly status: string;
  readonly attempt: number;
  /** ISO time of the change. */
  readonly at: string;
}

export interface CoordinatorHealth {
  readonly ok: boolean;
  readonly kind: string;
  readonly error: string | null;
}
