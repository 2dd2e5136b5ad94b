import { setTimeout as sleep } from 'node:timers/promises';
import { Redis, ReplyError, type RedisOptions } from 'ioredis';
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

export interface RedisCoordinatorOptions {
  /** `redis://[user:password@]host:port[/db]` or `rediss://…`. */
  readonly url: string;
  /** Put before every key and channel, so several Taskplanes can share one Redis. @defaultValue `'taskplane:'` */
  readonly prefix?: string;
  /** Told about failures that are not thrown: publish, heartbeat, leave, listeners, the connections. Once per outage. */
  readonly onError?: (error: Error) => void;
  /** A command with no answer for this long fails (leases throw `CoordinationUnavailableError`). @defaultValue 1000 */
  readonly commandTimeoutMs?: number;
  /** How long `start()` waits for both connections. @defaultValue 5000 */
  readonly connectTimeoutMs?: number;
}

/** Reconnect delays: 50, 100, 200, 400, 800, then every 1000 ms, for ever. */
const retryDelay = (attempt: number): number => Math.min(50 * 2 ** Math.max(0, attempt - 1), 1000);
/** How long ioredis lets a closing socket end gracefully before destroying it. */
const DISCONNECT_TIMEOUT_MS = 200;
/** `listLeases` returns at most this many. */
const LEASE_LIST_LIMIT = 1000;

/*
 * Keys (all under the prefix):
 *   lease:<name>          hash {holder, token}, PX = the lease TTL
 *   lease-token:<name>    counter; each new holder gets max(counter + 1, Redis time in ms) as
 *                         its fencing token. The counter outlives the lease, and the clock floor
 *                         keeps tokens growing even when Redis lost its data (a restart without
 *                         persistence), so a stale leader's token is always the smaller one
 *   leases                sorted set (score 0) of lease names, so `listLeases` reads a lex range
 *                         instead of SCANning a shared keyspace; stale names are dropped as read
 *   members:<kind>        sorted set: member id → expiry (ms, Redis server time)
 *   members:<kind>:info   hash: member id → "<last heartbeat ms>:<info JSON>"
 * Registry times come from Redis' TIME, so nodes with skewed clocks agree on who is alive.
 * Scripts that read the clock and then write rely on effect replication (Redis 5+ default).
 */
const SCRIPTS = {
  tpAcquireLease: {
    numberOfKeys: 3,
    lua: `
      local holder = redis.call('HGET', KEYS[1], 'holder')
      if holder == ARGV[1] then
        redis.call('PEXPIRE', KEYS[1], ARGV[2])
        redis.call('ZADD', KEYS[3], 0, ARGV[3])
        return tonumber(redis.call('HGET', KEYS[1], 'token'))
      end
      if holder then return false end
      local token = redis.call('INCR', KEYS[2])
      local time = redis.call('TIME')
      local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
      if token < now then
        token = now
        redis.call('SET', KEYS[2], string.format('%d', now))
      end
      redis.call('HSET', KEYS[1], 'holder', ARGV[1], 'token', token)
      redis.call('PEXPIRE', KEYS[1], ARGV[2])
      redis.call('ZADD', KEYS[3], 0, ARGV[3])
      return token`,
  },
  tpRenewLease: {
    numberOfKeys: 1,
    lua: `
      local held = redis.call('HMGET', KEYS[1], 'holder', 'token')
      if held[1] ~= ARGV[1] or held[2] ~= ARGV[2] then return 0 end
      return redis.call('PEXPIRE', KEYS[1], ARGV[3])`,
  },
  tpReleaseLease: {
    numberOfKeys: 2,
    lua: `
      local held = redis.call('HMGET', KEYS[1], 'holder', 'token')
      if held[1] ~= ARGV[1] or held[2] ~= ARGV[2] then return 0 end
      redis.call('DEL', KEYS[1])
      redis.call('ZREM', KEYS[2], ARGV[3])
      return 1`,
  },
  tpListLeases: {
    numberOfKeys: 1,
    lua: `
      local names = redis.call('ZRANGEBYLEX', KEYS[1], ARGV[2], ARGV[3], 'LIMIT', 0, ARGV[4])
      local out = {}
      for _, name in ipairs(names) do
        local key = ARGV[1] .. name
        local held = redis.call('HMGET', key, 'holder', 'token')
        local ttl = redis.call('PTTL', key)
        if not held[1] then
          redis.call('ZREM', KEYS[1], name)
        elseif ttl > 0 then
          table.insert(out, name); table.insert(out, held[1]); table.insert(out, held[2]); table.insert(out, ttl)
        end
      end
      return out`,
  },
  tpHeartbeat: {
    numberOfKeys: 2,
    lua: `
      local time = redis.call('TIME')
      local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
      redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
      redis.call('HSET', KEYS[2], ARGV[1], string.format('%d', now) .. ':' .. ARGV[3])
      -- Both keys vanish with their longest-lived member: a dead deployment leaves nothing behind.
      local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
      redis.call('PEXPIREAT', KEYS[1], last[2])
      redis.call('PEXPIREAT', KEYS[2], last[2])
      return now`,
  },
  tpMembers: {
    numberOfKeys: 2,
    lua: `
      local time = redis.call('TIME')
      local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
      for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)) do
        redis.call('ZREM', KEYS[1], id)
        redis.call('HDEL', KEYS[2], id)
      end
      local out = {}
      for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. string.format('%d', now), '+inf')) do
        local info = redis.call('HGET', KEYS[2], id)
        if info then table.insert(out, id); table.insert(out, info) end
      end
      return out`,
  },
} as const;

