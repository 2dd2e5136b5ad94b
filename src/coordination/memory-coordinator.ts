import { coerceError, CoordinationUnavailableError } from '../core/errors.js';
import type { JsonValue } from '../core/types.js';
import type {
  Channel,
  Coordinator,
  CoordinatorHealth,
  LeaseGrant,
  LeaseInfo,
  Member,
  MemberKind,
} from './contract.js';

export interface MemoryCoordinatorOptions {
  /** Called when a listener throws; the other listeners still get the message. */
  readonly onError?: (error: Error) => void;
}

interface HeldLease {
  readonly holder: string;
  readonly token: number;
  expiresAt: number;
}

interface LiveMember {
  /** JSON, so `members()` hands out copies. */
  readonly info: string;
  readonly lastHeartbeat: number;
  readonly expiresAt: number;
}

type Listener = (message: JsonValue) => void;

/**
 * The coordinator of embedded mode: one process, no Redis, the same contract.
 *
 * It mirrors what the Redis coordinator does closely enough that code tested against one behaves
 * the same on the other:
 * - Expiry is checked lazily against `Date.now()` on every read, so no timers are left behind.
 * - Fencing tokens count per lease name, with the clock (ms) as their floor, and survive expiry
 *   and release, as in Redis.
 * - Messages are serialized to JSON when published (a later change to the publisher's object is
 *   not seen, and values JSON cannot carry are dropped exactly as over Redis) and parsed once per
 *   listener, so no listener can change what another one sees. Delivery happens in a later
 *   `setImmediate` turn: a publisher never runs listeners re-entrantly, and a listener that
 *   publishes in turn cannot starve I/O the way a microtask chain would.
 * - A listener unsubscribed before delivery does not get the message; one subscribed after the
 *   publish does not either (Redis has the same semantics).
 *
 * State: `open` → `closed`. After `close()`, lease calls throw `CoordinationUnavailableError`,
 * `publish` and `heartbeat` do nothing, and queued deliveries are dropped.
 */
export class MemoryCoordinator implements Coordinator {
  readonly kind = 'in-process';

  readonly #onError: ((error: Error) => void) | undefined;
  readonly #leases = new Map<string, HeldLease>();
  readonly #tokens = new Map<string, number>();
  readonly #members = new Map<MemberKind, Map<string, LiveMember>>();
  readonly #listeners = new Map<Channel, Set<Listener>>();
  #closed = false;

  constructor(options: MemoryCoordinatorOptions = {}) {
    this.#onError = options.onError;
  }

  async start(): Promise<void> {
    this.#assertOpen();
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#listeners.clear();
  }

  // ── Leases ────────────────────────────────────────────────────────────────────────────────

