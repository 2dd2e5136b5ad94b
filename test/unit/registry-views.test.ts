import { describe, expect, it } from 'vitest';
import { toNodeView, toRunnerView } from '../../src/api/registry.js';

/**
 * Registry entries are free-form JSON from other processes (or, through the runner gateway, from
 * remote runners). One the `runners` and `nodes` queries could not show — here a start time
 * `Date` cannot read, which the `DateTime` field would answer with INTERNAL for the whole list —
 * is left out instead.
 */

const runner = {
  id: 'n1@tok',
  node: 'n1',
  cluster: 'default',
  group: 'default',
  tags: ['default'],
  handlers: ['mod.fn'],
  capacity: 4,
  load: 0,
  state: 'running',
  startedAt: '2026-11-23T05:00:00.000Z',
};
const node = { id: 'n1', roles: ['runner'], listen: null, storage: 'embedded', coordination: 'in-process', pid: 1, version: '1', startedAt: '2026-11-23T05:00:00.000Z' };
const lastHeartbeat = new Date('2026-11-23T05:01:00.000Z');

describe('registry views', () => {
  it('show entries whose start time is a date', () => {
    expect(toRunnerView({ id: 'n1@tok', info: runner, lastHeartbeat })).toMatchObject({ id: 'n1@tok', startedAt: runner.startedAt, lastHeartbeat });
    expect(toNodeView({ id: 'n1', info: node, lastHeartbeat })).toMatchObject({ id: 'n1', startedAt: node.startedAt });
  });

  it.each(['yesterday', '', '2026-13-45T99:00:00Z'])('leave out an entry whose start time is %j', (startedAt) => {
    expect(toRunnerView({ id: 'n1@tok', info: { ...runner, startedAt }, lastHeartbeat })).toBeNull();
    expect(toNodeView({ id: 'n1', info: { ...node, startedAt }, lastHeartbeat })).toBeNull();
  });
});
