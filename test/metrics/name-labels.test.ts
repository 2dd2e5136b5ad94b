import { describe, expect, it } from 'vitest';
import { withMetrics } from '../../src/metrics/metered-store.js';
import { NodeMetrics, OTHER_NAME } from '../../src/metrics/node-metrics.js';
import { createTaskStore } from '../../src/storage/create-store.js';
import { parsePrometheusText, samples, total } from './prometheus-text.js';

/**
 * Task names are label values, and `create(funcName)` takes any name: past a node's budget of
 * distinct names, new ones share `name="_other"`, so a client cannot add series without end.
 * (Embedded store: the behaviour under test is the metrics', not a database's.)
 */

describe('task name labels', () => {
  it('give the first names series of their own and count the rest as _other', async () => {
    const metrics = new NodeMetrics({ nodeId: 'labels', roles: ['api'], version: 'test', maxNameLabels: 3 });
    const store = withMetrics(createTaskStore(), metrics);
    await store.start();
    try {
      const names = Array.from({ length: 50 }, (_, i) => `mod.fn${i}`);
      for (const funcName of names) await store.create({ funcName, args: [] });
      // A name that already has its series keeps it after the budget is spent.
      await store.create({ funcName: 'mod.fn0', args: [] });

      const families = parsePrometheusText(await metrics.render());
      const created = samples(families, 'taskplane_runs_created_total');
      expect(new Set(created.map((sample) => sample.labels['name']))).toEqual(new Set(['mod.fn0', 'mod.fn1', 'mod.fn2', OTHER_NAME]));
      expect(total(families, 'taskplane_runs_created_total', { name: 'mod.fn0' })).toBe(2);
      expect(total(families, 'taskplane_runs_created_total', { name: OTHER_NAME })).toBe(47);
      expect(total(families, 'taskplane_runs_created_total')).toBe(51);
      expect(total(families, 'taskplane_metric_names_dropped_total')).toBe(47);
    } finally {
      await store.close();
    }
  });
});
