import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Coordinator } from '../../src/coordination/contract.js';
import { createCoordinator } from '../../src/coordination/create-coordinator.js';
import { RedisCoordinator } from '../../src/coordination/redis-coordinator.js';
import { CoordinationUnavailableError } from '../../src/core/errors.js';
import { testKeyPrefix, testRedisUrl } from '../services/context.js';
import { freePort } from '../services/processes.js';
import { collect, coordinatorConformance, eventually, sleep } from './conformance.js';

coordinatorConformance('redis', async () => new RedisCoordinator({ url: testRedisUrl(), prefix: testKeyPrefix('coordination') }));

/** Sockets and timers open in this process, by type. */
function openResources(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const type of process.getActiveResourcesInfo()) counts[type] = (counts[type] ?? 0) + 1;
  return counts;
}

describe('RedisCoordinator', () => {
  let raw: Redis;
  const opened: Coordinator[] = [];

  async function open(prefix: string, onError?: (error: Error) => void): Promise<Coordinator> {
    const coordinator = createCoordinator({ redis: { url: testRedisUrl(), prefix }, ...(onError ? { onError } : {}) });
    opened.push(coordinator);
    await coordinator.start();
    return coordinator;
  }

  beforeAll(() => {
    raw = new Redis(testRedisUrl(), { lazyConnect: true });
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((coordinator) => coordinator.close()));
  });
  afterAll(() => {
    raw.disconnect();
  });

  it('is what createCoordinator builds with Redis', async () => {
    const coordinator = await open(testKeyPrefix('factory'));
    expect(coordinator).toBeInstanceOf(RedisCoordinator);
    expect(coordinator.kind).toBe('redis');
  });

  it('shares leases, members and messages between nodes with one prefix, and nothing across prefixes', async () => {
    const prefix = testKeyPrefix('shared');
    const [a, b, stranger] = await Promise.all([open(prefix), open(prefix), open(testKeyPrefix('stranger'))]);

    const grant = await a.acquireLease('scheduler', 'node-a', 5_000);
    expect(grant).not.toBeNull();
    expect(await b.acquireLease('scheduler', 'node-b', 5_000)).toBeNull();
    expect((await b.listLeases()).map((lease) => lease.holder)).toEqual(['node-a']);
    expect(await stranger.acquireLease('scheduler', 'node-s', 5_000)).not.toBeNull();

    await a.heartbeat('runner', 'runner-a', { cluster: 'default' }, 5_000);
    expect(await b.members('runner')).toEqual([{ id: 'runner-a', info: { cluster: 'default' }, lastHeartbeat: expect.any(Date) }]);
    expect(await stranger.members('runner')).toEqual([]);

    const onB = collect(b, 'work:default');
    const onStranger = collect(stranger, 'work:default');
    const onA = collect(a, 'work:default');
    await eventually(async () => Number((await raw.pubsub('NUMSUB', `${prefix}work:default`))[1]) === 2, 10_000, 'both subscriptions');
    await a.publish('work:default', { count: 3 });
    await onB.count(1);
    await onA.count(1);
    await stranger.publish('work:default', 'barrier');
    await onStranger.count(1);
    expect(onB.messages).toEqual([{ count: 3 }]);
    expect(onStranger.messages).toEqual(['barrier']);
  });

  it('keeps every key under its prefix, and registry keys vanish with their last member', async () => {
    const prefix = testKeyPrefix('keys');
    const coordinator = await open(prefix);
    await coordinator.acquireLease('scheduler', 'node-a', 5_000);
    await coordinator.heartbeat('runner', 'r', null, 200);
    const keys = (await raw.keys(`${prefix}*`)).sort();
    expect(keys).toEqual([`${prefix}lease-token:scheduler`, `${prefix}lease:scheduler`, `${prefix}leases`, `${prefix}members:runner`, `${prefix}members:runner:info`]);
    await sleep(500);
    expect(await raw.exists(`${prefix}members:runner`, `${prefix}members:runner:info`)).toBe(0);
  });

  it('reports listener failures to onError and keeps delivering', async () => {
    const errors: Error[] = [];
    const coordinator = await open(testKeyPrefix('listener'), (error) => errors.push(error));
    coordinator.subscribe('stop', () => {
      throw new Error('listener bug');
    });
    const healthy = collect(coordinator, 'stop');
    await coordinator.publish('stop', { id: 'x' });
    await healthy.count(1);
    expect(errors.map((error) => error.message)).toEqual(['listener bug']);
  });

  it('delivers what this node publishes right after subscribing, although SUBSCRIBE and PUBLISH use two connections', async () => {
    const coordinator = await open(testKeyPrefix('order'));
    const inboxes = Array.from({ length: 50 }, (_, i) => {
      const inbox = collect(coordinator, `config:c${i}`);
      void coordinator.publish(`config:c${i}`, i);
      return inbox;
    });
    await Promise.all(inboxes.map((inbox) => inbox.count(1)));
    expect(inboxes.map((inbox) => inbox.messages)).toEqual(Array.from({ length: 50 }, (_, i) => [i]));
  });

  it('accepts subscriptions made before start', async () => {
    const coordinator = new RedisCoordinator({ url: testRedisUrl(), prefix: testKeyPrefix('early') });
    opened.push(coordinator);
    const early = collect(coordinator, 'definitions');
    await coordinator.start();
    await eventually(async () => {
      await coordinator.publish('definitions', 'changed');
      return early.messages.length > 0;
    }, 10_000, 'a message to the early subscriber');
    expect(early.messages[0]).toBe('changed');
  });

  it('fails start fast against a dead server, leaving no socket or timer behind', async () => {
    const before = openResources();
    const port = await freePort();
    const coordinator = new RedisCoordinator({ url: `redis://127.0.0.1:${port}`, connectTimeoutMs: 500 });
    const started = Date.now();
    const error = await coordinator.start().then(() => null, (thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(CoordinationUnavailableError);
    expect((error as Error).message).toMatch(new RegExp(`redis://127\\.0\\.0\\.1:${port}.*ECONNREFUSED`));
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(openResources()['TCPSocketWrap'] ?? 0).toBeLessThanOrEqual(before['TCPSocketWrap'] ?? 0);
    expect(openResources()['Timeout'] ?? 0).toBeLessThanOrEqual(before['Timeout'] ?? 0);
    await coordinator.close();
  });

  it('closes both connections and leaves no socket or timer behind', async () => {
    const before = openResources();
    const coordinator = new RedisCoordinator({ url: testRedisUrl(), prefix: testKeyPrefix('close') });
    await coordinator.start();
    coordinator.subscribe('runs', () => {});
    await coordinator.acquireLease('scheduler', 'x', 1_000);
    await coordinator.health();
    expect(openResources()['TCPSocketWrap'] ?? 0).toBe((before['TCPSocketWrap'] ?? 0) + 2);
    await coordinator.close();
    expect(openResources()['TCPSocketWrap'] ?? 0).toBe(before['TCPSocketWrap'] ?? 0);
    expect(openResources()['Timeout'] ?? 0).toBeLessThanOrEqual(before['Timeout'] ?? 0);
  });
});