  async acquireLease(name: string, holder: string, ttlMs: number): Promise<LeaseGrant | null> {
    this.#assertOpen();
    const ttl = checkTtl(ttlMs);
    const now = Date.now();
    const current = this.#liveLease(name, now);
    if (current && current.holder !== holder) return null;
    if (current) {
      current.expiresAt = now + ttl;
      return { token: current.token, expiresAt: new Date(current.expiresAt) };
    }
    // The same tokens as Redis gives: a counter with the clock as its floor.
    const token = Math.max((this.#tokens.get(name) ?? 0) + 1, now);
    this.#tokens.set(name, token);
    this.#leases.set(name, { holder, token, expiresAt: now + ttl });
    return { token, expiresAt: new Date(now + ttl) };
  }

  async renewLease(name: string, holder: string, token: number, ttlMs: number): Promise<boolean> {
    this.#assertOpen();
    const ttl = checkTtl(ttlMs);
    const now = Date.now();
    const current = this.#liveLease(name, now);
    if (!current || current.holder !== holder || current.token !== token) return false;
    current.expiresAt = now + ttl;
    return true;
  }

  async releaseLease(name: string, holder: string, token: number): Promise<void> {
    this.#assertOpen();
    const current = this.#liveLease(name, Date.now());
    if (current && current.holder === holder && current.token === token) this.#leases.delete(name);
  }

  async listLeases(prefix = ''): Promise<LeaseInfo[]> {
    this.#assertOpen();
    const now = Date.now();
    const leases: LeaseInfo[] = [];
    for (const name of [...this.#leases.keys()].sort()) {
      if (!name.startsWith(prefix)) continue;
      const lease = this.#liveLease(name, now);
      if (lease) leases.push({ name, holder: lease.holder, token: lease.token, expiresAt: new Date(lease.expiresAt) });
    }
    return leases;
  }

  /** The lease on `name` if it has not expired; an expired one is dropped on the way. */
  #liveLease(name: string, now: number): HeldLease | undefined {
    const lease = this.#leases.get(name);
    if (lease && lease.expiresAt <= now) {
      this.#leases.delete(name);
      return undefined;
    }
    return lease;
  }

  // ── Registry ──────────────────────────────────────────────────────────────────────────────

  async heartbeat(kind: MemberKind, id: string, info: JsonValue, ttlMs: number): Promise<void> {
    if (this.#closed) return;
    let encoded: string;
    try {
      encoded = JSON.stringify(info) ?? 'null';
    } catch (error) {
      this.#report(error);
      return;
    }
    if (!Number.isFinite(ttlMs) || ttlMs < 1) {
      this.#report(new RangeError(`a heartbeat TTL must be at least 1 ms, got ${ttlMs}`));
      return;
    }
    const now = Date.now();
    let members = this.#members.get(kind);
    if (!members) this.#members.set(kind, (members = new Map()));
    members.set(id, { info: encoded, lastHeartbeat: now, expiresAt: now + ttlMs });
  }

  async leave(kind: MemberKind, id: string): Promise<void> {
    this.#members.get(kind)?.delete(id);
  }

  async members(kind: MemberKind): Promise<Member[]> {
    const members = this.#members.get(kind);
    if (!members) return [];
    const now = Date.now();
    const live: Member[] = [];
    for (const [id, member] of members) {
      if (member.expiresAt <= now) {
        members.delete(id);
        continue;
      }
      live.push({ id, info: JSON.parse(member.info) as JsonValue, lastHeartbeat: new Date(member.lastHeartbeat) });
    }
    return live.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  // ── Messages ──────────────────────────────────────────────────────────────────────────────

  async publish(channel: Channel, message: JsonValue): Promise<void> {
    if (this.#closed) return;
    const listeners = this.#listeners.get(channel);
    if (!listeners || listeners.size === 0) return;
    let encoded: string;
    try {
      encoded = JSON.stringify(message) ?? 'null';
    } catch (error) {
      this.#report(error);
      return;
    }
    const recipients = [...listeners];
    setImmediate(() => {
      for (const listener of recipients) {
        // Unsubscribed (or closed) since the publish: Redis would not deliver either.
        if (this.#closed || !this.#listeners.get(channel)?.has(listener)) continue;
        try {
          listener(JSON.parse(encoded) as JsonValue);
        } catch (error) {
          this.#report(error);
        }
      }
    });
  }

  subscribe(channel: Channel, listener: (message: JsonValue) => void): () => void {
    if (this.#closed) return () => {};
    let listeners = this.#listeners.get(channel);
    if (!listeners) this.#listeners.set(channel, (listeners = new Set()));
    // Wrapped so the same function subscribed twice is called twice and unsubscribed once each.
    const entry: Listener = (message) => listener(message);
    listeners.add(entry);
    return () => {
      const current = this.#listeners.get(channel);
      if (!current) return;
      current.delete(entry);
      if (current.size === 0) this.#listeners.delete(channel);
    };
  }

  async health(): Promise<CoordinatorHealth> {
    return this.#closed
      ? { ok: false, kind: this.kind, error: 'the coordinator is closed' }
      : { ok: true, kind: this.kind, error: null };
  }

  #assertOpen(): void {
    if (this.#closed) throw new CoordinationUnavailableError('the in-process coordinator is closed');
  }

  #report(thrown: unknown): void {
    const error = coerceError(thrown);
    if (!this.#onError) return;
    try {
      this.#onError(error);
    } catch {
      // An error reporter that throws must not break delivery to the next listener.
    }
  }
}

/** Lease TTLs are whole milliseconds, as Redis' `PX` takes them. */
function checkTtl(ttlMs: number): number {
  if (!Number.isFinite(ttlMs) || ttlMs < 1) throw new RangeError(`a lease TTL must be at least 1 ms, got ${ttlMs}`);
  return Math.ceil(ttlMs);
}