interface ScriptCommands {
  tpAcquireLease(lease: string, counter: string, index: string, holder: string, ttlMs: number, name: string): Promise<number | null>;
  tpRenewLease(lease: string, holder: string, token: string, ttlMs: number): Promise<number>;
  tpReleaseLease(lease: string, index: string, holder: string, token: string, name: string): Promise<number>;
  tpListLeases(index: string, keyPrefix: string, min: string | Buffer, max: string | Buffer, limit: number): Promise<Array<string | number>>;
  tpHeartbeat(members: string, infos: string, id: string, ttlMs: number, info: string): Promise<number>;
  tpMembers(members: string, infos: string): Promise<string[]>;
}

type Listener = (message: JsonValue) => void;

/**
 * The coordinator of a cluster: Redis, over two connections.
 *
 * - `commands` carries leases, the registry and publishes. Its offline queue is off and every
 *   command times out after `commandTimeoutMs`, so while Redis is down a call fails at once (or
 *   within the timeout when Redis hangs) instead of queueing: lease calls then throw
 *   `CoordinationUnavailableError`; `publish`, `heartbeat` and `leave` record the error for
 *   `health()` and go on.
 * - `subscriber` only subscribes. It keeps its offline queue (a `subscribe` issued during an
 *   outage is sent on reconnect) and ioredis' `autoResubscribe` re-subscribes every channel it
 *   held when the connection comes back. Messages published while it was away are lost: they are
 *   wake-ups, and runners poll anyway.
 *
 * Both reconnect for ever with a backoff capped at 1 s. `onError` hears about a failure once per
 * outage (the first error after a success), not once per reconnect attempt.
 *
 * State: `created` → `started` → `closed`. `start()` resolves when both connections are ready;
 * if Redis does not answer within `connectTimeoutMs` it closes both and throws
 * `CoordinationUnavailableError`. `close()` ends both connections and leaves no timers.
 */
export class RedisCoordinator implements Coordinator {
  readonly kind = 'redis';

  readonly #prefix: string;
  readonly #where: string;
  readonly #onError: ((error: Error) => void) | undefined;
  readonly #connectTimeoutMs: number;
  readonly #commands: Redis & ScriptCommands;
  readonly #subscriber: Redis;
  readonly #listeners = new Map<Channel, Set<Listener>>();
  /** SUBSCRIBEs sent and not yet confirmed; `publish` waits for them (see there). */
  readonly #subscribing = new Set<Promise<unknown>>();
  readonly #commandTimeoutMs: number;
  #state: 'created' | 'started' | 'closed' = 'created';
  #lastError: Error | null = null;
  #failing = false;

