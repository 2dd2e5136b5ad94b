import { describe, expect, it } from 'vitest';
import { createCoordinator } from '../../src/coordination/create-coordinator.js';
import { MemoryCoordinator } from '../../src/coordination/memory-coordinator.js';
import { collect, coordinatorConformance, eventually } from './conformance.js';

coordinatorConformance('in-process', async () => new MemoryCoordinator());

describe('MemoryCoordinator', () => {
  it('is what createCoordinator builds without Redis', async () => {
    const coordinator = createCoordinator({ redis: null });
    expect(coordinator).toBeInstanceOf(MemoryCoordinator);
    expect(coordinator.kind).toBe('in-process');
    await coordinator.close();
  });

  it('reports a throwing listener to onError', async () => {
    const errors: Error[] = [];
    const coordinator = new MemoryCoordinator({ onError: (error) => errors.push(error) });
    coordinator.subscribe('stop', () => {
      throw new Error('listener bug');
    });
    await coordinator.publish('stop', { id: 'x' });
    await eventually(() => errors.length === 1);
    expect(errors[0]?.message).toBe('listener bug');
    await coordinator.close();
  });

  it('drops deliveries queued before close', async () => {
    const coordinator = new MemoryCoordinator();
    const got = collect(coordinator, 'runs');
    await coordinator.publish('runs', [1]);
    await coordinator.close();
    await new Promise((resolve) => setImmediate(resolve));
    expect(got.messages).toEqual([]);
  });
});
