import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisCoordinator } from '../../src/coordination/redis-coordinator.js';
import { CoordinationUnavailableError } from '../../src/core/errors.js';
import { startRedis, type RedisProcess } from '../services/processes.js';
import { collect, eventually } from './conformance.js';

/** Time a call takes to settle, and how it settled. */
async function timed(call: () => Promise<unknown>): Promise<{ ms: number; value?: unknown; error?: unknown }> {
  const started = Date.now();
  try {
    const value = await call();
    return { ms: Date.now() - started, value };
  } catch (error) {
    return { ms: Date.now() - started, error };
  }
}

/**
 * A Redis of this file's own, killed with SIGKILL and restarted on the same port (empty: the
 * test servers do not persist).
 */
describe('a Redis killed and restarted under a coordinator', () => {
  let redis: RedisProcess;
  let coordinator: RedisCoordinator;
  let raw: Redis;
  const errors: Error[] = [];

  beforeAll(async () => {
    redis = await startRedis();
    coordinator = new RedisCoordinator({ url: redis.url, prefix: 'outage:', onError: (error) => errors.push(error) });
    await coordinator.start();
    raw = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => 100 });
    raw.on('error', () => {});
  });
  afterAll(async () => {
    await coordinator.close();
    raw.disconnect();
    await redis.stop();
  });

  it('fails lease calls fast, swallows publish and heartbeat, and recovers after the restart', async () => {
    const work = collect(coordinator, 'work:default');
    await coordinator.publish('work:default', 'before');
    await work.count(1);
    const grant = await coordinator.acquireLease('scheduler', 'node-a', 60_000);
    expect(grant).not.toBeNull();
    expect(errors).toEqual([]);

    await redis.kill('SIGKILL');

    const leaseCalls: Array<() => Promise<unknown>> = [
      () => coordinator.acquireLease('scheduler', 'node-a', 60_000),
      () => coordinator.renewLease('scheduler', 'node-a', grant!.token, 60_000),
      () => coordinator.releaseLease('scheduler', 'node-a', grant!.token),
      () => coordinator.listLeases(),
      () => coordinator.members('runner'),
    ];
    for (const call of leaseCalls) {
      const outcome = await timed(call);
      expect(outcome.error).toBeInstanceOf(CoordinationUnavailableError);
      expect(outcome.error).toMatchObject({ code: 'COORDINATION_UNAVAILABLE' });
      expect(outcome.ms).toBeLessThan(2_500);
    }

    for (const call of [
      () => coordinator.publish('work:default', 'lost'),
      () => coordinator.heartbeat('runner', 'runner-a', { load: 0 }, 10_000),
      () => coordinator.leave('runner', 'runner-a'),
    ]) {
      const outcome = await timed(call);
      expect(outcome.error).toBeUndefined();
      expect(outcome.ms).toBeLessThan(2_500);
    }
    const health = await coordinator.health();
    expect(health).toMatchObject({ ok: false, kind: 'redis' });
    expect(health.error).toContain(redis.url);

    // onError hears about the outage, once, not for every failed call or reconnect attempt.
    await eventually(() => errors.length > 0, 5_000, 'an onError report');
    const reported = errors.length;
    for (let i = 0; i < 5; i++) await coordinator.publish('work:default', i);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(errors.length).toBe(reported);
    expect(reported).toBe(1);

    await redis.restart();
    await eventually(async () => (await coordinator.health()).ok, 15_000, 'health after the restart');

    // ioredis' autoResubscribe re-subscribed the channel on the new server.
    await eventually(async () => Number((await raw.pubsub('NUMSUB', 'outage:work:default'))[1]) === 1, 10_000, 'the resubscription');
    await coordinator.publish('work:default', 'after');
    await eventually(() => work.messages.includes('after'), 10_000, 'a message after the restart');
    expect(work.messages).not.toContain('lost');

    // The restarted server is empty: the lease is free again, and the fencing token still grew.
    const regained = await coordinator.acquireLease('scheduler', 'node-b', 60_000);
    expect(regained).not.toBeNull();
    expect(regained!.token).toBeGreaterThan(grant!.token);
    expect(await coordinator.renewLease('scheduler', 'node-b', regained!.token, 60_000)).toBe(true);
    await coordinator.heartbeat('runner', 'runner-a', { load: 1 }, 10_000);
    expect((await coordinator.members('runner')).map((member) => member.info)).toEqual([{ load: 1 }]);
  });
});
