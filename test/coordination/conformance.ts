import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Channel, Coordinator } from '../../src/coordination/contract.js';
import type { JsonValue } from '../../src/core/types.js';

/**
 * The coordination conformance suite: every coordinator must pass it unchanged. `make` returns a
 * fresh, unstarted coordinator that shares no state with any other one it returned.
 */
export type CoordinatorFactory = () => Promise<Coordinator>;

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it returns true; fails after `timeoutMs` (a generous bound, not a measurement). */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} did not hold within ${timeoutMs} ms`);
    await sleep(10);
  }
}

/** Subscribes and keeps what arrives. */
export function collect(coordinator: Coordinator, channel: Channel): { messages: JsonValue[]; unsubscribe: () => void; count(n: number): Promise<void> } {
  const messages: JsonValue[] = [];
  const unsubscribe = coordinator.subscribe(channel, (message) => messages.push(message));
  return {
    messages,
    unsubscribe,
    count: (n) => eventually(() => messages.length >= n, 10_000, `${n} message(s) on ${channel}`),
  };
}

export function coordinatorConformance(label: string, make: CoordinatorFactory): void {
  describe(`coordinator conformance: ${label}`, () => {
    let coordinator: Coordinator;

    beforeEach(async () => {
      coordinator = await make();
      await coordinator.start();
    });
    afterEach(async () => {
      await coordinator.close();
    });

    describe('leases', () => {
      it('grants a free lease, renews and releases it, and lets the holder take it again', async () => {
        const before = Date.now();
        const grant = await coordinator.acquireLease('scheduler', 'node-a', 5_000);
        const after = Date.now();
        expect(grant).not.toBeNull();
        expect(grant!.token).toBeGreaterThan(0);
        expect(grant!.expiresAt.getTime()).toBeGreaterThanOrEqual(before + 5_000);
        expect(grant!.expiresAt.getTime()).toBeLessThanOrEqual(after + 5_000);

        expect(await coordinator.renewLease('scheduler', 'node-a', grant!.token, 5_000)).toBe(true);
        // Acquiring a lease one already holds keeps its token.
        expect((await coordinator.acquireLease('scheduler', 'node-a', 5_000))?.token).toBe(grant!.token);

        await coordinator.releaseLease('scheduler', 'node-a', grant!.token);
        expect(await coordinator.listLeases()).toEqual([]);
        expect(await coordinator.renewLease('scheduler', 'node-a', grant!.token, 5_000)).toBe(false);

        const again = await coordinator.acquireLease('scheduler', 'node-b', 5_000);
        expect(again?.token).toBeGreaterThan(grant!.token);
      });

      it('refuses a second holder while the lease is held, and ignores a release by anyone else', async () => {
        const grant = await coordinator.acquireLease('storage:shard-0', 'node-a', 5_000);
        expect(grant).not.toBeNull();
        expect(await coordinator.acquireLease('storage:shard-0', 'node-b', 5_000)).toBeNull();
        expect(await coordinator.renewLease('storage:shard-0', 'node-b', grant!.token, 5_000)).toBe(false);
        expect(await coordinator.renewLease('storage:shard-0', 'node-a', grant!.token + 1, 5_000)).toBe(false);

        await coordinator.releaseLease('storage:shard-0', 'node-b', grant!.token);
        await coordinator.releaseLease('storage:shard-0', 'node-a', grant!.token + 1);
        const leases = await coordinator.listLeases();
        expect(leases.map((lease) => [lease.name, lease.holder, lease.token])).toEqual([['storage:shard-0', 'node-a', grant!.token]]);
      });

      it('lets another holder take over an expired lease with a larger token, and refuses the old holder', async () => {
        const first = await coordinator.acquireLease('scheduler', 'node-a', 150);
        expect(first).not.toBeNull();
        await sleep(400);
        expect(await coordinator.listLeases('scheduler')).toEqual([]);

        const second = await coordinator.acquireLease('scheduler', 'node-b', 5_000);
        expect(second).not.toBeNull();
        expect(second!.token).toBeGreaterThan(first!.token);

        expect(await coordinator.renewLease('scheduler', 'node-a', first!.token, 5_000)).toBe(false);
        await coordinator.releaseLease('scheduler', 'node-a', first!.token);
        expect(await coordinator.acquireLease('scheduler', 'node-a', 5_000)).toBeNull();
        expect((await coordinator.listLeases('scheduler'))[0]).toMatchObject({ holder: 'node-b', token: second!.token });
      });

      it('lists live leases by name prefix', async () => {
        const before = Date.now();
        const a = await coordinator.acquireLease('storage:shard-1', 'node-a', 5_000);
        const b = await coordinator.acquireLease('storage:shard-0', 'node-b', 5_000);
        await coordinator.acquireLease('scheduler', 'node-c', 5_000);
        await coordinator.acquireLease('storage:shard-2', 'node-d', 100);
        await sleep(300);

        const storage = await coordinator.listLeases('storage:');
        expect(storage.map(({ name, holder, token }) => ({ name, holder, token }))).toEqual([
          { name: 'storage:shard-0', holder: 'node-b', token: b!.token },
          { name: 'storage:shard-1', holder: 'node-a', token: a!.token },
        ]);
        for (const lease of storage) {
          expect(lease.expiresAt.getTime()).toBeGreaterThan(Date.now());
          expect(lease.expiresAt.getTime()).toBeLessThanOrEqual(Date.now() + 5_000);
          expect(lease.expiresAt.getTime()).toBeGreaterThan(before);
        }
        expect((await coordinator.listLeases()).map((lease) => lease.name)).toEqual(['scheduler', 'storage:shard-0', 'storage:shard-1']);
        expect(await coordinator.listLeases('storage:shard-9')).toEqual([]);
        expect(await coordinator.listLeases('nothing')).toEqual([]);
      });

      it('refuses a TTL that is not a positive number of milliseconds', async () => {
        await expect(coordinator.acquireLease('scheduler', 'node-a', 0)).rejects.toBeInstanceOf(RangeError);
        await expect(coordinator.acquireLease('scheduler', 'node-a', Number.NaN)).rejects.toBeInstanceOf(RangeError);
        expect(await coordinator.listLeases()).toEqual([]);
      });
    });

    describe('registry', () => {
      it('lists members with their latest info and heartbeat time, per kind', async () => {
        const before = Date.now();
        await coordinator.heartbeat('runner', 'runner-b', { load: 1, tags: ['gpu'] }, 5_000);
        await coordinator.heartbeat('runner', 'runner-a', { load: 0, tags: [] }, 5_000);
        await coordinator.heartbeat('node', 'node-1', { roles: ['api'] }, 5_000);
        await coordinator.heartbeat('runner', 'runner-b', { load: 2, tags: ['gpu'] }, 5_000);

        const runners = await coordinator.members('runner');
        expect(runners.map((member) => [member.id, member.info])).toEqual([
          ['runner-a', { load: 0, tags: [] }],
          ['runner-b', { load: 2, tags: ['gpu'] }],
        ]);
        for (const member of runners) {
          // Redis stamps heartbeats with its own clock: same machine, generous bound.
          expect(Math.abs(member.lastHeartbeat.getTime() - before)).toBeLessThan(5_000);
        }
        expect((await coordinator.members('node')).map((member) => member.id)).toEqual(['node-1']);
      });

      it('drops a member whose heartbeat lapsed, and one that left', async () => {
        await coordinator.heartbeat('runner', 'short', null, 100);
        await coordinator.heartbeat('runner', 'long', 'still here', 10_000);
        await coordinator.heartbeat('runner', 'leaving', [1, 2], 10_000);
        await coordinator.leave('runner', 'leaving');
        await sleep(300);
        expect(await coordinator.members('runner')).toEqual([{ id: 'long', info: 'still here', lastHeartbeat: expect.any(Date) }]);

        await coordinator.heartbeat('runner', 'short', { back: true }, 10_000);
        expect((await coordinator.members('runner')).map((member) => member.id)).toEqual(['long', 'short']);
        await coordinator.leave('runner', 'nobody');
        expect(await coordinator.members('node')).toEqual([]);
      });
    });

    describe('messages', () => {
      it('delivers to every subscriber of the channel only, and round-trips JSON', async () => {
        const first = collect(coordinator, 'work:default');
        const second = collect(coordinator, 'work:default');
        const other = collect(coordinator, 'work:gpu');
        const message = { id: 'é✓', nested: [[1, { a: null }], true], 'dotted.key': 1.5, $dollar: '' };

        await coordinator.publish('work:default', message);
        await coordinator.publish('work:default', [1, 'two']);
        await first.count(2);
        await second.count(2);
        expect(first.messages).toEqual([message, [1, 'two']]);
        expect(second.messages).toEqual([message, [1, 'two']]);
        expect(other.messages).toEqual([]);
      });

      it('gives each listener its own copy and never runs listeners inside publish', async () => {
        const published = { runs: [{ id: 'a' }] };
        const seen: JsonValue[] = [];
        let inPublish = false;
        let reentrant = false;
        coordinator.subscribe('runs', (message) => {
          reentrant ||= inPublish;
          (message as { runs: Array<{ id: string }> }).runs[0]!.id = 'changed';
        });
        coordinator.subscribe('runs', (message) => seen.push(message));
        inPublish = true;
        const sent = coordinator.publish('runs', published);
        inPublish = false;
        await sent;
        await eventually(() => seen.length === 1);
        expect(reentrant).toBe(false);
        expect(seen).toEqual([{ runs: [{ id: 'a' }] }]);
        expect(published).toEqual({ runs: [{ id: 'a' }] });
      });

      it('keeps delivering to other listeners when one throws', async () => {
        coordinator.subscribe('stop', () => {
          throw new Error('listener bug');
        });
        const healthy = collect(coordinator, 'stop');
        await coordinator.publish('stop', { id: 'x' });
        await healthy.count(1);
        expect(healthy.messages).toEqual([{ id: 'x' }]);
      });

      it('stops delivering after unsubscribe', async () => {
        const leaving = collect(coordinator, 'definitions');
        const staying = collect(coordinator, 'definitions');
        await coordinator.publish('definitions', 1);
        await leaving.count(1);
        leaving.unsubscribe();
        leaving.unsubscribe();
        await coordinator.publish('definitions', 2);
        await staying.count(2);
        expect(leaving.messages).toEqual([1]);
        expect(staying.messages).toEqual([1, 2]);

        // With no listener left the channel is dropped; a message published after a later one
        // on another channel has arrived proves nothing is delivered any more.
        staying.unsubscribe();
        const barrier = collect(coordinator, 'config:clusters');
        await coordinator.publish('definitions', 3);
        await coordinator.publish('config:clusters', 'barrier');
        await barrier.count(1);
        expect(staying.messages).toEqual([1, 2]);

        // And subscribing again works.
        const back = collect(coordinator, 'definitions');
        await coordinator.publish('definitions', 4);
        await back.count(1);
        expect(back.messages).toEqual([4]);
      });

      it('never throws from publish or heartbeat, even for values JSON cannot carry', async () => {
        const cyclic: Record<string, unknown> = {};
        cyclic['self'] = cyclic;
        await expect(coordinator.publish('runs', cyclic as unknown as JsonValue)).resolves.toBeUndefined();
        await expect(coordinator.publish('runs', 10n as unknown as JsonValue)).resolves.toBeUndefined();
        await expect(coordinator.heartbeat('node', 'n', cyclic as unknown as JsonValue, 1_000)).resolves.toBeUndefined();
        expect(await coordinator.members('node')).toEqual([]);
      });
    });

    describe('health', () => {
      it('reports ok while open and not ok once closed', async () => {
        expect(await coordinator.health()).toEqual({ ok: true, kind: coordinator.kind, error: null });
        await coordinator.close();
        const closed = await coordinator.health();
        expect(closed.ok).toBe(false);
        expect(closed.error).toMatch(/closed/);
        // publish after close is a no-op, lease calls fail as unavailable.
        await expect(coordinator.publish('runs', [])).resolves.toBeUndefined();
        await expect(coordinator.acquireLease('scheduler', 'x', 1_000)).rejects.toMatchObject({ code: 'COORDINATION_UNAVAILABLE' });
      });
    });
  });
}
