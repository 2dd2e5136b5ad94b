import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { compileDefinition, definitionSchema, type TaskDefinition } from '../../src/core/definition.js';
import { PeriodicTicks } from '../../src/scheduler/periodic-ticks.js';

const log = pino({ level: 'silent' });

function periodical(name: string, schedule: string): TaskDefinition {
  return compileDefinition(definitionSchema.parse({ name, kind: 'periodical', funcName: 'mod.tick', schedule }), 'api');
}

/** Fake timers (Date too): node-cron computes instants from the faked clock. */
describe('periodic ticks', () => {
  const fired: Array<{ name: string; instant: number; at: number }> = [];
  let ticks: PeriodicTicks;
  const start = (leadMs: number) => {
    ticks = new PeriodicTicks((definition, instant) => fired.push({ name: definition.name, instant: instant.getTime(), at: Date.now() }), log, leadMs);
    return ticks;
  };

  beforeEach(() => {
    fired.length = 0;
    vi.useFakeTimers({ now: new Date('2026-11-23T10:00:00.250Z') });
  });
  afterEach(() => {
    ticks.clear();
    vi.useRealTimers();
  });

  it('hands each instant to fire leadMs before it, whole seconds, in order, once', () => {
    start(400).sync([periodical('every_second', '* * * * * *')]);
    vi.advanceTimersByTime(5000);
    const base = Date.parse('2026-11-23T10:00:01.000Z');
    expect(fired.map((f) => f.instant - base)).toEqual([0, 1000, 2000, 3000, 4000]);
    for (const f of fired) expect(f.instant - f.at).toBe(400);
  });

  it('fires on the instant with no lead', () => {
    start(0).sync([periodical('every_2s', '*/2 * * * * *')]);
    vi.advanceTimersByTime(4000);
    expect(fired.length).toBe(2);
    for (const f of fired) {
      expect(f.at).toBe(f.instant);
      expect(new Date(f.instant).getUTCSeconds() % 2).toBe(0);
    }
  });

  it('fires a late instant once when its timer wakes after it, then skips the ones that passed meanwhile', () => {
    start(200).sync([periodical('every_second', '* * * * * *')]);
    // The event loop stalls: the clock jumps 3.5 s while no timer runs.
    // (Timers keep their own schedule: the armed one wakes at 04.300, 3.5 s after 00.800.)
    vi.setSystemTime(Date.now() + 3500);
    vi.advanceTimersByTime(1500);
    const instants = fired.map((f) => new Date(f.instant).toISOString());
    // 01 is fired late; 02 to 04 passed meanwhile; 05 is fired ahead by the lead again.
    expect(instants).toEqual(['2026-11-23T10:00:01.000Z', '2026-11-23T10:00:05.000Z']);
    expect(fired[0]!.at).toBe(Date.parse('2026-11-23T10:00:04.300Z'));
    expect(fired[1]!.instant - fired[1]!.at).toBe(200);
  });

  it('stops a removed definition and re-arms a changed one', () => {
    start(100).sync([periodical('a', '* * * * * *'), periodical('b', '* * * * * *')]);
    vi.advanceTimersByTime(1000);
    expect(fired.map((f) => f.name).sort()).toEqual(['a', 'b']);
    fired.length = 0;
    ticks.sync([periodical('a', '*/5 * * * * *')]);
    vi.advanceTimersByTime(10_000);
    expect(fired.every((f) => f.name === 'a' && new Date(f.instant).getUTCSeconds() % 5 === 0)).toBe(true);
    expect(fired.length).toBe(2);
    expect(ticks.nextFire('b')).toBeNull();
    expect(ticks.nextFire('a')!.getUTCSeconds() % 5).toBe(0);
  });
});