  constructor(options: RedisCoordinatorOptions) {
    this.#prefix = options.prefix ?? 'taskplane:';
    this.#where = describeUrl(options.url);
    this.#onError = options.onError;
    this.#connectTimeoutMs = options.connectTimeoutMs ?? 5000;
    this.#commandTimeoutMs = options.commandTimeoutMs ?? 1000;
    const common: RedisOptions = {
      lazyConnect: true,
      connectTimeout: Math.min(this.#connectTimeoutMs, 10_000),
      disconnectTimeout: DISCONNECT_TIMEOUT_MS,
      retryStrategy: retryDelay,
    };
    this.#commands = new Redis(options.url, {
      ...common,
      connectionName: 'taskplane-commands',
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      commandTimeout: this.#commandTimeoutMs,
      // A command that timed out was already reported as failed; sending it again later is noise.
      autoResendUnfulfilledCommands: false,
      scripts: SCRIPTS,
    }) as Redis & ScriptCommands;
    this.#subscriber = new Redis(options.url, {
      ...common,
      connectionName: 'taskplane-subscriber',
      enableOfflineQueue: true,
      maxRetriesPerRequest: null,
      autoResubscribe: true,
    });
    for (const connection of [this.#commands, this.#subscriber]) {
      connection.on('error', (error: Error) => this.#failed(error));
    }
    this.#commands.on('ready', () => this.#answered());
    this.#subscriber.on('message', (channel: string, text: string) => this.#deliver(channel, text));
  }

  async start(): Promise<void> {
    if (this.#state === 'closed') throw new CoordinationUnavailableError('the Redis coordinator is closed');
    if (this.#state === 'started') return;
    try {
      await Promise.all([this.#commands, this.#subscriber].map((connection) => waitReady(connection, this.#connectTimeoutMs)));
    } catch (error) {
      await this.close();
      const reason = this.#lastError?.message ?? coerceError(error).message;
      throw new CoordinationUnavailableError(`Redis at ${this.#where} did not answer within ${this.#connectTimeoutMs} ms: ${reason}`, { cause: error });
    }
    this.#state = 'started';
  }

  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#listeners.clear();
    // The subscriber has nothing to flush and no command timeout, so it is not asked to QUIT.
    await Promise.all([endConnection(this.#commands, true), endConnection(this.#subscriber, false)]);
  }

  // ── Leases ────────────────────────────────────────────────────────────────────────────────

  async acquireLease(name: string, holder: string, ttlMs: number): Promise<LeaseGrant | null> {
    const ttl = checkTtl(ttlMs);
    const asked = Date.now();
    const token = await this.#call('acquireLease', () =>
      this.#commands.tpAcquireLease(this.#key(`lease:${name}`), this.#key(`lease-token:${name}`), this.#key('leases'), holder, ttl, name),
    );
    // Measured from before the call: Redis started the TTL later, so this never overstates it.
    return token === null ? null : { token: Number(token), expiresAt: new Date(asked + ttl) };
  }

  async renewLease(name: string, holder: string, token: number, ttlMs: number): Promise<boolean> {
    const ttl = checkTtl(ttlMs);
    const renewed = await this.#call('renewLease', () => this.#commands.tpRenewLease(this.#key(`lease:${name}`), holder, String(token), ttl));
    return Number(renewed) === 1;
  }

  async releaseLease(name: string, holder: string, token: number): Promise<void> {
    await this.#call('releaseLease', () =>
      this.#commands.tpReleaseLease(this.#key(`lease:${name}`), this.#key('leases'), holder, String(token), name),
    );
  }

  async listLeases(prefix = ''): Promise<LeaseInfo[]> {
    // Lease names are UTF-8, which never contains the byte 0xff: `(prefix\xff` ends the range.
    const min = prefix === '' ? '-' : `[${prefix}`;
    const max = prefix === '' ? '+' : Buffer.concat([Buffer.from(`(${prefix}`), Buffer.from([0xff])]);
    const now = Date.now();
    const flat = await this.#call('listLeases', () =>
      this.#commands.tpListLeases(this.#key('leases'), this.#key('lease:'), min, max, LEASE_LIST_LIMIT),
    );
    const leases: LeaseInfo[] = [];
    for (let i = 0; i + 3 < flat.length; i += 4) {
      leases.push({ name: String(flat[i]), holder: String(flat[i + 1]), token: Number(flat[i + 2]), expiresAt: new Date(now + Number(flat[i + 3])) });
    }
    return leases;
  }

  // ── Registry ──────────────────────────────────────────────────────────────────────────────

  async heartbeat(kind: MemberKind, id: string, info: JsonValue, ttlMs: number): Promise<void> {
    if (this.#state === 'closed') return;
    let ttl: number;
    let encoded: string;
    try {
      ttl = checkTtl(ttlMs);
      encoded = JSON.stringify(info) ?? 'null';
    } catch (error) {
      this.#report(coerceError(error));
      return;
    }
    try {
      await this.#commands.tpHeartbeat(this.#key(`members:${kind}`), this.#key(`members:${kind}:info`), id, ttl, encoded);
      this.#answered();
    } catch (error) {
      this.#failed(error);
    }
  }

  async leave(kind: MemberKind, id: string): Promise<void> {
    if (this.#state === 'closed') return;
    try {
      await this.#commands.multi().zrem(this.#key(`members:${kind}`), id).hdel(this.#key(`members:${kind}:info`), id).exec();
      this.#answered();
    } catch (error) {
      // The member lapses at its TTL anyway.
      this.#failed(error);
    }
  }

  async members(kind: MemberKind): Promise<Member[]> {
    const flat = await this.#call('members', () => this.#commands.tpMembers(this.#key(`members:${kind}`), this.#key(`members:${kind}:info`)));
    const members: Member[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const stored = String(flat[i + 1]);
      const colon = stored.indexOf(':');
      members.push({
        id: String(flat[i]),
        info: JSON.parse(stored.slice(colon + 1)) as JsonValue,
        lastHeartbeat: new Date(Number(stored.slice(0, colon))),
      });
    }
    return members.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  // ── Messages ──────────────────────────────────────────────────────────────────────────────

  async publish(channel: Channel, message: JsonValue): Promise<void> {
    if (this.#state === 'closed') return;
    let encoded: string;
    try {
      encoded = JSON.stringify(message) ?? 'null';
    } catch (error) {
      this.#report(coerceError(error));
      return;
    }
    if (this.#subscribing.size > 0 && this.#subscriber.status === 'ready') {
      // The SUBSCRIBE and this PUBLISH travel on different connections, so Redis could see the
      // PUBLISH first and a listener subscribed on this node just before would miss it. Waiting
      // for pending SUBSCRIBEs (only while there are any) gives the in-process guarantee: what
      // this node publishes after subscribe() returned reaches that listener.
      await withTimeout(Promise.allSettled([...this.#subscribing]), this.#commandTimeoutMs, 'SUBSCRIBE unconfirmed').catch(() => {});
    }
    try {
      await this.#commands.publish(this.#key(channel), encoded);
      this.#answered();
    } catch (error) {
      this.#failed(error);
    }
  }

  subscribe(channel: Channel, listener: (message: JsonValue) => void): () => void {
    if (this.#state === 'closed') return () => {};
    let listeners = this.#listeners.get(channel);
    if (!listeners) {
      this.#listeners.set(channel, (listeners = new Set()));
      // Commands on one connection run in order, so a quick unsubscribe/subscribe ends subscribed.
      const subscribing = this.#subscriber.subscribe(this.#key(channel)).catch((error: unknown) => this.#failed(error));
      this.#subscribing.add(subscribing);
      void subscribing.finally(() => this.#subscribing.delete(subscribing));
    }
    const entry: Listener = (message) => listener(message);
    listeners.add(entry);
    return () => {
      const current = this.#listeners.get(channel);
      if (!current?.delete(entry) || current.size > 0) return;
      this.#listeners.delete(channel);
      if (this.#state !== 'closed') this.#subscriber.unsubscribe(this.#key(channel)).catch((error: unknown) => this.#failed(error));
    };
  }

  async health(): Promise<CoordinatorHealth> {
    if (this.#state === 'closed') return { ok: false, kind: this.kind, error: 'the coordinator is closed' };
    try {
      if (this.#subscriber.status !== 'ready') throw new Error(`the subscriber connection is ${this.#subscriber.status}`);
      await Promise.all([this.#commands.ping(), withTimeout(this.#subscriber.ping(), 1000, 'the subscriber connection did not answer PING')]);
      this.#answered();
      return { ok: true, kind: this.kind, error: null };
    } catch (error) {
      this.#failed(error);
      return { ok: false, kind: this.kind, error: `Redis at ${this.#where}: ${coerceError(error).message}` };
    }
  }

  // ── Internals ─────────────────────────────────────────────────────────────────────────────

  #key(name: string): string {
    return `${this.#prefix}${name}`;
  }

  async #call<T>(operation: string, send: () => Promise<T>): Promise<T> {
    try {
      const result = await send();
      this.#answered();
      return result;
    } catch (error) {
      // Redis answered with an error: a bug (wrong key type, bad script), not an outage.
      if (error instanceof ReplyError) throw error;
      // Recorded for health(), not reported: the caller gets the error.
      this.#lastError = coerceError(error);
      throw new CoordinationUnavailableError(`Redis at ${this.#where} did not answer ${operation}: ${coerceError(error).message}`, { cause: error });
    }
  }

  #deliver(fullChannel: string, text: string): void {
    if (!fullChannel.startsWith(this.#prefix)) return;
    const listeners = this.#listeners.get(fullChannel.slice(this.#prefix.length) as Channel);
    if (!listeners) return;
    for (const listener of [...listeners]) {
      try {
        // Parsed per listener, so none can change what another one sees.
        listener(JSON.parse(text) as JsonValue);
      } catch (error) {
        this.#report(coerceError(error));
      }
    }
  }

  #answered(): void {
    this.#failing = false;
    this.#lastError = null;
  }

  /** Records a failure for `health()`; tells `onError` about the first one of an outage. */
  #failed(thrown: unknown): void {
    const error = coerceError(thrown);
    this.#lastError = error;
    if (this.#failing || this.#state === 'closed') return;
    this.#failing = true;
    this.#report(error);
  }

  #report(error: Error): void {
    try {
      this.#onError?.(error);
    } catch {
      // A reporter that throws must not turn a swallowed failure into a thrown one.
    }
  }
}

function checkTtl(ttlMs: number): number {
  if (!Number.isFinite(ttlMs) || ttlMs < 1) throw new RangeError(`a lease or heartbeat TTL must be at least 1 ms, got ${ttlMs}`);
  return Math.ceil(ttlMs);
}

/** The URL without credentials, for messages. */
function describeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname === '/' ? '' : parsed.pathname}`;
  } catch {
    return 'the configured URL';
  }
}

/** Connects a lazy connection (or joins a connect already under way) and waits for `ready`. */
async function waitReady(connection: Redis, timeoutMs: number): Promise<void> {
  if (connection.status === 'ready') return;
  const ready = new Promise<void>((resolve, reject) => {
    connection.once('ready', resolve);
    connection.once('end', () => reject(new Error('the connection was closed')));
  });
  // connect() rejects on the first failed attempt, but ioredis keeps retrying: wait for `ready`.
  if (connection.status === 'wait') connection.connect().catch(() => {});
  await withTimeout(ready, timeoutMs, 'no connection');
}

/** Quits (after pending replies) or disconnects, and waits until the connection is gone. */
async function endConnection(connection: Redis, graceful: boolean): Promise<void> {
  if (connection.status === 'end') return;
  if (connection.status === 'wait') {
    connection.disconnect();
    return;
  }
  const ended = new Promise<void>((resolve) => connection.once('end', resolve));
  if (graceful && connection.status === 'ready') {
    await connection.quit().catch(() => connection.disconnect());
  } else {
    connection.disconnect();
  }
  // A connection that was between reconnect attempts emits no `end`, but ioredis still arms a
  // `DISCONNECT_TIMEOUT_MS` timer on its dead socket: outlast it, so close() leaves nothing behind.
  const abort = new AbortController();
  await Promise.race([ended, sleep(DISCONNECT_TIMEOUT_MS + 50, undefined, { signal: abort.signal }).catch(() => {})]);
  abort.abort();
}

async function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(message)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
